"""The steps of the cut-over that change something: secrets, switch, rollback, cleanup.

Each takes what `handbuilt.scan` found and returns the lines of what it did (or would do), in
words for the report. Each is idempotent: run twice, the second run finds its work done and
says so. None of them touches the old setup before STEP=switch, and none ever prints, logs or
writes a secret's value: values pass from the S3 object to Parameter Store in memory only.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass

from wm.config import names
from wm.config.model import Environment
from wm.cutover import handbuilt
from wm.cutover.handbuilt import OldModel, OldSetup, Unreadable
from wm.cutover.report import MARKER
from wm.operations import runs

DESCRIPTION_LIMIT = 512  # Scheduler API reference, CreateSchedule: Description, up to 512 characters
WAS = " | was: "


class Refused(Exception):
    """A step that must not run as asked: its message says why and what to do."""


def _matched(setup: OldSetup, e: Environment) -> list[OldModel]:
    return [o for o in setup.models if o.model and e.model(o.model) and o.found]


# --- STEP=secrets --------------------------------------------------------------------------

def secrets(aws, e: Environment, setup: OldSetup, overwrite: bool, word: str) -> tuple[list[str], bool]:
    """Copy each secret the models read from the old .env files into Parameter Store as a
    SecureString, only where it is not stored yet (or `overwrite`). Returns (lines, all stored)."""
    lines, complete = [], True
    ssm = aws("ssm")
    key = e.settings.secrets_kms_key_arn if e.settings else None
    files_with_tokens: dict[str, set[str]] = {}
    for name in sorted({s for m in e.models for s in m.secrets}):
        found: dict[str, list[str]] = {}   # value -> files holding it (the value is never printed)
        unread = []
        for o in _matched(setup, e):
            if name not in e.model(o.model).secrets:
                continue
            for f in o.env_files:
                if f.variables is None:
                    unread.append(f.url)
                elif name in f.variables:
                    found.setdefault(f.variables[name], []).append(f.url)
                    files_with_tokens.setdefault(f.url, set()).add(name)
        parameter = names.secret_parameter(e.name, name)
        if not found:
            complete = False
            lines.append(f"{name}: in no old .env file{' that could be read' if unread else ''}; store it with "
                         f"make secret ENV={word} NAME={name}")
            continue
        if len(found) > 1:
            complete = False
            groups = "; ".join(f"value {i} in {', '.join(files)}" for i, files in enumerate(found.values(), 1))
            lines.append(f"{name}: NOT copied: the old files hold {len(found)} different values ({groups}); "
                         f"store the right one with make secret ENV={word} NAME={name}")
            continue
        value = next(iter(found))
        problems: list[Unreadable] = []
        got = handbuilt._read(problems, f"Parameter Store {parameter}",
                              lambda parameter=parameter: ssm.get_parameter(Name=parameter, WithDecryption=True))
        if problems:
            complete = False
            lines.append(f"{name}: NOT copied: {problems[0]}")
            continue
        existing = got["Parameter"]["Value"] if got else None
        if existing is not None and hmac.compare_digest(existing.encode(), value.encode()):
            lines.append(f"{name}: {parameter} already holds the old value; nothing to do")
            continue
        if existing is not None and not overwrite:
            lines.append(f"{name}: {parameter} exists and differs from the old files: kept (a rotated token, "
                         "perhaps); OVERWRITE=yes replaces it with the old value")
            continue
        kwargs = {"KeyId": key} if key else {}
        ssm.put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=existing is not None,
                          Description=f"weekly-models {e.name} secret {name}, copied from the hand-built .env files",
                          **kwargs)
        under = f"KMS key {key}" if key else "the AWS managed key aws/ssm"
        lines.append(f"{name}: {'replaced' if existing is not None else 'stored'} {parameter} as a SecureString "
                     f"({under}) from {', '.join(found[value])} (value not shown)")
    if files_with_tokens:
        lines.append("The old tokens are still readable in plain text in S3, and still valid: rotate them (make a "
                     "new token, store it with make secret ENV=... NAME=..., revoke the old one), then STEP=cleanup "
                     "removes the files:")
        lines += [f"  {url}: {', '.join(sorted(tokens))}" for url, tokens in sorted(files_with_tokens.items())]
    return lines, complete


# --- STEP=switch and STEP=rollback ---------------------------------------------------------

def successful_run(history: list[dict], family: str) -> dict | None:
    """The latest run of the family that stopped with exit code 0, from the run history."""
    ok = [d for d in (x.get("detail", {}) for x in history)
          if d.get("group") == f"family:{family}" and d.get("lastStatus") == "STOPPED"
          and d.get("stopCode") == "EssentialContainerExited"
          and all(c.get("exitCode") == 0 for c in d.get("containers", [{}]))]
    return max(ok, key=lambda d: d.get("stoppedAt") or "", default=None)


def _update(aws, schedule: dict, state: str, description: str) -> None:
    """UpdateSchedule replaces the whole schedule, so everything it had is sent back (Scheduler API
    reference, UpdateSchedule); a StartDate already past is left out, since Scheduler refuses one
    more than 5 minutes ago, and without it the schedule starts at once: the same thing."""
    keep = ("Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "EndDate", "KmsKeyArn",
            "FlexibleTimeWindow", "Target", "ActionAfterCompletion")
    request = {k: schedule[k] for k in keep if schedule.get(k) is not None}
    start = schedule.get("StartDate")
    if start is not None and start > dt.datetime.now(dt.UTC):
        request["StartDate"] = start
    aws("scheduler").update_schedule(**request, State=state, Description=description[:DESCRIPTION_LIMIT])


def _new_schedule(aws, e: Environment, model: str) -> dict | None:
    problems: list[Unreadable] = []
    return handbuilt._read(problems, "new schedule", lambda: aws("scheduler").get_schedule(
        Name=names.schedule_name(e.name, model), GroupName=names.schedule_group(e.name)))


def switch(aws, e: Environment, setup: OldSetup, only: str | None, force: bool, now: dt.datetime, word: str) -> tuple[list[str], int]:
    """Disable (never delete) the old schedule of each model whose new setup has a successful run
    in its run history (or `force`). Returns (lines, how many were refused)."""
    history = runs._history(aws, e.name)
    lines, refused = [], 0
    for o in _matched(setup, e):
        if only and o.model != only:
            continue
        where = f"{handbuilt.SCHEDULE_GROUP}/{o.family}"
        if not o.schedule:
            lines.append(f"{o.model}: no old schedule {where}; nothing to disable")
            continue
        if o.schedule["State"] == "DISABLED":
            how = "by an earlier STEP=switch" if MARKER in (o.schedule.get("Description") or "") else \
                "already, not by make migrate (left as it is)"
            lines.append(f"{o.model}: old schedule {where} is disabled {how}")
            continue
        new = _new_schedule(aws, e, o.model)
        ok = successful_run(history, names.family(e.name, o.model))
        if new is None and not force:
            refused += 1
            lines.append(f"{o.model}: REFUSED: its new schedule is not deployed in {word}: make deploy ENV={word} first")
            continue
        if ok is None and not force:
            refused += 1
            lines.append(f"{o.model}: REFUSED: no successful run of the new setup in its run history "
                         f"({names.run_history_log_group(e.name)}) yet. Start one (make run ENV={word} "
                         f"MODEL={o.model}), wait for exit 0 (make status ENV={word}), then switch; "
                         "or FORCE=yes to switch without one")
            continue
        evidence = (f"after the successful run {ok.get('taskArn', '?').rsplit('/', 1)[-1]} "
                    f"(stopped {ok.get('stoppedAt', '?')})" if ok else "without a successful run (FORCE=yes)")
        text = (f"{MARKER} disabled {now:%Y-%m-%dT%H:%MZ} by make migrate STEP=switch ENV={word} {evidence}; "
                f"STEP=rollback enables it{WAS}{o.schedule.get('Description') or ''}")
        _update(aws, o.schedule, "DISABLED", text)
        lines.append(f"{o.model}: disabled the old schedule {where} {evidence}")
        if new is not None and new.get("State") != "ENABLED":
            lines.append(f"  warning: the new schedule {names.schedule_name(e.name, o.model)} is {new.get('State')}, "
                         f"so nothing starts {o.model} on a schedule now (schedule_state in config/{e.name}/config.yaml)")
    return lines, refused


def rollback(aws, e: Environment, setup: OldSetup, only: str | None) -> list[str]:
    """Enable again each old schedule that STEP=switch disabled, with its old description."""
    lines = []
    for o in setup.models:
        if only and o.model != only:
            continue
        s = o.schedule
        if not s or MARKER not in (s.get("Description") or ""):
            continue
        if s["State"] == "ENABLED":
            continue
        original = s["Description"].split(WAS, 1)[1] if WAS in s["Description"] else ""
        _update(aws, s, "ENABLED", original)
        lines.append(f"{o.model or o.family}: enabled the old schedule {handbuilt.SCHEDULE_GROUP}/{o.family} again")
        new = _new_schedule(aws, e, o.model) if o.model else None
        if new is not None and new.get("State") == "ENABLED":
            lines.append(f"  warning: the new schedule {names.schedule_name(e.name, o.model)} is ENABLED too, so both "
                         f"setups start {o.model}: set its schedule_state to DISABLED (models/{o.model}.yaml) and "
                         "deploy, unless that is what you want")
    return lines or ["nothing to roll back: no old schedule is disabled by STEP=switch"]


# --- STEP=cleanup --------------------------------------------------------------------------

@dataclass
class Action:
    what: str
    command: str              # the AWS CLI command that does the same, for the person to read
    run: object = None        # a function that does it; None when blocked
    blocked: str = ""         # why it is not done

    def line(self) -> str:
        return f"{self.what}: KEPT ({self.blocked})" if self.blocked else f"{self.what}\n    {self.command}"


def cleanup_actions(aws, e: Environment, setup: OldSetup, word: str) -> list[Action]:
    """What is left of the hand-built setup to remove, each with its command; blocked where a
    model has not been switched or something else still uses it."""
    actions: list[Action] = []
    matched = _matched(setup, e)
    unswitched = [o for o in matched if o.schedule and o.schedule["State"] == "ENABLED"]
    kept_old = [o for o in setup.models if o.found and (not o.model or not e.model(o.model))]
    scheduler, ecs, s3, logs = aws("scheduler"), aws("ecs"), aws("s3"), aws("logs")
    for o in matched:
        blocked = f"its old schedule is still ENABLED: make migrate ENV={word} STEP=switch first" \
            if o in unswitched else ""
        if o.schedule:
            actions.append(Action(f"delete the old schedule {handbuilt.SCHEDULE_GROUP}/{o.family}",
                                  f"aws scheduler delete-schedule --name {o.family} --group-name {handbuilt.SCHEDULE_GROUP}",
                                  lambda o=o: scheduler.delete_schedule(Name=o.family, GroupName=handbuilt.SCHEDULE_GROUP),
                                  blocked))
        for arn in o.revisions:
            actions.append(Action(f"deregister {arn.rsplit('/', 1)[-1]}",
                                  f"aws ecs deregister-task-definition --task-definition {arn}",
                                  lambda arn=arn: ecs.deregister_task_definition(taskDefinition=arn), blocked))
        for f in o.env_files:
            where = handbuilt.s3_location(f.arn)
            users = setup.env_file_users.get(f.arn, [])
            if f.missing:
                continue  # named by the task definition, but not there: nothing to remove
            why = blocked or (f"still used by {', '.join(users)}" if users else "") or \
                ("" if where else "not an S3 object ARN")
            actions.append(Action(f"delete {f.url} (rotate the tokens it held first: the file going does not "
                                  "revoke them)", f"aws s3 rm {f.url}",
                                  (lambda where=where: s3.delete_object(Bucket=where[0], Key=where[1])) if where else None,
                                  why))
        if o.log_group:
            group = o.log_group["logGroupName"]
            actions.append(Action(f"delete the log group {group} (its history goes with it)",
                                  f"aws logs delete-log-group --log-group-name {group}",
                                  lambda group=group: logs.delete_log_group(logGroupName=group), blocked))
    shared_block = ""
    if unswitched:
        shared_block = f"old schedules still ENABLED: {', '.join(o.family for o in unswitched)}"
    elif kept_old:
        shared_block = f"hand-built models with no model here still use it: {', '.join(o.family for o in kept_old)}"
    kept_uses = {f"task definition {o.family}" for o in kept_old} | {f"schedule {o.family}" for o in kept_old}
    for r in setup.roles:
        if not r.exists:
            continue
        users = r.used_by_others + [u for u in r.used_by_old if u in kept_uses]
        why = shared_block or (f"still used by {', '.join(users)}" if users else "")
        actions.append(Action(f"delete the IAM role {r.name}",
                              f"aws iam list-attached-role-policies / detach-role-policy, delete-role-policy, then "
                              f"aws iam delete-role --role-name {r.name}",
                              lambda r=r: _delete_role(aws("iam"), r.name), why))
    ec2 = aws("ec2")
    for g in setup.security_groups:
        for rule in g.open_rules:
            permission = _open_part(rule)
            blocking = g.blocking(rule)
            # An open SSH rule serves no Fargate task, the old ones included: it may go before the switch.
            why = "" if handbuilt.opens_ssh(rule) else (shared_block if g.used_by_old else "")
            why = why or (f"still used by {', '.join(blocking)}: revoke it by hand once you know what they are"
                          if blocking else "")
            actions.append(Action(f"revoke the inbound rule {_port_words(rule)} from anywhere of {g.id} ({g.name})",
                                  f"aws ec2 revoke-security-group-ingress --group-id {g.id} --ip-permissions "
                                  f"'{json.dumps([permission], sort_keys=True)}'",
                                  lambda g=g, p=permission: ec2.revoke_security_group_ingress(GroupId=g.id, IpPermissions=[p]),
                                  why))
    if setup.cluster:
        why = shared_block or (f"still used by {', '.join(setup.cluster_users)}" if setup.cluster_users else "")
        actions.append(Action(f"delete the ECS cluster {handbuilt.CLUSTER}",
                              f"aws ecs delete-cluster --cluster {handbuilt.CLUSTER}",
                              lambda: ecs.delete_cluster(cluster=handbuilt.CLUSTER), why))
    return actions


def _open_part(rule: dict) -> dict:
    """The part of an ingress permission that is open to anywhere (the rest is left alone)."""
    part = {k: rule[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in rule}
    v4 = [{"CidrIp": x["CidrIp"]} for x in rule.get("IpRanges", []) if x.get("CidrIp") in handbuilt.ANYWHERE]
    v6 = [{"CidrIpv6": x["CidrIpv6"]} for x in rule.get("Ipv6Ranges", []) if x.get("CidrIpv6") in handbuilt.ANYWHERE]
    if v4:
        part["IpRanges"] = v4
    if v6:
        part["Ipv6Ranges"] = v6
    return part


def _port_words(rule: dict) -> str:
    from wm.cutover.report import _ports

    return _ports(rule)


def _delete_role(iam, name: str) -> None:
    """IAM refuses DeleteRole while policies or instance profiles are attached (IAM API reference, DeleteRole)."""
    for p in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    for p in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    for ip in iam.list_instance_profiles_for_role(RoleName=name).get("InstanceProfiles", []):
        iam.remove_role_from_instance_profile(InstanceProfileName=ip["InstanceProfileName"], RoleName=name)
    iam.delete_role(RoleName=name)


def cleanup(actions: list[Action], confirm: bool) -> list[str]:
    """The actions as lines; with `confirm`, each one that is not blocked is run."""
    todo = [a for a in actions if not a.blocked]
    if not actions:
        return ["nothing of the hand-built setup is left to remove"]
    if not confirm:
        lines = [a.line() for a in actions]
        lines.append(f"{len(todo)} to remove, {len(actions) - len(todo)} kept. Nothing was changed: "
                     "run again with CONFIRM=yes to remove them.")
        return lines
    lines = []
    for a in actions:
        if a.blocked:
            lines.append(a.line())
            continue
        a.run()
        lines.append(f"done: {a.what}")
    return lines
