"""EventBridge rules deliver to SNS topics, through moto's own SNS backend.

moto's EventBridge delivers rule targets to log groups, SQS queues, archives, buses
and API destinations, with input transformers applied, but has no SNS target: an
event matching a rule that targets a topic makes PutEvents fail with a server error.
This hands SNS targets to moto's SNS backend (the one serving Publish), after moto's
own pattern matching and input transformation, so the topic's subscribers (an SQS
queue in the tests) receive exactly the message AWS would send: the transformed
input, or the whole event as JSON. Every other target goes to moto's code unchanged.
"""

from __future__ import annotations

import json

from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.sns.models import sns_backends
from moto.utilities.arns import parse_arn

_moto_send_to_targets = Rule.send_to_targets


def send_to_targets(self, original_event, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    topics = [t for t in self.targets if parse_arn(t["Arn"]).service == "sns"]
    for target in topics:
        transformer = target.get("InputTransformer", {})
        if transform_input and transformer:
            message = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                                input_paths_map=transformer.get("InputPathsMap", {}),
                                                event=original_event)
        else:
            message = original_event
        arn = parse_arn(target["Arn"])
        sns_backends[arn.account][arn.region].publish(
            message=message if isinstance(message, str) else json.dumps(message), arn=target["Arn"])
    others = [t for t in self.targets if t not in topics]
    if others:
        kept = self.targets
        try:
            self.targets = others
            _moto_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = kept


def install() -> None:
    Rule.send_to_targets = send_to_targets
