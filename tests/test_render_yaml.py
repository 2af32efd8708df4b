"""wm.render.yaml_text writes exactly what yaml.dump (libyaml, with the project's representers)
writes: for every stack of the fleet and the fixtures, and for generated trees of the kinds a
template holds (short-form functions, literal blocks, quoting, unicode, empty collections).
The oracle is PyYAML itself, not the writer's own rules."""

from __future__ import annotations

import pytest
import yaml
from conftest import ENVS, ROOT, environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators import build
from wm import render

FIXTURES = ROOT / "tests" / "fixtures"


def dumped(data) -> str:
    return yaml.dump(data, Dumper=render._Dumper, **render._OPTIONS)


def stacks():
    for env in ENVS:
        yield from ((env, stack) for stack in environment(env).stacks.values())
    for root in sorted(p for p in FIXTURES.iterdir() if (p / "config").is_dir()):
        yield from ((root.name, stack) for stack in environment("dev", root).stacks.values())


@pytest.mark.parametrize("where,stack", list(stacks()), ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_stack_is_written_as_yaml_dump_writes_it_without_falling_back(where, stack, monkeypatch):
    data = build(stack).to_dict()
    expected = dumped(data)
    monkeypatch.setattr(render.yaml, "dump", lambda *a, **k: pytest.fail("fell back to yaml.dump"))
    assert render.yaml_text(data) == expected


# Strings that exercise libyaml's choice of style: indicators, quotes, spaces at either end,
# line breaks (a literal block, or double quotes where a block cannot hold them), values that
# would read back as another type, and text beyond ASCII.
_TRICKY = st.sampled_from(["", " ", "true", "no", "~", "null", "1", "0x1F", "1e3", "2026-12-02", "-", "- x",
                           "a: b", "a #b", "#x", "'q'", '"q"', "x\n", "\nx", "x\n\n", " x\ny", "x \ny", "a\tb",
                           "é ü", "λ→", "\u00a0x", "*a", "&a", "!x", "%x", "@x", "`x", "{x}", "[x]", ",x", "?x",
                           "|", ">", "x\r\ny", "\ufeffx", "${AWS::Region}", "arn:aws:iam::*"])
_TEXT = st.one_of(_TRICKY, st.text(max_size=30), st.text(alphabet="ab :#-'\"\n\\ é", max_size=20))
_KEY = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9:]{0,20}", fullmatch=True), _TRICKY, st.text(max_size=12))
_SHORT = st.sampled_from(sorted(render._SHORT_FORMS))


def _trees(children):
    plain = st.dictionaries(_KEY, children, max_size=4)
    short = st.builds(lambda k, v: {k: v}, _SHORT, st.one_of(_TEXT, st.lists(children, max_size=3),
                                                              st.dictionaries(_KEY, children, max_size=3)))
    return st.one_of(st.lists(children, max_size=4), plain, short)


_VALUES = st.recursive(st.one_of(_TEXT, st.booleans(), st.integers(-10**6, 10**6)), _trees, max_leaves=25)


@settings(max_examples=int(__import__("os").environ.get("WM_YAML_EXAMPLES", 400)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEY, _VALUES, min_size=1, max_size=5))
def test_generated_templates_are_written_as_yaml_dump_writes_them(data):
    assert render.yaml_text(data) == dumped(data)


@pytest.mark.parametrize("data", [
    {"Float": 1.5}, {"Null": None},
    {"Shared": (shared := {"A": "b"}), "Again": shared},  # yaml.dump writes an anchor and an alias
    {"K" * 150: "a key libyaml writes as a complex key"},
    {"Long": "word " * 300},  # libyaml breaks it at the width
    {"Deep": {"Fn::If": []}},
], ids=["float", "null", "alias", "long key", "long line", "empty tagged sequence"])
def test_what_the_block_writer_does_not_write_goes_to_yaml_dump(data):
    assert render.yaml_text(data) == dumped(data)
