"""Small helpers every generator uses: template set-up, ARNs, policies on stateful resources."""

from __future__ import annotations

import io

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
_STR, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq"


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml when present: 5x faster
    pass


def _represent_dict(dumper, data: dict):
    short = _short_form(data)
    if short is None:
        return dumper.represent_mapping("tag:yaml.org,2002:map", sorted(data.items()))
    tag, value = short
    if isinstance(value, tuple):
        return dumper.represent_scalar(*value)
    if isinstance(value, list):
        return dumper.represent_sequence(tag, value)
    return dumper.represent_mapping(tag, value)


def _represent_str(dumper, data: str):
    return dumper.represent_scalar(*_scalar_of(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


_OPTIONS = {"default_flow_style": False, "sort_keys": True, "explicit_start": True, "width": 1000,
            "allow_unicode": True}


def to_yaml(template: Template) -> str:
    """Deterministic YAML: keys sorted, short-form intrinsic functions, a document start
    marker as Sceptre puts on every template it renders (so both give identical bytes)."""
    return yaml_text(template.to_dict())


def yaml_text(data) -> str:
    """`data` as yaml.dump with _Dumper and _OPTIONS writes it, byte for byte (tests/test_render_yaml.py).

    PyYAML spends most of its time building a node per value. A template's shape needs only a
    few rules of block layout, written out here; how each distinct scalar is written (plain,
    quoted, literal block) is still libyaml's decision, asked once for all of them at once.
    Anything outside those rules (a float, None, a value met twice, a key too long for a simple
    key, a line that might reach the width) goes to yaml.dump itself."""
    scalars: dict = {}
    try:
        if type(data) is not dict or not data or _short_form(data) is not None:
            raise _Other("not a template's mapping")
        _collect(data, scalars, set())
        _learn(scalars)
        out = ["---\n"]
        _mapping(data, 0, out, inline=False)
    except _Other:
        return yaml.dump(data, Dumper=_Dumper, **_OPTIONS)
    return "".join(out)


class _Other(Exception):
    """A value the block writer below leaves to yaml.dump."""


_WIDTH = 1000  # libyaml breaks a plain or quoted scalar at a space past this column; a literal block never
_BREAKS = "\n\r\x85\u2028\u2029"  # YAML's line breaks: a key holding one is written as a complex key
_KEY = 100  # a longer key goes to yaml.dump (libyaml writes a key over 128 characters as a complex key)


def _short_form(data: dict):
    """(tag, collection) or (tag, (tag, text, style)) when `data` is an intrinsic function
    written in short form (!Ref X, !GetAtt X.Y, !Sub '...'), else None: the one rule both the
    representer above and the block writer below follow."""
    if len(data) != 1:
        return None
    (key, value), = data.items()
    tag = _SHORT_FORMS.get(key)
    if tag is None:
        return None
    if tag == "!GetAtt" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tag, (tag, ".".join(value), None)
    if isinstance(value, (list, dict)):
        return tag, value
    text = str(value)
    return tag, (tag, text, "'" if text == "" else "|" if "\n" in text else None)


def _scalar_of(text: str) -> tuple:
    """A string as both paths write it: (tag, text, style), a literal block if it has a line break."""
    return _STR, text, "|" if "\n" in text else None


def _collect(data, scalars: dict, seen: set) -> None:
    """Every scalar (tag, text, style) under `data`; refuses what the block writer does not write."""
    kind = type(data)
    if kind is str:
        scalars[_scalar_of(data)] = None
        return
    if kind is bool or kind is int:
        return
    if kind is not dict and kind is not list:
        raise _Other(kind)
    if id(data) in seen:  # yaml.dump would write an anchor and an alias
        raise _Other("alias")
    seen.add(id(data))
    if kind is list:
        for item in data:
            _collect(item, scalars, seen)
        return
    short = _short_form(data)
    if short is not None:
        value = short[1]
        if type(value) is tuple:
            scalars[value] = None
        elif not value:
            raise _Other("an empty tagged collection")
        else:
            _collect(value, scalars, seen)
        return
    for key, value in data.items():
        if type(key) is not str or len(key) > _KEY or any(c in key for c in _BREAKS):
            raise _Other("key")
        scalars[_scalar_of(key)] = None
        _collect(value, scalars, seen)


_TEXTS: dict = {}  # (tag, text, style) -> how libyaml writes it: the same strings recur in every template


def _learn(scalars: dict) -> None:
    """Ask libyaml, in one batch, how it writes each scalar not yet in _TEXTS."""
    todo = [key for key in scalars if key not in _TEXTS]
    if todo:
        _TEXTS.update(_libyaml_texts(todo))


def _libyaml_texts(scalars: list) -> dict:
    """How libyaml writes each scalar as an item of a block sequence at column 0: one line, or a
    literal block's header and its lines (indented by 2 there)."""
    stream = io.StringIO()
    dumper = _Dumper(stream, **{**_OPTIONS, "explicit_start": False})
    dumper.open()
    dumper.serialize(yaml.SequenceNode(_SEQ, [yaml.ScalarNode(tag, text, style=style)
                                              for tag, text, style in scalars], flow_style=False))
    dumper.close()
    items = stream.getvalue().split("\n- ")
    items[0] = items[0].removeprefix("- ")
    items[-1] = items[-1].removesuffix("\n")
    if len(items) != len(scalars):
        raise _Other("unexpected sequence")
    texts = {}
    for key, item in zip(scalars, items, strict=True):
        head, *lines = item.split("\n")
        block = head.rsplit(" ", 1)[-1]  # a literal block's header: |, |- or |2- (after a tag)
        if lines and not block.startswith("|"):
            raise _Other("a scalar written on several lines")
        if block.startswith("|") and block.endswith("+"):  # kept final breaks: may end the document
            raise _Other("a literal block keeping its final line breaks")
        if any(line and not line.startswith("  ") for line in lines):
            raise _Other("unexpected block")
        texts[key] = (head, [line[2:] if line else None for line in lines])
    return texts


def _scalar(scalar: tuple, indent: int, out: list) -> None:
    """One scalar (tag, text, style) after its key or dash; a literal block's lines at `indent`."""
    head, lines = _TEXTS[scalar]
    if not lines and indent + _KEY + len(head) + 4 > _WIDTH:  # it might be broken here: yaml.dump decides
        raise _Other("a line near the width")
    out.append(head)
    pad = " " * indent
    for line in lines:
        out.append("\n" if line is None else f"\n{pad}{line}")
    out.append("\n")


def _value(data, indent: int, out: list, *, in_sequence: bool) -> None:
    """A value after "key:" (in_sequence False) or "-" (True), the key or dash at column `indent`."""
    kind = type(data)
    if kind is str:
        out.append(" ")
        _scalar(_scalar_of(data), indent + 2, out)
        return
    if kind is bool:
        out.append(" true\n" if data else " false\n")
        return
    if kind is int:
        out.append(f" {data}\n")
        return
    if not data:
        out.append(" {}\n" if kind is dict else " []\n")
        return
    if kind is dict:
        short = _short_form(data)
        if short is not None:
            tag, value = short
            if type(value) is tuple:  # libyaml's text of it starts with the tag
                out.append(" ")
                _scalar(value, indent + 2, out)
                return
            out.append(f" {tag}\n")
            if type(value) is dict:
                _mapping(value, indent + 2, out, inline=False)
            else:
                _sequence(value, indent + 2 if in_sequence else indent, out, inline=False)
            return
        out.append(" " if in_sequence else "\n")  # after a dash, the first key goes on its line
        _mapping(data, indent + 2, out, inline=in_sequence)
        return
    out.append(" " if in_sequence else "\n")  # a mapping's sequences are not indented; a sequence's are
    _sequence(data, indent + 2 if in_sequence else indent, out, inline=in_sequence)


def _mapping(data: dict, indent: int, out: list, *, inline: bool) -> None:
    pad = " " * indent
    for n, key in enumerate(sorted(data)):
        if n or not inline:
            out.append(pad)
        head, lines = _TEXTS[_scalar_of(key)]
        if lines:
            raise _Other("a key on several lines")
        out.append(head + ":")
        _value(data[key], indent, out, in_sequence=False)


def _sequence(data: list, indent: int, out: list, *, inline: bool) -> None:
    pad = " " * indent
    for n, item in enumerate(data):
        if n or not inline:
            out.append(pad)
        out.append("-")
        _value(item, indent, out, in_sequence=True)
