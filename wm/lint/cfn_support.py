"""Helpers shared by the project's cfn-lint rules (wm/lint/cfn_rules/).

cfn-lint's `--append-rules DIR` imports every rule file on its own, outside any package; the
rules import this module from the installed `wm` package, as they run in the tools' environment.

Everything here is lenient: a value the helpers cannot read (an intrinsic function they do not
resolve, a document that is not JSON) comes back as None or is skipped, so a rule stays silent
rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")

# ----------------------------------------------------------------------------------------------
# Intrinsic functions


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """('Fn::Sub', arg) for a one-key intrinsic function dict, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" or key.startswith("Fn::") or key == "Condition":
            return key, arg
    return None


def sub_source(value: Any) -> tuple[str, dict] | None:
    """(template string, variable map) of a plain string or an Fn::Sub, else None."""
    if isinstance(value, str):
        return value, {}
    fn = intrinsic(value)
    if fn and fn[0] == "Fn::Sub":
        arg = fn[1]
        if isinstance(arg, str):
            return arg, {}
        if isinstance(arg, list) and arg and isinstance(arg[0], str):
            variables = arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {}
            return arg[0], variables
    return None


def placeholder_name(name: str) -> str:
    """A JSON-string-safe stand-in for the ${name} of an Fn::Sub."""
    return "sub-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def substituted(value: Any, *, json_aware: bool = False, keep: bool = False) -> str | None:
    """The text of a string or Fn::Sub with each ${X} replaced by placeholder text.

    Literal variables of the Fn::Sub map are substituted; ${!X} becomes the literal ${X}.
    With keep, other ${X} stay as written (for messages). With json_aware, a ${X} outside a
    JSON string literal becomes a quoted placeholder so the text still parses as JSON.
    """
    source = sub_source(value)
    if source is None:
        return None
    text, variables = source
    if not json_aware:
        return _replace_sub_variables(
            text, variables, lambda name, inside: "${" + name + "}" if keep else placeholder_name(name))

    def stand_in(name: str, inside: bool) -> str:
        return placeholder_name(name) if inside else json.dumps(placeholder_name(name))

    out = []
    for piece, match, inside in scan_json(text, SUB_VARIABLE):
        if match is None:
            out.append(piece)
            continue
        bang, name = match.group(1), match.group(2)
        if bang:
            out.append("${" + name + "}")
        elif isinstance(variables.get(name), str):
            literal = variables[name]
            out.append(json.dumps(literal)[1:-1] if inside else json.dumps(literal))
        else:
            out.append(stand_in(name, inside))
    return "".join(out)


def _replace_sub_variables(text: str, variables: dict, stand_in: Callable[[str, bool], str]) -> str:
    def repl(m: re.Match) -> str:
        bang, name = m.group(1), m.group(2)
        if bang:
            return "${" + name + "}"
        if isinstance(variables.get(name), str):
            return variables[name]
        return stand_in(name, True)

    return SUB_VARIABLE.sub(repl, text)


def scan_json(text: str, pattern: re.Pattern) -> Iterator[tuple[str, re.Match | None, bool]]:
    """Split `text` into plain pieces and matches of `pattern`, telling for each match whether it
    sits inside a JSON string literal. Yields (text, match or None, inside_string)."""
    pos = 0
    start = 0
    inside = False
    n = len(text)
    while pos < n:
        m = pattern.match(text, pos)
        if m and m.end() > pos:
            if start < pos:
                yield text[start:pos], None, inside
            yield m.group(0), m, inside
            pos = start = m.end()
            continue
        ch = text[pos]
        if inside and ch == "\\":
            pos += 2
            continue
        if ch == '"':
            inside = not inside
        pos += 1
    if start < n:
        yield text[start:], None, inside


def loads_lenient(text: str | None) -> Any:
    """json.loads, or None when the text is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def joined(value: Any) -> str | None:
    """The text of an Fn::Join of strings; other parts become placeholder text."""
    fn = intrinsic(value)
    if not fn or fn[0] != "Fn::Join":
        return None
    arg = fn[1]
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list)):
        return None
    parts = []
    for part in arg[1]:
        text = substituted(part)
        parts.append(text if text is not None else "sub-unresolved")
    return arg[0].join(parts)


def document(value: Any) -> Any:
    """A policy or definition document given as an object, or as JSON text: a string, an Fn::Sub
    of one, or an Fn::Join. None when it cannot be read."""
    if isinstance(value, dict) and intrinsic(value) is None:
        return value
    text = joined(value)
    if text is not None:
        return loads_lenient(text)
    return loads_lenient(substituted(value, json_aware=True))


def alternatives(value: Any) -> list[Any]:
    """The possible values of a property: both branches of each Fn::If, no AWS::NoValue."""
    fn = intrinsic(value)
    if fn and fn[0] == "Fn::If" and isinstance(fn[1], list) and len(fn[1]) == 3:
        return alternatives(fn[1][1]) + alternatives(fn[1][2])
    if fn and fn[0] == "Ref" and fn[1] == "AWS::NoValue":
        return []
    return [value]


def as_list(value: Any) -> list[Any]:
    """A property that may be one value or a list of them, with Fn::If branches flattened."""
    out: list[Any] = []
    for alt in alternatives(value):
        if isinstance(alt, list):
            for item in alt:
                out.extend(alternatives(item))
        else:
            out.append(alt)
    return out


def ref_target(value: Any) -> str | None:
    """The logical id named by a Ref or Fn::GetAtt (either form), else None."""
    fn = intrinsic(value)
    if not fn:
        return None
    key, arg = fn
    if key == "Ref" and isinstance(arg, str):
        return arg
    if key == "Fn::GetAtt":
        if isinstance(arg, list) and arg and isinstance(arg[0], str):
            return arg[0]
        if isinstance(arg, str):
            return arg.split(".", 1)[0]
    return None


def getatt(value: Any) -> tuple[str, str] | None:
    """(logical id, attribute) of an Fn::GetAtt in either form."""
    fn = intrinsic(value)
    if not fn or fn[0] != "Fn::GetAtt":
        return None
    arg = fn[1]
    if isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
        return arg[0], arg[1]
    if isinstance(arg, str) and "." in arg:
        name, attribute = arg.split(".", 1)
        return name, attribute
    return None


def resource_type(cfn: Any, name: str) -> str | None:
    resources = cfn.template.get("Resources", {})
    if isinstance(resources, dict) and isinstance(resources.get(name), dict):
        found = resources[name].get("Type")
        return found if isinstance(found, str) else None
    return None


def is_parameter(cfn: Any, name: str) -> bool:
    parameters = cfn.template.get("Parameters", {})
    return isinstance(parameters, dict) and name in parameters


# ----------------------------------------------------------------------------------------------
# IAM policy documents


def statements(doc: Any) -> list[tuple[int | None, dict]]:
    """(index in Statement, statement) of a policy document; index None when Statement is one object."""
    if not isinstance(doc, dict):
        return []
    found = doc.get("Statement")
    if isinstance(found, dict):
        return [(None, s) for s in alternatives(found) if isinstance(s, dict)]
    if isinstance(found, list):
        out = []
        for i, item in enumerate(found):
            out.extend((i, s) for s in alternatives(item) if isinstance(s, dict))
        return out
    return []


def strings(value: Any) -> list[str]:
    """The literal strings of a string-or-list property (Fn::If branches flattened)."""
    return [v for v in as_list(value) if isinstance(v, str)]


def allows(statement: dict) -> bool:
    effect = statement.get("Effect")
    return isinstance(effect, str) and effect.lower() == "allow"


def action_matches(pattern: str, action: str) -> bool:
    """Does an IAM action pattern (wildcards allowed) cover `action`? Case-insensitive, as IAM."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def statement_label(statement: dict, index: int | None) -> str:
    sid = statement.get("Sid")
    if isinstance(sid, str) and sid:
        return f"Statement {sid!r}"
    return "The statement" if index is None else f"Statement[{index}]"


# ----------------------------------------------------------------------------------------------
# AWS Chatbot custom notifications
# https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html

def custom_notification_problems(doc: Any, is_dynamic: Callable[[Any], bool],
                                 path_keys: bool = False) -> list[str]:
    """What keeps `doc` from being a Chatbot custom notification (empty when it is one).

    `is_dynamic(value)` tells a value filled in at run time (a placeholder), which passes as
    any type where the notification allows text. With `path_keys`, Step Functions' "key.$"
    form counts as the key with a dynamic value.
    """
    if not isinstance(doc, dict):
        return [f"it is {_kind(doc, is_dynamic)}, not a JSON object"]

    def get(obj: dict, key: str) -> tuple[bool, Any, bool]:
        if key in obj:
            return True, obj[key], is_dynamic(obj[key])
        if path_keys and f"{key}.$" in obj:
            return True, obj[f"{key}.$"], True
        return False, None, False

    problems = []
    for key, literal in (("version", "1.0"), ("source", "custom")):
        present, value, dynamic = get(doc, key)
        if not present:
            problems.append(f'"{key}" is missing (it must be "{literal}")')
        elif dynamic or value != literal:
            problems.append(f'"{key}" must be the literal "{literal}"')

    present, content, dynamic = get(doc, "content")
    if not present:
        problems.append('"content" is missing (an object with at least "description")')
    elif dynamic or not isinstance(content, dict):
        problems.append('"content" must be an object written in the template, with at least "description"')
    else:
        present, value, dynamic = get(content, "description")
        if not present:
            problems.append('"content.description" is missing')
        elif not dynamic and not (isinstance(value, str) and value.strip()):
            problems.append('"content.description" must be a non-empty string')
        present, value, dynamic = get(content, "title")
        if present and not dynamic and not isinstance(value, str):
            problems.append('"content.title" must be a string')
        present, value, dynamic = get(content, "textType")
        if present and (dynamic or value != "client-markdown"):
            problems.append('"content.textType" may only be "client-markdown"')
        for key in ("nextSteps", "keywords"):
            present, value, dynamic = get(content, key)
            if present and not dynamic and not (
                    isinstance(value, list) and all(isinstance(v, str) or is_dynamic(v) for v in value)):
                problems.append(f'"content.{key}" must be a list of strings')
    present, value, dynamic = get(doc, "metadata")
    if present and not dynamic and not isinstance(value, dict):
        problems.append('"metadata" must be an object')
    return problems


def _kind(value: Any, is_dynamic: Callable[[Any], bool]) -> str:
    if is_dynamic(value):
        return "a placeholder"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


# ----------------------------------------------------------------------------------------------
# Dates


def parse_iso8601(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from an ISO 8601 string (or a YAML timestamp); naive means UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
