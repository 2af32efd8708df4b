"""`make plan`: one CloudFormation change set per stack, read back as a table and as Markdown.

The change sets are made from Sceptre's own view of each stack (wm/deploy/stacks.py: the
template its handler renders, the parameters it resolves, its tags and service role), so
they show exactly what `sceptre launch` would send. Each is named `wm-plan-<stack>`, so a
new plan replaces the old one and none pile up. A stack whose inputs come from stacks
that do not exist yet cannot have a change set (its parameter values are unknown), so its
plan is every resource of its template as Add.

The plan is written as build/plan-<env>.md (for a pull request) and build/plan-<env>.json
(what the reviewed-plan guard, wm/deploy/guard.py, lets a prod launch execute), each
atomically: an interrupted plan leaves the previous files whole, never half of a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wm.config import names as naming
from wm.config.yaml import read_template
from wm.deploy import stacks
from wm.deploy.protect import STATEFUL_TYPES

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
        lines.append("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)).rstrip())
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
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


# --- making the change sets, through Sceptre ---------------------------------------------------

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


def describe_change_set(stack, change_set: str, timeout: float = 600, poll: float = 1.0) -> dict:
    """The change set once CloudFormation has finished making it, every page of its changes joined."""
    deadline = time.monotonic() + timeout
    while True:
        answer = stacks.call(stack, "cloudformation", "describe_change_set", StackName=stack.external_name,
                             ChangeSetName=change_set)
        if answer["Status"] in ("CREATE_COMPLETE", "FAILED"):
            page = answer
            while page.get("NextToken"):
                page = stacks.call(stack, "cloudformation", "describe_change_set", StackName=stack.external_name,
                                   ChangeSetName=change_set, NextToken=page["NextToken"])
                answer["Changes"] = answer.get("Changes", []) + page.get("Changes", [])
            return answer
        if time.monotonic() > deadline:
            raise PlanError(f"{stack.external_name}: change set {change_set} still {answer['Status']} after "
                            f"{timeout:.0f} s")
        time.sleep(poll)


def _existing_change_sets(stack) -> list[str]:
    names, kwargs = [], {"StackName": stack.external_name}
    while True:
        page = stacks.call(stack, "cloudformation", "list_change_sets", **kwargs)
        names += [c["ChangeSetName"] for c in page.get("Summaries", [])]
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def plan_stack(stack, env: str) -> StackPlan:
    """Create (or replace) this stack's change set from Sceptre's view of it and read it back."""
    from botocore.exceptions import ClientError

    name = stack.external_name
    status = stacks.status(stack)
    if status in FAILED_STATES:
        raise PlanError(recover_hint(name, status))
    if status and status.endswith("_IN_PROGRESS") and status != stacks.IN_PROGRESS_OK:
        raise PlanError(f"stack {name} is busy ({status}); wait for it to finish, then plan again")
    change_set = f"wm-plan-{name}"  # one per stack, replaced by each plan
    if status and change_set in _existing_change_sets(stack):  # a new plan replaces the last one
        stacks.call(stack, "cloudformation", "delete_change_set", StackName=name, ChangeSetName=change_set)
    arguments = stacks.change_set_arguments(stack, change_set)
    body = arguments["TemplateBody"]
    p = StackPlan(stack.name, name, "", sha(body), {k["ParameterKey"]: k["ParameterValue"]
                                                    for k in arguments["Parameters"]})
    try:
        created = stacks.call(stack, "cloudformation", "create_change_set",
                              Description=f"weekly-models plan for {env}", **arguments)
    except ClientError as err:
        message = err.response["Error"].get("Message", "")
        if any(s in message for s in NO_CHANGES):
            p.kind = "no change"
            return p
        raise PlanError(f"{name}: CloudFormation refused the change set: {message}") from None
    answer = describe_change_set(stack, created["Id"])
    if answer["Status"] == "FAILED":
        reason = answer.get("StatusReason", "")
        stacks.call(stack, "cloudformation", "delete_change_set", StackName=name, ChangeSetName=created["Id"])
        if any(s in reason for s in NO_CHANGES):
            p.kind = "no change"
            return p
        raise PlanError(f"{name}: the change set failed: {reason}")
    old = None
    if arguments["ChangeSetType"] == "UPDATE":
        old = stacks.call(stack, "cloudformation", "get_template", StackName=name,
                          TemplateStage="Original")["TemplateBody"]
        old = old if isinstance(old, dict) else read_template(old)  # CloudFormation returns JSON ones parsed
    p.kind = arguments["ChangeSetType"].lower()
    p.changes = changes_from_response(answer, old, read_template(body))
    p.change_set = answer["ChangeSetId"]
    return p


def make(root: Path, env: str) -> list[StackPlan]:
    """One StackPlan per stack of `env`, in Sceptre's launch order. A stack whose inputs come from
    stacks not deployed yet cannot have a change set (its parameter values are unknown): its plan is
    its template, every resource an Add, and the guard pins that template."""
    order = stacks.in_order(stacks.plan(root, env))
    plans = []
    for stack in order:
        ins = stacks.inputs(stack)
        missing = sorted({src for src, _ in ins.values()
                          if not stacks.deployed(stack, naming.stack_name(src))})
        if missing:
            body = stack.template.body
            plans.append(StackPlan(stack.name, stack.external_name, "from template", sha(body),
                                   {k: f"(output {out} of {src})" for k, (src, out) in sorted(ins.items())},
                                   changes_from_template(read_template(body)),
                                   note=f"planned from its template: its inputs come from {', '.join(missing)}, "
                                        "which do not exist yet; the deploy creates it after them"))
            continue
        plans.append(plan_stack(stack, env))
    return plans
