"""E9104: alerts sent to a Slack channel must be AWS Chatbot custom notifications.

AWS Chatbot (Amazon Q Developer in chat applications) posts to Slack only the AWS events it knows
and custom notifications shaped
    {"version": "1.0", "source": "custom", "content": {"description": "..."}}
with optional content.title, content.textType ("client-markdown"), content.nextSteps[],
content.keywords[] and metadata{...}. Anything else that reaches the topic is dropped without an
error. Chatbot administrator guide, "Custom notifications":
https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html

EventBridge input transformers do not escape what they insert: "EventBridge doesn't escape values
extracted by Input Path, when populating the Input Template" (EventBridge user guide,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html). A
placeholder inside a JSON string literal ("reason": "<reason>") breaks the message as soon as the
value holds a quote, a backslash or a newline (an ECS stoppedReason can). A bare placeholder used
as a JSON value ("description": <reason>) is inserted as a JSON value and is safe. The local
emulator (moto) neither posts to Slack nor checks any of this.

The rule checks:
(a) every target of an AWS::Events::Rule whose Arn is an SNS topic. In this project every SNS
    topic is an alert topic delivered to Slack through Chatbot, so the topic is found by naming
    convention: a Ref or Fn::GetAtt of an AWS::SNS::Topic of the same template, a Ref to a
    template Parameter whose name ends in "TopicArn" (e.g. AlertTopicArn, the alerts stack's
    topic passed to the model stacks), or a literal/Fn::Sub ARN arn:...:sns:....
    - With an InputTransformer, its InputTemplate (a string or Fn::Sub) must be valid JSON once
      each <placeholder> is replaced by a JSON-safe sample value, must have the custom
      notification shape, and must not put any <placeholder> inside a JSON string literal.
      Placeholders are the InputPathsMap keys and EventBridge's reserved <aws.events.*> names.
    - A constant Input must be a custom notification; an InputPath sends part of an event,
      which Chatbot does not format.
    - Without either, the raw event is sent: fine only when the rule's EventPattern source is a
      list of aws.* sources (Chatbot formats the native AWS events it knows).
(b) every AWS::StepFunctions::StateMachine whose definition (Definition object, or
    DefinitionString as a string, Fn::Sub or Fn::Join) has a Task with Resource
    arn:aws:states:::sns:publish (any partition, .waitForTaskToken too): its Parameters must set
    "Message.$" to an expression starting with "States.JsonToString(" (which escapes), or set
    "Message" to a JSON object with the custom notification shape (".$" keys allowed). A plain
    string Message is an error unless it is itself the JSON text of a custom notification. For
    JSONata states, Arguments.Message must be such an object, or a {% ... %} expression using
    $string(...).
"""

from __future__ import annotations

import json
import re

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from wm.lint import cfn_support as S

EB_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
SAMPLE = "__wm_placeholder__:"
SNS_ARN = re.compile(r"^arn:[^:]+:sns:")
SNS_PUBLISH = re.compile(r"^arn:[^:]+:states:::sns:publish(\.waitForTaskToken)?$")
SHAPE = '{"version": "1.0", "source": "custom", "content": {"description": ...}}'


def _is_sample(value) -> bool:
    return isinstance(value, str) and value.startswith(SAMPLE)


def _topic(cfn, arn) -> str | None:
    """How the target's Arn names an SNS topic, or None when it does not."""
    fn = S.intrinsic(arn)
    name = S.ref_target(arn)
    if fn and name:
        if S.resource_type(cfn, name) == "AWS::SNS::Topic":
            return f"SNS topic {name}"
        if fn[0] == "Ref" and S.is_parameter(cfn, name) and name.endswith("TopicArn"):
            return f"the topic of parameter {name}"
        return None
    text = S.substituted(arn)
    if text is not None and SNS_ARN.match(text):
        return f"SNS topic {S.substituted(arn, keep=True)}"
    return None


def _aws_sources_only(pattern) -> bool:
    doc = S.document(pattern)
    if not isinstance(doc, dict):
        return False
    sources = doc.get("source")
    return (isinstance(sources, list) and bool(sources)
            and all(isinstance(s, str) and s.startswith("aws.") for s in sources))


def input_template_problems(template, paths_map) -> list[str]:
    """What is wrong with an InputTemplate sent to a Chatbot topic (empty when nothing is)."""
    text = S.substituted(template, json_aware=True)
    if text is None:
        return []  # not a string we can read (e.g. a Ref): say nothing rather than guess
    if isinstance(paths_map, dict):
        names = set(paths_map)
    elif paths_map is None:
        names = set()
    else:
        names = None  # unreadable InputPathsMap: any <name> may be a placeholder

    def placeholder(name: str) -> bool:
        return names is None or name in names or name.startswith("aws.events.")

    quoted: list[str] = []
    pieces = []
    for piece, match, inside in S.scan_json(text, EB_PLACEHOLDER):
        if match is None or not placeholder(match.group(1)):
            pieces.append(piece)
        elif inside:
            if match.group(0) not in quoted:
                quoted.append(match.group(0))
            pieces.append(match.group(1))
        else:
            pieces.append(json.dumps(SAMPLE + match.group(1)))

    problems = []
    if quoted:
        problems.append(
            f"InputTemplate puts {', '.join(quoted)} inside JSON strings; EventBridge does not "
            "escape the values it inserts, so a quote, backslash or newline in one breaks the JSON "
            "and Chatbot drops the alert. Use each placeholder as a bare JSON value "
            "(\"description\": <reason>), or word the message in a Step Functions state with "
            "States.Format and publish it with States.JsonToString."
        )
    try:
        doc = json.loads("".join(pieces))
    except ValueError as err:
        problems.append(
            f"InputTemplate is not valid JSON once each placeholder is replaced by a sample value "
            f"({err}); AWS Chatbot posts only JSON custom notifications shaped {SHAPE}."
        )
        return problems
    shape = S.custom_notification_problems(doc, _is_sample)
    if shape:
        problems.append(
            f"InputTemplate is not an AWS Chatbot custom notification ({'; '.join(shape)}); Chatbot "
            f"posts only AWS events it knows and custom notifications shaped {SHAPE} (optional "
            "content.title, content.textType \"client-markdown\", content.nextSteps[], content.keywords[], "
            "metadata{...}), and drops the rest."
        )
    return problems


def _sfn_dynamic(value) -> bool:
    """A value Step Functions or CloudFormation fills in: an intrinsic function or a JSONata {% %}."""
    if isinstance(value, dict) and S.intrinsic(value) is not None:
        return True
    return isinstance(value, str) and value.strip().startswith("{%")


def _walk_states(states, path):
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = path + [name]
        yield name, state, here
        branches = state.get("Branches")
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                if isinstance(branch, dict):
                    yield from _walk_states(branch.get("States"), here + ["Branches", i, "States"])
        for key in ("Iterator", "ItemProcessor"):
            inner = state.get(key)
            if isinstance(inner, dict):
                yield from _walk_states(inner.get("States"), here + [key, "States"])


def message_problem(state: dict, jsonata: bool) -> tuple[list, str] | None:
    """(path below the state, problem) for an sns:publish Task whose Message Chatbot would drop."""
    field = "Arguments" if jsonata else "Parameters"
    params = state.get(field)
    if not isinstance(params, dict):
        return [], (f"publishes to SNS without {field}.Message; give it a Chatbot custom notification "
                    f"shaped {SHAPE}")
    if not jsonata and "Message.$" in params:
        expression = params["Message.$"]
        if isinstance(expression, str) and expression.strip().startswith("States.JsonToString("):
            return None
        shown = json.dumps(expression)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return [field, "Message.$"], (
            f"sets \"Message.$\": {shown}; only \"States.JsonToString(...)\" of an object "
            f"shaped {SHAPE} escapes the values it inserts and gives Chatbot a custom notification "
            "(States.Format into a JSON text does not escape)")
    if "Message" not in params:
        return [field], (f"publishes to SNS without a Message; give {field}.Message as a Chatbot custom "
                         f"notification shaped {SHAPE}")
    message = params["Message"]
    where = [field, "Message"]
    if isinstance(message, dict) and S.intrinsic(message) is None:
        shape = S.custom_notification_problems(message, _sfn_dynamic, path_keys=not jsonata)
        if shape:
            return where, (f"sets a Message that is not a Chatbot custom notification ({'; '.join(shape)}); "
                           f"Chatbot posts only custom notifications shaped {SHAPE}")
        return None
    if isinstance(message, str):
        text = message.strip()
        if jsonata and text.startswith("{%") and "$string(" in text:
            return None
        parsed = S.loads_lenient(text)
        if isinstance(parsed, dict) and not S.custom_notification_problems(parsed, lambda v: False):
            return None
        return where, (
            "sets Message to a plain string; Chatbot drops it. Give Message as an object shaped "
            f"{SHAPE} (\".$\" keys for values from the input), or \"Message.$\": "
            "\"States.JsonToString($.notification)\" of such an object")
    return where, (f"sets a Message Chatbot cannot read; give an object shaped {SHAPE}, or "
                   "\"Message.$\": \"States.JsonToString(...)\"")


class ChatbotCustomNotifications(CloudFormationLintRule):
    """Alerts to a Slack channel must be Chatbot custom notifications."""

    id = "E9104"
    shortdesc = "Alerts to a Slack channel must be Chatbot custom notifications"
    description = (
        "EventBridge targets on an SNS alert topic and Step Functions sns:publish tasks must send "
        "AWS Chatbot custom notifications ({\"version\": \"1.0\", \"source\": \"custom\", \"content\": "
        "{\"description\": ...}}) without input-transformer placeholders inside JSON strings "
        "(EventBridge does not escape them), or raw events of aws.* sources only."
    )
    source_url = "https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html"
    tags = ["resources", "events", "sns", "stepfunctions", "chatbot", "weekly-models"]

    def match(self, cfn):
        return self._event_rules(cfn) + self._state_machines(cfn)

    def _event_rules(self, cfn):
        matches = []
        for name, resource in cfn.get_resources(["AWS::Events::Rule"]).items():
            properties = resource.get("Properties")
            if not isinstance(properties, dict) or not isinstance(properties.get("Targets"), list):
                continue
            for i, target in enumerate(properties["Targets"]):
                if not isinstance(target, dict):
                    continue
                topic = _topic(cfn, target.get("Arn"))
                if topic is None:
                    continue
                path = ["Resources", name, "Properties", "Targets", i]
                label = f"Target {target.get('Id')!r} of {name} (to {topic})"
                for where, problem in self._target_problems(target, properties):
                    matches.append(RuleMatch(path + where, f"{label}: {problem}"))
        return matches

    @staticmethod
    def _target_problems(target, properties):
        transformer = target.get("InputTransformer")
        if isinstance(transformer, dict):
            if "InputTemplate" not in transformer:
                return [(["InputTransformer"], f"has an InputTransformer without InputTemplate; give one "
                                                f"shaped {SHAPE}")]
            return [(["InputTransformer", "InputTemplate"], p)
                    for p in input_template_problems(transformer["InputTemplate"],
                                                     transformer.get("InputPathsMap"))]
        if "Input" in target:
            doc = S.document(target["Input"])
            if doc is None:
                return []
            shape = S.custom_notification_problems(doc, lambda v: False)
            if shape:
                return [(["Input"], f"Input is not an AWS Chatbot custom notification ({'; '.join(shape)}); "
                                    f"Chatbot posts only custom notifications shaped {SHAPE}")]
            return []
        if "InputPath" in target:
            return [(["InputPath"], "InputPath sends a part of the event, which AWS Chatbot does not "
                                    "format and drops; use an InputTransformer whose InputTemplate is a "
                                    f"custom notification shaped {SHAPE}")]
        if _aws_sources_only(properties.get("EventPattern")):
            return []
        return [([], "sends the raw event, and this rule's EventPattern does not limit \"source\" to a "
                     "list of aws.* sources, so Chatbot may not know the event and drops it. Match only "
                     "aws.* sources, or add an InputTransformer whose InputTemplate is a custom "
                     f"notification shaped {SHAPE}")]

    def _state_machines(self, cfn):
        matches = []
        for name, resource in cfn.get_resources(["AWS::StepFunctions::StateMachine"]).items():
            properties = resource.get("Properties")
            if not isinstance(properties, dict):
                continue
            base = ["Resources", name, "Properties"]
            if isinstance(properties.get("Definition"), dict) and S.intrinsic(properties["Definition"]) is None:
                definition, structured, base = properties["Definition"], True, base + ["Definition"]
            elif "DefinitionString" in properties:
                definition, structured, base = S.document(properties["DefinitionString"]), False, base + ["DefinitionString"]
            else:
                continue
            if not isinstance(definition, dict):
                continue
            top_jsonata = definition.get("QueryLanguage") == "JSONata"
            for state_name, state, state_path in _walk_states(definition.get("States"), ["States"]):
                if state.get("Type") != "Task":
                    continue
                resource_arn = S.substituted(state.get("Resource"))
                if resource_arn is None or not SNS_PUBLISH.match(resource_arn.strip()):
                    continue
                language = state.get("QueryLanguage")
                jsonata = language == "JSONata" or (language is None and top_jsonata)
                found = message_problem(state, jsonata)
                if found is None:
                    continue
                where, problem = found
                path = base + state_path + where if structured else base
                matches.append(RuleMatch(path, f"State {state_name!r} of state machine {name} {problem}."))
        return matches
