"""UpdateStack with nothing to change answers as CloudFormation does: "No updates are to be performed."

moto makes that check only for stacks that have parameters, so a second
`sceptre launch` of an unchanged parameterless stack (network, cluster) would run a
full update and report UPDATE_COMPLETE where CloudFormation changes nothing. This
applies moto's own check (same template, same parameter values as given) to every
stack; moto's check also compared list parameters in their resolved form, so stacks
taking a subnet list never matched.
"""

from __future__ import annotations

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse


def _validate_different_update(self, incoming_params, stack_body, old_stack) -> None:
    if not stack_body:
        return
    # Compare the values as given, not as resolved (moto resolves list parameters to lists).
    given = old_stack.resource_map.input_parameters
    new_params = self._get_param_values(incoming_params or [], given)
    if old_stack.template == stack_body and given == new_params:
        raise ValidationError(old_stack.name, message="No updates are to be performed.")


def install() -> None:
    CloudFormationResponse._validate_different_update = _validate_different_update
