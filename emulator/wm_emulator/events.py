"""EventBridge: rules deliver to SNS topics and to state machines, and patterns match inside arrays of objects.

SNS:
moto's EventBridge delivers rule targets to log groups, SQS queues, archives, buses
and API destinations, with input transformers applied, but has no SNS target: an
event matching a rule that targets a topic makes PutEvents fail with a server error.
This hands SNS targets to moto's SNS backend (the one serving Publish), after moto's
own pattern matching and input transformation, so the topic's subscribers (an SQS
queue in the tests) receive exactly the message AWS would send: the transformed
input, or the whole event as JSON. A state machine target (moto has none either) starts
an execution, with that input, in the backend that runs state machines (stepfunctions.py);
the target's role is not evaluated, as the emulator evaluates no IAM. Every other target
goes to moto's code unchanged.

Arrays: EventBridge matches a pattern field against every element of an array in the
event, objects included (`"containers": {"exitCode": [...]}` looks at each container's
exitCode). moto's matcher flattens only nested objects, so such a pattern never
matched. The flattening here also gathers the values under an array of objects into a
list per path, which moto's matcher already treats as "any element".
"""

from __future__ import annotations

import json
import uuid

from moto.events.models import EventPattern, Rule
from moto.events.utils import EventTemplateParser
from moto.sns.models import sns_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.utilities.arns import parse_arn

_moto_send_to_targets = Rule.send_to_targets


def _input(target: dict, event: dict, transform_input: bool):
    transformer = target.get("InputTransformer", {})
    if transform_input and transformer:
        return EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                         input_paths_map=transformer.get("InputPathsMap", {}), event=event)
    return event


def send_to_targets(self, original_event, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("sns", "states")]
    for target in ours:
        message = _input(target, original_event, transform_input)
        text = message if isinstance(message, str) else json.dumps(message)
        arn = parse_arn(target["Arn"])
        if arn.service == "sns":
            sns_backends[arn.account][arn.region].publish(message=text, arn=target["Arn"])
        else:
            stepfunctions_parser_backends[arn.account][arn.region].start_execution(
                target["Arn"], name=str(uuid.uuid4()), execution_input=text)
    others = [t for t in self.targets if t not in ours]
    if others:
        kept = self.targets
        try:
            self.targets = others
            _moto_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = kept


def _flatten(node, prefix: str = "", result=None):
    result = {} if result is None else result
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            _flatten(value, path, result)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for element in value:
                for sub, leaf in _flatten(element).items():
                    merged = result.setdefault(f"{path}.{sub}", [])
                    merged.extend(leaf if isinstance(leaf, list) else [leaf])
        else:
            result[path] = value
    return result


def install() -> None:
    Rule.send_to_targets = send_to_targets
    EventPattern._flatten_dict = staticmethod(lambda node, prefix="", result=None: _flatten(node, prefix, result))
