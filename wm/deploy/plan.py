"""`make plan` and the reviewed deploy: CloudFormation change sets, read as a table.

A plan renders every stack, makes one change set per stack (named `wm-plan-<stack>`,
so a new plan replaces the old one and none pile up), waits for them and reads them back
as rows: stack, logical ID, type, action, replacement, properties. A stack whose
inputs come from stacks that do not exist yet cannot have a change set (its parameter
values are unknown), so its plan is every resource of its template as Add; the deploy
makes its change set once the inputs exist and executes it only if it holds exactly
those changes.

The plan is written as build/plan-<env>.md (for a pull request) and
build/plan-<env>.json (what `apply` executes), each atomically: an interrupted plan
leaves the previous files whole, never half of a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wm.config import names as naming
from wm.config.files import read_template

STATEFUL_TYPES = frozenset({"AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SSM::Parameter",
                            "AWS::DynamoDB::Table", "AWS::EFS::FileSystem", "AWS::RDS::DBInstance",
                            "AWS::SecretsManager::Secret"})
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
FAILED_STATES = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
EXIT_STATEFUL = 10  # the plan removes or replaces something that holds data


class PlanError(Exception):
    """A plan or deploy that cannot go on; the message says why and what to do."""


@dataclass
class ResourceChange:
    logical_id: str
    resource_type: str
    action: str             # Add, Modify, Remove
    replacement: str = "-"  # True, False, Conditional, or - (not said / not a Modify)
    properties: list[str] = field(default_factory=list)

    @property
    def risks_data(self) -> bool:
        return self.resource_type in STATEFUL_TYPES and (
            self.action == "Remove" or self.replacement in ("True", "Conditional"))


@dataclass
class StackPlan:
    path: str
    stack_name: str
    kind: str                # create, update, no change, from template
    template_sha: str
    parameters: dict[str, str]
    changes: list[ResourceChange] = field(default_factory=list)
    change_set: str | None = None
    note: str = ""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- reading change sets ---------------------------------------------------------------------

def property_diff(old: dict | None, new: dict | None) -> list[str]:
    """Top-level properties (and policies) that differ between two resource definitions."""
    old, new = old or {}, new or {}
    names = sorted(set(old.get("Properties", {})) | set(new.get("Properties", {})))
    out = [n for n in names if old.get("Properties", {}).get(n) != new.get("Properties", {}).get(n)]
    out += [k for k in ("DeletionPolicy", "UpdateReplacePolicy", "Metadata") if old.get(k) != new.get(k)]
    return out


def changes_from_response(response: dict, old_template: dict | None, new_template: dict) -> list[ResourceChange]:
    """Rows from a DescribeChangeSet answer; property names from its Details, else from the templates."""
    out = []
    for c in response.get("Changes", []):
        rc = c["ResourceChange"]
        props = sorted({d["Target"].get("Name") or d["Target"]["Attribute"] for d in rc.get("Details", [])
                        if d.get("Target", {}).get("Attribute") in ("Properties", "Tags", "Metadata",
                                                                     "DeletionPolicy", "UpdateReplacePolicy")})
        logical = rc["LogicalResourceId"]
        if not props and rc["Action"] == "Modify":
            props = property_diff((old_template or {}).get("Resources", {}).get(logical),
                                  new_template.get("Resources", {}).get(logical))
        out.append(ResourceChange(logical, rc["ResourceType"], rc["Action"],
                                  rc.get("Replacement") or "-", props))
    return sorted(out, key=lambda r: (r.logical_id, r.action))


def changes_from_template(template: dict) -> list[ResourceChange]:
    return [ResourceChange(logical, r["Type"], "Add") for logical, r in sorted(template["Resources"].items())]


# --- output ---------------------------------------------------------------------------------

HEADER = ("stack", "logical ID", "type", "action", "replaces", "properties")


def _rows(plans: list[StackPlan]) -> list[tuple[str, ...]]:
    rows = []
    for p in plans:
        for c in p.changes:
            rows.append((p.path, c.logical_id, c.resource_type, c.action, c.replacement,
                         ", ".join(c.properties) or ("(new)" if c.action == "Add" else "-")))
    return rows


def to_table(plans: list[StackPlan], env: str) -> str:
    rows = _rows(plans)
    lines = [f"plan for {env}: {sum(len(p.changes) for p in plans)} resource changes in "
             f"{sum(1 for p in plans if p.changes)} of {len(plans)} stacks"]
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)).rstrip())
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"{p.path}: no change" for p in plans if not p.changes]
    lines += [f"{p.path}: {p.note}" for p in plans if p.note]
    risky = [f"{p.path}:{c.logical_id}" for p in plans for c in p.changes if c.risks_data]
    if risky:
        lines.append(f"WARNING: this plan removes or replaces resources that hold data: {', '.join(risky)}")
    return "\n".join(lines)


def to_markdown(plans: list[StackPlan], env: str, commit: str) -> str:
    lines = [f"### weekly-models plan for `{env}` at `{commit}`", ""]
    rows = _rows(plans)
    if rows:
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(v.replace("|", "\\|") for v in r) + " |" for r in rows]
        lines.append("")
    lines += [f"- `{p.path}`: no change" for p in plans if not p.changes]
    lines += [f"- `{p.path}`: {p.note}" for p in plans if p.note]
    risky = [f"`{p.path}:{c.logical_id}`" for p in plans for c in p.changes if c.risks_data]
    if risky:
        lines += ["", f"**Removes or replaces resources that hold data:** {', '.join(risky)}"]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)  # all or nothing, even on Ctrl-C
    finally:
        tmp.unlink(missing_ok=True)


def save(plans: list[StackPlan], env: str, commit: str, out: Path) -> tuple[Path, Path]:
    md, js = out / f"plan-{env}.md", out / f"plan-{env}.json"
    write_atomically(js, json.dumps({"env": env, "commit": commit, "stacks": [asdict(p) for p in plans]},
                                    indent=1, sort_keys=True))
    write_atomically(md, to_markdown(plans, env, commit))
    return md, js


def load(path: Path) -> dict:
    if not path.exists():
        raise PlanError(f"no plan at {path}: run make plan first")
    data = json.loads(path.read_text())
    data["stacks"] = [StackPlan(**{**s, "changes": [ResourceChange(**c) for c in s["changes"]]})
                      for s in data["stacks"]]
    return data


# --- talking to CloudFormation ------------------------------------------------------------------

def stack_status(cfn, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise


def outputs(cfn, name: str) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])}


def wait_change_set(cfn, name: str, change_set: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if answer["Status"] in ("CREATE_COMPLETE", "FAILED"):
            pages = answer
            while pages.get("NextToken"):
                pages = cfn.describe_change_set(StackName=name, ChangeSetName=change_set, NextToken=pages["NextToken"])
                answer["Changes"] += pages.get("Changes", [])
            return answer
        if time.monotonic() > deadline:
            raise PlanError(f"{name}: change set {change_set} still {answer['Status']} after {timeout:.0f} s")
        time.sleep(1)


def wait_stack(cfn, name: str, timeout: float = 3600) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = stack_status(cfn, name)
        if status and not status.endswith("_IN_PROGRESS"):
            return status
        if time.monotonic() > deadline:
            raise PlanError(f"{name} still {status} after {timeout:.0f} s")
        time.sleep(2)


def recover_hint(name: str, status: str) -> str:
    if status in ("ROLLBACK_COMPLETE", "CREATE_FAILED"):
        return (f"stack {name} is in {status}: it was never created and cannot be updated; delete it "
                f"(aws cloudformation delete-stack --stack-name {name}), then plan again")
    if status == "UPDATE_ROLLBACK_FAILED":
        hint = (f"stack {name} is in {status}: finish the rollback (aws cloudformation continue-update-rollback "
                f"--stack-name {name}), then plan again")
        if "-models-" in name:
            # Rolling back sends the old template's StartDate, which Scheduler refuses once the season has begun.
            hint += ("; if its events say \"The StartDate you specify cannot be earlier than 5 minutes ago\", add "
                     "--resources-to-skip Schedule SilenceCheckSchedule (the next deploy puts both right)")
        return hint
    return f"stack {name} is in {status}: see its events (aws cloudformation describe-stack-events --stack-name {name})"


def make_change_set(cfn, p: StackPlan, body: str, tags: list[dict], env: str, role_arn: str | None = None) -> StackPlan:
    """Create (or replace) this stack's change set and read it back into `p`."""
    from botocore.exceptions import ClientError

    status = stack_status(cfn, p.stack_name)
    if status in FAILED_STATES:
        raise PlanError(recover_hint(p.stack_name, status))
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise PlanError(f"stack {p.stack_name} is busy ({status}); wait for it to finish, then plan again")
    kind = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
    change_set = f"wm-plan-{p.stack_name}"  # one per stack, replaced by each plan
    if status:  # a new plan replaces the last one: never two of them
        existing = [c["ChangeSetName"] for c in cfn.list_change_sets(StackName=p.stack_name).get("Summaries", [])]
        if change_set in existing:
            cfn.delete_change_set(StackName=p.stack_name, ChangeSetName=change_set)
    try:
        created = cfn.create_change_set(
            StackName=p.stack_name, ChangeSetName=change_set, ChangeSetType=kind, TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(p.parameters.items())],
            Capabilities=["CAPABILITY_NAMED_IAM"], Tags=tags, Description=f"weekly-models plan for {env}",
            **({"RoleARN": role_arn} if role_arn else {}))
    except ClientError as err:
        message = err.response["Error"].get("Message", "")
        if any(s in message for s in NO_CHANGES):
            p.kind = "no change"
            return p
        raise PlanError(f"{p.stack_name}: CloudFormation refused the change set: {message}") from None
    answer = wait_change_set(cfn, p.stack_name, created["Id"])
    new = read_template(body)
    if answer["Status"] == "FAILED":
        reason = answer.get("StatusReason", "")
        cfn.delete_change_set(StackName=p.stack_name, ChangeSetName=created["Id"])
        if any(s in reason for s in NO_CHANGES):
            p.kind = "no change"
            return p
        raise PlanError(f"{p.stack_name}: the change set failed: {reason}")
    old = None
    if kind == "UPDATE":
        old = cfn.get_template(StackName=p.stack_name, TemplateStage="Original")["TemplateBody"]
        old = old if isinstance(old, dict) else read_template(old)  # CloudFormation returns JSON ones parsed
    p.kind = kind.lower()
    p.changes = changes_from_response(answer, old, new)
    p.change_set = answer["ChangeSetId"]
    return p


# --- plan and apply -----------------------------------------------------------------------------

def live_parameters(cfn, stack_inputs: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Parameter -> the current value of the output it comes from (one DescribeStacks per source stack)."""
    found = {src: outputs(cfn, naming.stack_name(src)) for src in sorted({src for src, _ in stack_inputs.values()})}
    return {k: found[src][out] for k, (src, out) in stack_inputs.items()}


def make(cfn, env: str, stacks: dict, inputs: dict, order: list[str], render, tags: list[dict],
         role_arn: str | None = None) -> list[StackPlan]:
    """One StackPlan per stack, in deploy order."""
    plans = []
    for path in order:
        body = render(stacks[path])
        missing = sorted({src for src, _ in inputs[path].values()
                          if stack_status(cfn, naming.stack_name(src)) in (None, "REVIEW_IN_PROGRESS")})
        if missing:
            params = {k: f"(output {out} of {src})" for k, (src, out) in inputs[path].items()}
            plans.append(StackPlan(path, naming.stack_name(path), "from template", sha(body), params,
                                   changes_from_template(read_template(body)),
                                   note=f"planned from its template: its inputs come from {', '.join(missing)}, "
                                        "which do not exist yet; the deploy makes its change set after them"))
            continue
        p = StackPlan(path, naming.stack_name(path), "", sha(body), live_parameters(cfn, inputs[path]))
        plans.append(make_change_set(cfn, p, body, tags, env, role_arn))
    return plans


def apply(cfn, env: str, saved: dict, stacks: dict, inputs: dict, render, tags: list[dict], say,
          role_arn: str | None = None) -> None:
    """Execute exactly the saved plan; refuse if anything it was made from has changed."""
    bodies = {path: render(spec) for path, spec in stacks.items()}
    for p in saved["stacks"]:
        if p.path not in stacks:
            raise PlanError(f"{p.path} was planned but is no longer in the configuration: run make plan ENV={env}")
        if sha(bodies[p.path]) != p.template_sha:
            season = getattr(stacks[p.path], "season", None)
            why = f" ({season.note})" if season and season.note else ""
            raise PlanError(f"{p.path}: the template changed since the plan was made{why}: run make plan "
                            f"ENV={env} and review it again")
    if set(stacks) != {p.path for p in saved["stacks"]}:
        raise PlanError(f"the configuration has stacks the plan does not: run make plan ENV={env}")
    for p in saved["stacks"]:
        if p.kind == "no change":
            continue
        if p.kind == "from template":
            fresh = make_change_set(cfn, StackPlan(p.path, p.stack_name, "", p.template_sha,
                                                   live_parameters(cfn, inputs[p.path])), bodies[p.path], tags,
                                    env, role_arn)
            planned = sorted((c.logical_id, c.action) for c in p.changes)
            if sorted((c.logical_id, c.action) for c in fresh.changes) != planned:
                raise PlanError(f"{p.path}: its change set differs from the plan: run make plan ENV={env}")
            p = fresh
        elif p.parameters != live_parameters(cfn, inputs[p.path]):
            raise PlanError(f"{p.path}: its inputs changed since the plan was made: run make plan ENV={env}")
        say(f"{p.path}: executing {len(p.changes)} changes")
        cfn.execute_change_set(ChangeSetName=p.change_set, StackName=p.stack_name)
        status = wait_stack(cfn, p.stack_name)
        if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
            raise PlanError(recover_hint(p.stack_name, status))
        say(f"{p.path}: {status}")


def stack_policy(template: dict) -> str:
    """Allow every update except replacing or deleting a resource that holds data."""
    stateful = sorted(logical for logical, r in template.get("Resources", {}).items() if r["Type"] in STATEFUL_TYPES)
    statements = [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if stateful:
        statements.append({"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
                           "Resource": [f"LogicalResourceId/{logical}" for logical in stateful]})
    return json.dumps({"Statement": statements}, sort_keys=True)
