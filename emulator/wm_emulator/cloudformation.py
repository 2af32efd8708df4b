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
"""

from __future__ import annotations

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
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


def install() -> None:
    CloudFormationResponse.update_termination_protection = update_termination_protection
    CloudFormationResponse.delete_stack = delete_stack
    CloudFormationResponse._validate_different_update = _validate_different_update
    CloudFormationBackend.execute_change_set = execute_change_set
