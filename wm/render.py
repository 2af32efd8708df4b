"""Small helpers every generator uses: template set-up, ARNs, policies on stateful resources."""

from __future__ import annotations

import yaml
from troposphere import Ref, Sub, Tags, Template, cloudwatch

from wm.config import names as naming

METADATA_KEY = "WeeklyModels"


def new_template(description: str) -> Template:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    return t


def why(text: str, **extra) -> dict:
    """Resource Metadata saying why the resource exists (read by the docs, kept with the code)."""
    return {METADATA_KEY: {"Why": text}, **extra}


def checkov_skip(*pairs: tuple[str, str]) -> dict:
    """Metadata suppressing checkov findings, each with its reason."""
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in pairs]}}


def alarm_on_any(logical: str, *, name: str, description: str, namespace: str, metric: str, dimension: tuple,
                 topic, env: str, what: str) -> cloudwatch.Alarm:
    """An alarm that tells the alert topic whenever `metric` (one `dimension`: name, value) counts
    anything in five minutes, and is OK again when it does not; no data is not a breach."""
    return cloudwatch.Alarm(
        logical, AlarmName=name, AlarmDescription=description, Namespace=namespace, MetricName=metric,
        Dimensions=[cloudwatch.MetricDimension(Name=dimension[0], Value=dimension[1])],
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)], Tags=env_tags(env), Metadata=why(what))


def stateful(policy: str) -> dict:
    """Explicit DeletionPolicy and UpdateReplacePolicy for resources that hold data."""
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def arn(service: str, resource: str, *, region: bool = True) -> Sub:
    """An ARN in this stack's partition, region and account."""
    where = "${AWS::Region}" if region else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:${{AWS::AccountId}}:{resource}")


def env_tags(env: str) -> Tags:
    return Tags(Project=naming.PROJECT, Environment=env)


# Intrinsic functions written in YAML's short form (!Ref X, !GetAtt X.Y, !Sub '...').
_SHORT_FORMS = {"Ref": "!Ref", "Fn::GetAtt": "!GetAtt", "Fn::Sub": "!Sub", "Fn::Join": "!Join",
                "Fn::Select": "!Select", "Fn::GetAZs": "!GetAZs", "Fn::If": "!If", "Fn::Equals": "!Equals",
                "Fn::Not": "!Not", "Fn::Split": "!Split", "Fn::ImportValue": "!ImportValue"}


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml when present: 5x faster
    pass


def _represent_dict(dumper, data: dict):
    if len(data) == 1:
        (key, value), = data.items()
        tag = _SHORT_FORMS.get(key)
        if tag == "!GetAtt" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return dumper.represent_scalar(tag, ".".join(value))
        if tag and isinstance(value, list):
            return dumper.represent_sequence(tag, value)
        if tag and isinstance(value, dict):
            return dumper.represent_mapping(tag, value)
        if tag:
            text = str(value)
            return dumper.represent_scalar(tag, text, style="'" if text == "" else "|" if "\n" in text else None)
    return dumper.represent_mapping("tag:yaml.org,2002:map", sorted(data.items()))


def _represent_str(dumper, data: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


def to_yaml(template: Template) -> str:
    """Deterministic YAML: keys sorted, short-form intrinsic functions, a document start
    marker as Sceptre puts on every template it renders (so both give identical bytes)."""
    return yaml.dump(template.to_dict(), Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                     explicit_start=True, width=1000, allow_unicode=True)
