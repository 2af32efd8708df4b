"""AWS::StepFunctions::StateMachine on the Step Functions backend that runs state machines.

moto can execute Amazon States Language (an interpreter ported from LocalStack) when
its `stepfunctions.execute_state_machine` setting is on, but its CloudFormation model
writes state machines into the other backend, the one that only records executions,
so a deployed machine could not be started. With the interpreter on (install() turns it
on), this creates, updates and deletes state machines in the interpreter's backend:
StartExecution then runs the definition, its Wait states wait, its sns:publish and
aws-sdk tasks call the emulator itself (MOTO_PORT, set by emulator/server.py).

An aws-sdk task's answer reaches the state machine as JSON, timestamps as ISO 8601 strings, as
in Step Functions; moto handed the interpreter boto3's Python datetimes, which it then could
not serialise (a task reading CloudWatch datapoints failed).

StartExecution without a name gets a unique one, as in Step Functions (moto named every such
execution "None", so a second one was refused as already existing).

The interpreter evaluates JSONPath definitions; it does not evaluate JSONata (moto
leaves it unimplemented), so the alerts stack's machines are written in JSONPath.
"""

from __future__ import annotations

import json
import uuid

from moto.core.common_models import CloudFormationModel
from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends

from .base import Extension


def _backend(account_id: str, region_name: str):
    return stepfunctions_parser_backends[account_id][region_name]


def _definition(props: dict) -> str:
    body = props.get("DefinitionString")
    if body is None:
        body = json.dumps(props["Definition"])
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        body = body.replace("${" + key + "}", str(value))
    return body


class StepFunctionsStateMachine(Extension, CloudFormationModel):
    """AWS::StepFunctions::StateMachine in the backend that executes it."""

    TYPE = "AWS::StepFunctions::StateMachine"
    NAME_PROPERTY = "StateMachineName"
    PROPERTIES = frozenset({"StateMachineName", "StateMachineType", "DefinitionString", "Definition",
                            "DefinitionSubstitutions", "RoleArn", "Tags"})
    REF = "machine.arn"
    ATTRIBUTES = {"Arn": "machine.arn", "Name": "machine.name"}

    def __init__(self, machine):
        self.machine = machine

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cls.properties(cloudformation_json)
        tags = [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags") or []]
        return cls(_backend(account_id, region_name).create_state_machine(
            name=cls.given_name(props, resource_name), definition=_definition(props), roleArn=props["RoleArn"],
            tags=tags, sm_type=props.get("StateMachineType") or "STANDARD"))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        props = cls.properties(cloudformation_json)
        machine = original_resource.machine
        if cls.kept_name(props, machine.name) != machine.name or \
                (props.get("StateMachineType") or "STANDARD") != (machine.type or "STANDARD"):
            original_resource.delete(account_id, region_name)  # a new name or type replaces the machine
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                       region_name)
        backend = _backend(account_id, region_name)
        backend.update_state_machine(machine.arn, definition=_definition(props), role_arn=props["RoleArn"])
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        old = {t["key"] for t in backend.get_tags_list_for_state_machine(machine.arn)}
        if old - set(tags):
            backend.untag_resource(machine.arn, sorted(old - set(tags)))
        if tags:
            backend.tag_resource(machine.arn, tags)
        return cls(backend.describe_state_machine(machine.arn))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        _backend(account_id, region_name).delete_state_machine(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_state_machine(self.machine.arn)


_moto_start_execution = StepFunctionsParserBackend.start_execution


def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    return _moto_start_execution(self, state_machine_arn, name=name or str(uuid.uuid4()),
                                 execution_input=execution_input, trace_header=trace_header)


_moto_eval_service_task = StateTaskServiceAwsSdk._eval_service_task


def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    _moto_eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials)
    answer = env.stack.pop()
    env.stack.append(json.loads(json.dumps(answer, default=lambda v: v.isoformat() if hasattr(v, "isoformat")
                                           else str(v))))


def install() -> None:
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    StepFunctionsParserBackend.start_execution = start_execution
    StateTaskServiceAwsSdk._eval_service_task = _eval_service_task
