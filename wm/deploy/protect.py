"""Termination protection and a stack policy on each prod stack, after every create and update.

config/prod/config.yaml runs `!wm_protect` (wm/sceptre.py) after each create and update.
Sceptre has no termination protection (its `protect:` only stops Sceptre itself), so that
is one CloudFormation call; the stack policy goes through Sceptre's own `set_policy`,
from a file generated from the stack's template (build/policies/<stack>.json), which
allows every update but replacing or deleting a resource that holds data.
"""

from __future__ import annotations

import json
from pathlib import Path

from wm.config.yaml import read_template
from wm.deploy import stacks

STATEFUL_TYPES = frozenset({"AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SSM::Parameter",
                            "AWS::DynamoDB::Table", "AWS::EFS::FileSystem", "AWS::RDS::DBInstance",
                            "AWS::SecretsManager::Secret"})


def stack_policy(template: dict) -> str:
    """Allow every update except replacing or deleting a resource that holds data."""
    stateful = sorted(logical for logical, r in template.get("Resources", {}).items() if r["Type"] in STATEFUL_TYPES)
    statements = [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if stateful:
        statements.append({"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
                           "Resource": [f"LogicalResourceId/{logical}" for logical in stateful]})
    return json.dumps({"Statement": statements}, sort_keys=True, indent=1) + "\n"


def policy_file(root: Path, stack_path: str) -> Path:
    return root / "build" / "policies" / f"{stack_path}.json"


def protect(stack, root: Path) -> str:
    """Protect one deployed Sceptre stack; what was done, in words."""
    file = policy_file(root, stack.name)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(stack_policy(read_template(stack.template.body)))
    stacks.call(stack, "cloudformation", "update_termination_protection", EnableTerminationProtection=True,
                StackName=stack.external_name)
    stacks.actions(stack).set_policy(str(file))
    return f"{stack.name}: termination protection on; stack policy ({file.relative_to(root)}) denies replacing " \
           "or deleting its data"


def unprotect(stack) -> None:
    """Termination protection off, so `sceptre delete` can delete the stack (make destroy asks first)."""
    if stacks.deployed(stack):
        stacks.call(stack, "cloudformation", "update_termination_protection", EnableTerminationProtection=False,
                    StackName=stack.external_name)
