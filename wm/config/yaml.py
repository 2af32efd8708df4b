"""Configuration files read strictly: every surprise YAML allows is an error that names the file.

PyYAML, like YAML 1.1, keeps the last of two values written for the same key, expands
anchors and aliases (so a small file can unfold into millions of values), reads
`2026-13-01` as a date it cannot build (a traceback), `03072` as the octal number 1594 and
`1:30` as the base-60 number 90. Here each of those is a `Problem` naming the file, the
field and both lines where there are two; a file over SIZE_LIMIT bytes or nested deeper
than DEPTH_LIMIT is refused before it is parsed further. Sceptre's own tags
(`!stack_output ...`, `!stack_attr ...`, `!cmd ...`) are kept as their text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

from wm.config.problems import ConfigError, Problem

SIZE_LIMIT = 256 * 1024  # bytes; the largest file here is a few kilobytes
DEPTH_LIMIT = 20

_INT_TAG, _FLOAT_TAG, _BOOL_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
_NULL_TAG, _STAMP_TAG, _STR_TAG = "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:str"


class _NoAliases(yaml.SafeLoader):
    """A loader whose composer refuses anchors and aliases instead of expanding them."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise _Refused(f"line {mark.line + 1}: YAML anchors and aliases (&name, *name) are not allowed in "
                           "configuration; write the value out where it is used")
        return Composer.compose_node(self, parent, index)


class _Refused(Exception):
    pass


def _field(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "(file)"


def _scalar(node: yaml.ScalarNode, loader: yaml.SafeLoader, rel: str, path: tuple, problems: list[Problem]):
    value, line = node.value, node.start_mark.line + 1
    if not node.tag.startswith("tag:yaml.org,2002:"):  # Sceptre's resolvers and hooks: their text
        return f"{node.tag} {value}".strip()
    if node.tag == _INT_TAG and not node.style:
        if re.fullmatch(r"[-+]?0[0-7_]+", value):
            problems.append(Problem(rel, _field(path), f"{value} (line {line}) reads as an octal number in YAML; "
                                    f"write {int(value.replace('_', '') or 0, 10)} without the leading 0"))
            return None
        if ":" in value:
            problems.append(Problem(rel, _field(path), f"{value} (line {line}) reads as a base-60 number in YAML; "
                                    "write a plain number (e.g. minutes as 90), or quote it if it is text"))
            return None
    if node.tag == _FLOAT_TAG and not node.style and ":" in value:
        problems.append(Problem(rel, _field(path), f"{value} (line {line}) reads as a base-60 number in YAML; "
                                "write a plain number, or quote it if it is text"))
        return None
    if node.tag == _STAMP_TAG and not node.style:
        try:
            return loader.construct_yaml_timestamp(node)
        except ValueError as err:
            problems.append(Problem(rel, _field(path), f"{value} (line {line}) is not a date: {err}; write dates "
                                    "as YYYY-MM-DD, e.g. 2026-10-01"))
            return None
    return loader.construct_object(node)


def _build(node, loader, rel: str, path: tuple, problems: list[Problem], depth: int = 0):
    if depth > DEPTH_LIMIT:
        raise _Refused(f"nested more than {DEPTH_LIMIT} levels deep at {_field(path)}; configuration is shallower")
    if isinstance(node, yaml.MappingNode):
        out, lines = {}, {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader, rel, path, problems) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool, dt.date)) or key is None:
                problems.append(Problem(rel, _field(path), f"line {key_node.start_mark.line + 1}: a key must be a "
                                        "plain word or number"))
                continue
            line = key_node.start_mark.line + 1
            if key in out:
                problems.append(Problem(rel, _field((*path, key)), f"written twice, on lines {lines[key]} and {line}; "
                                        "YAML would keep only the second: keep one"))
                continue
            lines[key] = line
            out[key] = _build(value_node, loader, rel, (*path, key), problems, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(n, loader, rel, (*path, i), problems, depth + 1) for i, n in enumerate(node.value)]
    return _scalar(node, loader, rel, path, problems)


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml, when PyYAML was built with it: the parsing in C


def _refuse_aliases(text: str) -> None:
    """Anchors and aliases refused from the event stream, before any node is built."""
    for event in yaml.parse(text, Loader=_FAST):
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(f"line {event.start_mark.line + 1}: YAML anchors and aliases (&name, *name) are not "
                           "allowed in configuration; write the value out where it is used")


def load_text(text: str, rel: str) -> tuple[object, list[Problem]]:
    """The YAML document in `text` as Python values, and the problems found reading it."""
    problems: list[Problem] = []
    if len(text.encode()) > SIZE_LIMIT:
        raise ConfigError([Problem(rel, "(file)", f"is {len(text.encode())} bytes; configuration files are at most "
                                   f"{SIZE_LIMIT} bytes (split it, or check it is the file you meant)")])
    loader = _FAST(text) if _FAST else _NoAliases(text)
    try:
        if _FAST:
            _refuse_aliases(text)
        node = loader.get_single_node()
        data = None if node is None else _build(node, loader, rel, (), problems)
    except _Refused as err:
        raise ConfigError([Problem(rel, "(file)", str(err))]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(rel, "(file)", f"not valid YAML: {err}".replace("\n", " "))]) from None
    finally:
        loader.dispose()
    return data, problems


_read_before: dict[tuple, tuple[dict, list[Problem]]] = {}  # (path, size, mtime) -> what read() gave


def read(path: Path, rel: str) -> tuple[dict, list[Problem]]:
    """A configuration file as a mapping (empty when the file is), and the problems found in it.
    A file read before in this process, unchanged since, is not parsed again (`wm render dev prod`
    reads the project and model files for each environment): treat the mapping as read-only."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), rel, stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key in _read_before:
        data, problems = _read_before[key]
        return data, list(problems)
    data, problems = _read(path, rel)
    if key is not None:
        _read_before[key] = (data, list(problems))
    return data, problems


def _read(path: Path, rel: str) -> tuple[dict, list[Problem]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(rel, "(file)", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(rel, "(file)", "is a folder, not a file")]) from None
    except OSError as err:
        raise ConfigError([Problem(rel, "(file)", f"cannot be read: {err.strerror}")]) from None
    if len(raw) > SIZE_LIMIT:
        raise ConfigError([Problem(rel, "(file)", f"is {len(raw)} bytes; configuration files are at most "
                                   f"{SIZE_LIMIT} bytes (split it, or check it is the file you meant)")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError([Problem(rel, "(file)", f"not UTF-8 text ({err.reason} at byte {err.start}); "
                                   "save it as UTF-8")]) from None
    data, problems = load_text(text, rel)
    if data is None:
        return {}, problems
    if not isinstance(data, dict):
        raise ConfigError([Problem(rel, "(file)", "must be a mapping of keys to values")])
    return data, problems


class _TemplateYaml(yaml.SafeLoader):
    """Reads rendered and deployed templates: intrinsic-function tags become their text."""


_TemplateYaml.add_multi_constructor("!", lambda loader, tag, node: f"!{tag} {getattr(node, 'value', '')}")


def read_template(text: str) -> dict:
    """A rendered or deployed template as data; intrinsic functions stay as their YAML tags' text."""
    return yaml.load(text, Loader=_TemplateYaml)
