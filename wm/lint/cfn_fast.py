"""Speed-ups of cfn-lint for `wm cfn-lint` that keep its findings: each makes cfn-lint do the same
work fewer times; none changes what a rule is given or what it finds.

`make lint` spends nearly all its time in cfn-lint's JSON-schema validation of each template.
`install()` makes five changes, in this process and the workers forked from it. Measured with
callgrind (instructions, not seconds: repeatable on a busy machine) over bench/bench.py's
synthetic model stack, cfn-lint 1.58.0: 608 million instructions a template before the last four,
403 million with all five (-34%); each one's share of the 608, measured as it was added:

- `share_validator_classes`: `Validator.extend()` builds a new dataclass on every call, about 40
  times a template; the class depends only on its arguments, so each distinct one is built once.
- `memoize_fragments` (-7%): every `$ref` into a resource schema's `#/definitions/...` walks the
  whole schema twice looking for `id` keys; the answer depends only on the schema (loaded once,
  never changed) and the fragment.
- `run_rules` (-10%): cfn-lint's `Rules.run` reads the configuration four times per rule per
  template, links parent and child rules with a quadratic search, and starts two generators per
  rule per resource, although only the rules that name the resource's type look at it.
- `share_dataclass_fields` (-8%): the `evolve()` of each validator, context and path, tens of
  thousands of calls a template, asks `dataclasses.fields()` again for its class's fields.
- `cfn_lint_keywords` (-10%): rule E1101's `cfnLint`, called for every property, loops over
  every child rule's every keyword to find the few that name the property.

`run_rules` and `cfn_lint_keywords` are copies of cfn-lint's code (MIT-0) with those costs taken
out. Each replaces cfn-lint's only while cfn-lint's source is the one copied (`COPIED`, its
SHA-256): after an upgrade that changes it, cfn-lint's own runs (slower, same findings) and
tests/test_lint_rules.py fails until the copy is made again. The other three wrap cfn-lint's own
code and keep working across versions. tests/test_lint_rules.py checks that the findings equal
the cfn-lint command's and that each copy yields what cfn-lint's own yields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import operator

# What run_rules and cfn_lint_keywords copy: cfn-lint 1.58.0's source of each, the first 16 hex
# digits of its SHA-256.
COPIED = {"Rules.run": "6fa2334a73faecae", "CfnLint.cfnLint": "23947c8987cd5a17"}
FRAGMENTS = 4096  # at most this many resolved fragments are kept (a few dozen per resource type)

ORIGINAL: dict = {}  # what install() replaced: name -> cfn-lint's own
_FRAGMENTS: dict = {}  # (id(schema), fragment) -> (schema, what it resolves to)
_FIELDS: dict = {}  # dataclass -> its fields


def source_hash(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def _validator_key(validators, function_filter, fn_resolvers) -> tuple:
    """What decides the class `cfnlint.jsonschema.validators.create` builds: the keyword and
    function handlers (functions and bound methods, compared as Python compares them) and the
    function filter's settings."""
    flt = None if function_filter is None else tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(vars(function_filter).items()))
    return tuple((validators or {}).items()), flt, tuple((fn_resolvers or {}).items())


def share_validator_classes() -> None:
    """Make cfn-lint's validator factory build each distinct validator class once."""
    from cfnlint.jsonschema import validators as module

    if "create" in ORIGINAL:
        return
    build = ORIGINAL["create"] = module.create
    classes: dict = {}

    def create(validators=None, function_filter=None, fn_resolvers=None):
        try:
            key = _validator_key(validators, function_filter, fn_resolvers)
            return classes[key]
        except TypeError:  # an unhashable handler: build it as cfn-lint would
            return build(validators, function_filter, fn_resolvers)
        except KeyError:
            made = classes[key] = build(validators, function_filter, fn_resolvers)
            return made

    module.create = create  # Validator.extend() calls the module's create


def memoize_fragments() -> None:
    """Resolve each (schema, fragment) once; the schema is held so its id() is not reused."""
    from cfnlint.schema.resolver._resolver import RefResolver

    if "resolve_fragment" in ORIGINAL:
        return
    ORIGINAL["resolve_fragment"] = RefResolver.resolve_fragment

    def resolve_fragment(self, document, fragment):
        key = (id(document), fragment)
        hit = _FRAGMENTS.get(key)
        if hit is not None and hit[0] is document:
            return hit[1]
        found = ORIGINAL["resolve_fragment"](self, document, fragment)  # raises as cfn-lint does
        if len(_FRAGMENTS) >= FRAGMENTS:
            _FRAGMENTS.clear()
        _FRAGMENTS[key] = (document, found)
        return found

    RefResolver.resolve_fragment = resolve_fragment


def share_dataclass_fields() -> None:
    """Give cfn-lint's modules a `fields()` that reads each dataclass's fields once."""
    from cfnlint.context import context
    from cfnlint.jsonschema import _filter, validators

    if "fields" in ORIGINAL:
        return
    ORIGINAL["fields"] = dataclasses.fields

    def fields(class_or_instance):
        cls = class_or_instance if isinstance(class_or_instance, type) else type(class_or_instance)
        try:
            return _FIELDS[cls]
        except KeyError:
            found = _FIELDS[cls] = ORIGINAL["fields"](cls)
            return found

    for module in (context, _filter, validators):
        module.fields = fields


def run_rules(self, filename, cfn, config):
    """cfn-lint 1.58.0's `Rules.run`: the same calls in the same order, the same matches, the same
    `used_rules`, without its repeated work (see the module's docstring; each change is marked)."""
    data = self.data
    # Changed: the configuration is read once per template, not once per rule.
    configure_rules = config.configure_rules
    experimental = config.include_experimental
    ignore, include, mandatory = config.ignore_checks, config.include_checks, config.mandatory_checks
    enabled_rule_ids = set()
    for rule_id, rule in data.items():
        rule.configure(configure_rules.get(rule_id, None), experimental)
        rule.initialize(cfn)
        if rule.is_enabled(include_experimental=experimental, ignore_rules=ignore,
                           include_rules=include, mandatory_rules=mandatory):
            enabled_rule_ids.add(rule_id)

    for rule_id, rule in data.items():
        children = rule.child_rules
        for key in children:
            if key in data:  # changed: was any(key == r for r in data.keys())
                children[key] = data.get(key)
        for parent_rule in rule.parent_rules:
            if parent_rule in data:
                data[parent_rule].child_rules[rule_id] = rule
    for rule in data.values():  # added: configured and linked, E1101 indexes its child rules again
        vars(rule).pop(INDEX, None)

    for rule_id, rule in data.items():
        yield from self._filter_matches(enabled_rule_ids, self.run_check(
            rule.matchall, filename, rule_id, config, enabled_rule_ids, filename, cfn))

    # Changed: per resource, only the rules that can look at a resource's properties run: those
    # with resource types to look at or a matchall_resource_properties of their own. cfn-lint's
    # starts two generators for each of the others to find that it has nothing to do (and
    # run_check, above, has already recorded each enabled rule as used).
    looking = [(rule_id, rule) for rule_id, rule in data.items() if _looks_at_resources(rule)]
    for resource_name, resource_attributes in cfn.get_resources().items():
        resource_type = resource_attributes.get("Type")
        resource_properties = resource_attributes.get("Properties")
        if isinstance(resource_type, str) and isinstance(resource_properties, dict):
            path = ["Resources", resource_name, "Properties"]
            for rule_id, rule in looking:
                yield from self._filter_matches(enabled_rule_ids, self.run_check(
                    rule.matchall_resource_properties, filename, rule_id, config, enabled_rule_ids,
                    filename, cfn, resource_properties, resource_type, path))


def _looks_at_resources(rule) -> bool:
    """False only for a rule whose matchall_resource_properties is cfn-lint's own and whose list of
    resource types is empty: cfn-lint's would return at once for every resource. Anything else
    (a method of its own, types that are not a list) is run as cfn-lint runs it, errors and all."""
    from cfnlint.rules._rule import CloudFormationLintRule

    method = getattr(rule, "matchall_resource_properties", None)
    types = getattr(rule, "resource_property_types", None)
    own = getattr(method, "__func__", None) is not CloudFormationLintRule.matchall_resource_properties
    return own or type(types) is not list or bool(types)


INDEX = "_wm_keyword_index"  # where cfn_lint_keywords keeps E1101's index; run_rules drops it per template


def cfn_lint_keywords(self, validator, keywords, instance, schema):
    """cfn-lint 1.58.0's `cfnLint` of rule E1101, which every property of every template passes
    through: the same rules called in the same order, found in an index of its child rules by
    keyword instead of a loop over every child rule's every keyword (about 200 rules, 300
    keywords) on each call. The index is built again for each template (run_rules drops it once
    the rules are configured and linked) and whenever the child rules are other objects."""
    from cfnlint.jsonschema._utils import Unset

    validator = validator.evolve(function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=False))
    children = tuple(self.child_rules.values())
    built = self.__dict__.get(INDEX)
    if built is None or len(built[0]) != len(children) or not all(map(operator.is_, built[0], children)):
        built = self.__dict__[INDEX] = (children, _keyword_index(children))
    index = built[1]
    for keyword in keywords:
        try:
            rules = None if index is None else index.get(keyword, ())
        except TypeError:  # a keyword that cannot be a key
            rules = None
        if rules is None:  # compared with each rule's keywords, as cfn-lint does
            rules = [r for r in children if r is not None and r.id for k in r.keywords if k == keyword]
        for rule in rules:
            for err in rule.validate(validator, keyword, instance, schema):
                if err.rule is None and isinstance(err.validator, Unset):
                    err.rule = rule
                yield err


def _keyword_index(children: tuple):
    """keyword -> the child rules that name it, in order and as often as they name it; None when
    a rule's keyword cannot be a key (cfn_lint_keywords then compares, as cfn-lint does)."""
    index: dict = {}
    try:
        for rule in children:
            if rule is None or not rule.id:
                continue
            for rule_keyword in rule.keywords:
                index.setdefault(rule_keyword, []).append(rule)
    except TypeError:
        return None
    return index


def _replace(owner, attribute: str, copy, name: str) -> None:
    """Put `copy` in place of cfn-lint's `owner.attribute`, if its source is the one copied."""
    theirs = getattr(owner, attribute)
    try:
        same = theirs is not copy and source_hash(theirs) == COPIED[name]
    except (OSError, TypeError):  # no source to compare (only bytecode installed): cfn-lint's own runs
        same = False
    if same:
        ORIGINAL[name] = theirs
        setattr(owner, attribute, copy)


def copies(rules) -> list[tuple]:
    """(name in COPIED, owner, attribute, copy) for each copy of cfn-lint's code, for `rules`:
    cfn-lint loads each rule's module from its file, so the class of E1101 in `rules` is not the
    one `cfnlint.rules` imports (and differs between sets of rules)."""
    from cfnlint.rules._rules import Rules

    found = [("Rules.run", Rules, "run", run_rules)]
    if "E1101" in rules.data:
        found.append(("CfnLint.cfnLint", type(rules.data["E1101"]), "cfnLint", cfn_lint_keywords))
    return found


def install(rules) -> None:
    """All five, again for each set of rules."""
    share_validator_classes()
    memoize_fragments()
    _FRAGMENTS.clear()  # loading rules may have patched schemas in place (cfn-lint's --override-spec)
    share_dataclass_fields()
    for name, owner, attribute, copy in copies(rules):
        _replace(owner, attribute, copy, name)
