"""This project inside Sceptre: the template function, two hooks and a resolver.

Registered through Sceptre's entry points (pyproject.toml), so the Sceptre configs name
them as YAML tags and they run whoever starts Sceptre (`make deploy` or `sceptre` by hand):

- `template(kind, user_data)`: what each templates/<kind>.py calls. The file decides which
  builder runs; the user data says which environment and model. A configuration problem
  becomes a Sceptre error that lists each problem's file and field, not a traceback.
- `!wm_reviewed_plan` (hook): refuse unless the stack is about to execute exactly the last
  reviewed plan (wm/deploy/guard.py). config/prod/config.yaml runs it before every change.
- `!wm_protect` (hook): termination protection and a stack policy (wm/deploy/protect.py).
- `!wm_service_role <name>` (resolver): the ARN of the IAM role `<name>` in the account
  being deployed to, for `cloudformation_service_role` (the account is asked, not written).
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from sceptre.exceptions import SceptreException
from sceptre.hooks import Hook
from sceptre.resolvers import Resolver

from generators import render
from wm.config.problems import ConfigError
from wm.config.resolve import from_user_data


class ConfigurationProblems(SceptreException):
    """The configuration of the stack being rendered has problems (each with its file and field)."""


class ReviewedPlanRefused(SceptreException):
    """A change that is not exactly the last reviewed plan."""


def template(kind: str, sceptre_user_data: dict) -> str:
    try:
        return render(from_user_data(kind, sceptre_user_data))
    except ConfigError as err:
        raise ConfigurationProblems(f"configuration problems:\n{err}") from None


def _acting_on(hook: Hook):
    """The stack the hook runs for. Sceptre shares one hook object between the stacks of a folder,
    so `hook.stack` is whichever stack was read last (Sceptre issue #961, open); the stack being
    acted on is the one of the StackActions method that runs the hooks."""
    from sceptre.plan.actions import StackActions

    frame = inspect.currentframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, StackActions):
            return candidate.stack
        frame = frame.f_back
    return hook.stack


def _root(stack) -> Path:
    return Path(stack.stack_group_config["project_path"])


def _env(stack) -> str:
    return stack.name.split("/", 1)[0]


class ReviewedPlan(Hook):
    """`!wm_reviewed_plan`: before_launch, before_create, before_update, before_execute_change_set."""

    def run(self):
        from wm.deploy import guard

        stack = _acting_on(self)
        try:
            guard.check_stack(stack, _root(stack), _env(stack))
        except guard.Refused as err:
            raise ReviewedPlanRefused(str(err)) from None


class Protect(Hook):
    """`!wm_protect`: after_create and after_update."""

    def run(self):
        from wm.deploy import protect

        stack = _acting_on(self)
        logging.getLogger(__name__).info(protect.protect(stack, _root(stack)))


class ServiceRole(Resolver):
    """`!wm_service_role weekly-models-cloudformation` -> arn:<partition>:iam::<account>:role/weekly-models-cloudformation"""

    def resolve(self):
        from wm.deploy import stacks

        if not isinstance(self.argument, str) or not self.argument:
            self.raise_invalid_argument_error("give the role's name, e.g. !wm_service_role weekly-models-cloudformation")
        who = stacks.call(self.stack, "sts", "get_caller_identity")
        partition = who["Arn"].split(":", 2)[1]
        return f"arn:{partition}:iam::{who['Account']}:role/{self.argument}"
