"""CloudFormation in moto: no-op updates refused, and executed change sets leave a whole stack.

UpdateStack with nothing to change answers as CloudFormation does: "No updates are to be performed."

moto makes that check only for stacks that have parameters, so a second
`sceptre launch` of an unchanged parameterless stack (network, cluster) would run a
full update and report UPDATE_COMPLETE where CloudFormation changes nothing. This
applies moto's own check (same template, same parameter values as given) to every
stack; moto's check also compared list parameters in their resolved form, so stacks
taking a subnet list never matched.

ExecuteChangeSet: moto creates the resources but keeps the stack's template, parameters
and outputs as they were before (empty for a creation change set), so a stack made from
a change set had no outputs and the stacks that take them could not be planned. After
moto's own execution this re-reads the stack's template and parameters and rebuilds its
outputs from the resources it now has, as CloudFormation shows them.

Termination protection: moto stores the flag given at creation but has no
UpdateTerminationProtection and lets DeleteStack delete a protected stack. Here the
action sets the flag, and DeleteStack refuses a protected stack with CloudFormation's
own message, so the prod guards can be exercised locally.

Updates follow resolved values: CloudFormation updates a resource whenever one of its
properties resolves to something new, for example a schedule whose `!Ref TaskDefinition`
names the revision an image bump just registered. moto compares only the template text
of each resource, so that schedule kept starting the old revision. After moto's own
update, every resource whose template did not change but whose resolved properties did
is updated too, in dependency order (a test bumps an image and reads the schedule back).
"""

from __future__ import annotations

import copy
import json
import re

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap, clean_json, parse_and_update_resource
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

_moto_execute_change_set = CloudFormationBackend.execute_change_set


def _validate_different_update(self, incoming_params, stack_body, old_stack) -> None:
    if not stack_body:
        return
    # Compare the values as given, not as resolved (moto resolves list parameters to lists).
    given = old_stack.resource_map.input_parameters
    new_params = self._get_param_values(incoming_params or [], given)
    if old_stack.template == stack_body and given == new_params:
        raise ValidationError(old_stack.name, message="No updates are to be performed.")


def execute_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:
    _moto_execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        c for c in self.change_sets.values() if c.change_set_name == change_set_name and
        (stack_name is None or c.stack_name == stack_name))
    stack = self.stacks[change_set.stack_id]
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()


def update_termination_protection(self) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


_moto_delete_stack = CloudFormationResponse.delete_stack


def delete_stack(self):
    try:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    except ValidationError:
        stack = None
    if stack is not None and stack.enable_termination_protection:
        raise ValidationError(stack.stack_id, message=f"Stack [{stack.name}] cannot be deleted while "
                              "TerminationProtection is enabled")
    return _moto_delete_stack(self)


_moto_build_resource_diff = ResourceMap.build_resource_diff
_moto_update = ResourceMap.update


def _resolved(resource_map: ResourceMap, logical: str) -> str | None:
    """A resource's properties as CloudFormation would send them: every Ref and GetAtt filled in."""
    props = resource_map._resource_json_map[logical].get("Properties", {})
    try:
        return json.dumps(clean_json(copy.deepcopy(props), resource_map), sort_keys=True, default=str)
    except Exception:
        return None


def build_resource_diff(self, other_template, parameters=None):
    diff = _moto_build_resource_diff(self, other_template, parameters)
    self._wm_moto_modifies = set(diff["Modify"])
    return diff


def _references(node) -> set[str]:
    """Logical IDs a resource definition names: Ref, GetAtt, ${X} and ${X.Attr} in Sub, DependsOn."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                out.add(value)
            elif key == "Fn::GetAtt":
                out.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                out |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            elif key == "DependsOn":
                out |= {value} if isinstance(value, str) else set(value)
            out |= _references(value)
    elif isinstance(node, list):
        for value in node:
            out |= _references(value)
    return out


def _dependency_order(resources: dict) -> list[str]:
    order: list[str] = []
    pending = {name: _references(r) & set(resources) for name, r in resources.items()}
    while pending:
        ready = sorted(n for n, refs in pending.items() if not refs - set(order)) or sorted(pending)[:1]
        order += ready
        for name in ready:
            del pending[name]
    return order


def update(self, template, parameters=None) -> None:
    old = self._resource_json_map
    same = [name for name, r in template.get("Resources", {}).items() if old.get(name) == r]
    before = {name: _resolved(self, name) for name in same if name in self._parsed_resources}
    _moto_update(self, template, parameters)
    waiting = {n: v for n, v in before.items() if n not in self._wm_moto_modifies and v is not None}
    for name in _dependency_order(self._resource_json_map):  # each after the resources it names
        if name in waiting and _resolved(self, name) != waiting[name]:
            updated = parse_and_update_resource(name, self._resource_json_map[name], self,
                                                account_id=self._account_id, region_name=self._region_name)
            if updated is not None:  # None: moto has no update for the type; it keeps the old one
                self._parsed_resources[name] = updated


def install() -> None:
    ResourceMap.build_resource_diff = build_resource_diff
    ResourceMap.update = update
    CloudFormationResponse.update_termination_protection = update_termination_protection
    CloudFormationResponse.delete_stack = delete_stack
    CloudFormationResponse._validate_different_update = _validate_different_update
    CloudFormationBackend.execute_change_set = execute_change_set
