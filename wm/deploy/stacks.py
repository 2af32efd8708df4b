"""An environment's stacks as Sceptre reads them: the one source of stack order, inputs and AWS access.

Every deploy command goes through Sceptre's own objects: its reading of config/ (the
`!stack_output` dependencies and the launch order), its rendering of each template
(templates/<kind>.py), its resolution of parameters against the deployed stacks, and its
connection (region, profile, role). Nothing here parses a Sceptre file itself.
"""

from __future__ import annotations

from pathlib import Path

from wm import project

IN_PROGRESS_OK = "REVIEW_IN_PROGRESS"  # a stack made by a change set that never ran: nothing is deployed


def plan(root: Path, env: str):
    """Sceptre's plan of `env` (dev, prod or account), with the commit tags set."""
    from sceptre.context import SceptreContext
    from sceptre.plan.plan import SceptrePlan

    project.export_commit(root)
    return SceptrePlan(SceptreContext(command_path=env, project_path=str(root)))


def in_order(sceptre_plan) -> list:
    """Sceptre's stacks in its launch order (each after the stacks it takes outputs from)."""
    sceptre_plan.resolve("launch")
    return [stack for batch in sceptre_plan.launch_order for stack in sorted(batch, key=lambda s: s.name)]


def inputs(stack) -> dict[str, tuple[str, str]]:
    """Parameter -> (stack path, output) of each `!stack_output` parameter, as Sceptre read it."""
    raw = stack.__dict__.get("_parameters") or {}
    out = {}
    for name, value in raw.items():
        if type(value).__name__ == "StackOutput":
            source, output = value.argument.split("::", 1)
            out[name] = (source.removesuffix(".yaml"), output)
    return out


def actions(stack):
    from sceptre.plan.actions import StackActions

    return StackActions(stack)


def call(stack, service: str, command: str, **kwargs):
    """One AWS call through Sceptre's connection of `stack`."""
    return actions(stack).connection_manager.call(service=service, command=command, kwargs=kwargs)


def status(stack, name: str | None = None) -> str | None:
    """The CloudFormation status of `stack` (or of the stack named `name`), None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(stack, "cloudformation", "describe_stacks",
                    StackName=name or stack.external_name)["Stacks"][0]["StackStatus"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise


def deployed(stack, name: str | None = None) -> bool:
    return status(stack, name) not in (None, IN_PROGRESS_OK)


def parameters(stack) -> dict[str, str]:
    """The stack's parameters as Sceptre resolves them (outputs read from the deployed stacks)."""
    out = {}
    for key, value in (stack.parameters or {}).items():
        out[key] = ",".join(value) if isinstance(value, list) else str(value)
    return out


def change_set_arguments(stack, name: str) -> dict:
    """create_change_set's arguments, built from Sceptre's view of the stack exactly as `sceptre launch`
    sends them to create_stack/update_stack (same template, parameters, tags, role)."""
    kwargs = {
        "StackName": stack.external_name, "ChangeSetName": name,
        "ChangeSetType": "UPDATE" if deployed(stack) else "CREATE",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters(stack).items())],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        "Tags": [{"Key": str(k), "Value": str(v)} for k, v in stack.tags.items()],
        "TemplateBody": stack.template.body,
    }
    if stack.cloudformation_service_role:
        kwargs["RoleARN"] = stack.cloudformation_service_role
    return kwargs
