"""`wm lint-iam`: the IAM checks `make lint` runs on the rendered templates, offline.

1. CloudFormation's service role allows every call the handlers of every rendered
   resource make, and nothing more (wm/lint/permissions.py).
2. Every IAM policy of every rendered template passes parliament (action names, ARN
   formats, condition keys) with no finding left unexplained (wm/lint/policies.py).

It checks the repository's dev and prod configuration and the maximal fixture
(tests/fixtures/maximal: every optional feature on, so every resource type the
generators can make is covered, not only today's).
"""

from __future__ import annotations

from pathlib import Path

from wm import project

from .concrete import Environment, Resource

ROOT = project.root()
SOURCES = ((ROOT, "dev"), (ROOT, "prod"), (ROOT / "tests" / "fixtures" / "maximal", "dev"),
           (ROOT / "tests" / "fixtures" / "minimal", "dev"))
SERVICE_ROLE = ("account/deployer", "CloudFormationServiceRole")


def environment(root: Path, env: str) -> Environment:
    """The rendered templates of `env` with Sceptre's reading of their inputs."""
    from generators import build
    from wm.config import names, resolve

    e = resolve.load(root, env)
    templates = {path: build(stack).to_dict() for path, stack in e.stacks.items()}
    inputs = {path: e.inputs.get(path, {}) for path in e.stacks}
    return Environment(templates, inputs, e.region, names.stack_name)


def service_role(root: Path = ROOT) -> Resource:
    account = environment(root, "account")
    path, logical = SERVICE_ROLE
    (role,) = [r for r in account.resources() if (r.stack, r.logical) == (path, logical)]
    return role


def main(sources=SOURCES, out=print) -> int:
    from . import permissions, policies

    envs = [environment(root, env) for root, env in sources]
    role = service_role()
    region = envs[0].region
    report = permissions.check(role, envs, region)
    for f in report.findings:
        out(f"permissions: {f}")
    account = environment(ROOT, "account")
    policy_findings = policies.check(envs + [account])
    for f in policy_findings:
        out(f"parliament: {f}")
    total = len(report.findings) + len(policy_findings)
    resources = sum(len(e.resources()) for e in envs)
    out(f"lint-iam: {report.requests} handler calls of {resources} resources checked against "
        f"CloudFormation's service role ({permissions.policy_size(role)} of {permissions.ROLE_POLICY_LIMIT} "
        f"policy characters); parliament over every policy: {total} findings")
    return 1 if total else 0
