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

from botocore.exceptions import ClientError

from wm.config import names
from wm.config.model import Environment
from wm.cutover import handbuilt
from wm.cutover.handbuilt import MARKER, OldModel, OldSetup, Unreadable
from wm.operations import runs

DESCRIPTION_LIMIT = 512  # Scheduler API reference, CreateSchedule: Description, up to 512 characters
WAS = " | was: "


class Refused(Exception):
    """A step that must not run as asked: its message says why and what to do."""


def _refusal(err: ClientError) -> str:
    """AWS's refusal in its own words: code and message."""
    return f"{err.response['Error'].get('Code')}: {err.response['Error'].get('Message')}"


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
        found: dict[str, list[str]] = {}   # value -> where the container got it (never printed)
        unread = []
        for o in _matched(setup, e):
            if name not in e.model(o.model).secrets:
                continue
            unread += [f.url for f in o.env_files if f.variables is None]
            effective, _ = o.environment()  # what the old container got: the task definition's value wins
            if name in effective:
                value, where = effective[name]
                found.setdefault(value, []).append(where)
        parameter = names.secret_parameter(e.name, name)
        if not found and _exists(ssm, parameter):
            lines.append(f"{name}: {parameter} is stored; no old .env file holds it any more, nothing to do")
            continue
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
        if not value:
            complete = False
            lines.append(f"{name}: NOT copied: the old value is empty, and Parameter Store refuses an empty value; "
                         f"store one with make secret ENV={word} NAME={name}")
            continue
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
        try:
            ssm.put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=existing is not None,
                              Description=f"weekly-models {e.name} secret {name}, copied from the hand-built .env files",
                              **kwargs)
        except ClientError as err:  # its code only: a message could quote the request
            complete = False
            lines.append(f"{name}: NOT copied: AWS refused PutParameter ({err.response['Error'].get('Code')})")
            continue
        under = f"KMS key {key}" if key else "the AWS managed key aws/ssm"
        lines.append(f"{name}: {'replaced' if existing is not None else 'stored'} {parameter} as a SecureString "
                     f"({under}) from {', '.join(found[value])} (value not shown)")
    for o in _matched(setup, e):  # every token still in plain text: the contract's and what looks like one
        for f in o.env_files:
            tokens = {k for k, v in (f.variables or {}).items() if k in _all_secrets(e) or handbuilt.looks_secret(k, v)}
            if tokens:
                files_with_tokens.setdefault(f.url, set()).update(tokens)
    if files_with_tokens:
        lines.append("The old tokens are still readable in plain text in S3, and still valid: rotate them (make a "
                     "new token, store it with make secret ENV=... NAME=..., revoke the old one), then STEP=cleanup "
                     "removes the files:")
        lines += [f"  {url}: {', '.join(sorted(tokens))}" for url, tokens in sorted(files_with_tokens.items())]
    return lines, complete


def _all_secrets(e: Environment) -> set[str]:
    return {s for m in e.models for s in m.secrets}


def _exists(ssm, parameter: str) -> bool:
    try:
        ssm.get_parameter(Name=parameter)
        return True
    except ClientError:
        return False


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
    """The deployed new schedule, None when it is not deployed; a refusal to read it is raised."""
    problems: list[Unreadable] = []
    got = handbuilt._read(problems, f"the new schedule {names.schedule_name(e.name, model)}", lambda: aws(
        "scheduler").get_schedule(Name=names.schedule_name(e.name, model), GroupName=names.schedule_group(e.name)))
    if problems:
        raise Refused(str(problems[0]))
    return got


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
        try:
            new = _new_schedule(aws, e, o.model)
        except Refused as err:
            refused += 1
            lines.append(f"{o.model}: REFUSED: {err}")
            continue
        ok = successful_run(history, names.family(e.name, o.model))
        configured = e.model(o.model).state
        if new is None:  # FORCE never overrides this: the model would have no schedule at all
            refused += 1
            lines.append(f"{o.model}: REFUSED: its new schedule is not deployed in {word}: make deploy ENV={word} first")
            continue
        if new.get("State") != "ENABLED" and configured == "ENABLED" and not force:
            refused += 1
            lines.append(f"{o.model}: REFUSED: its new schedule is {new.get('State')} in AWS although the "
                         f"configuration enables it, so nothing would start it: make deploy ENV={word} first "
                         "(or FORCE=yes)")
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
        if len(text) > DESCRIPTION_LIMIT:
            lines.append(f"  note: {where}'s description does not fit beside the switch's note: rollback restores its "
                         f"first {DESCRIPTION_LIMIT - len(text) + len(o.schedule.get('Description') or '')} characters "
                         f"(the whole text was: {o.schedule.get('Description')!r})")
        try:
            _update(aws, o.schedule, "DISABLED", text)
        except ClientError as err:
            refused += 1
            lines.append(f"{o.model}: FAILED to disable {where}: {_refusal(err)}")
            continue
        lines.append(f"{o.model}: disabled the old schedule {where} {evidence}")
        if new.get("State") != "ENABLED":
            lines.append(f"  note: the new schedule {names.schedule_name(e.name, o.model)} is {new.get('State')} by "
                         f"the configuration (schedule_state), so nothing starts {o.model} on a schedule now")
    return lines, refused


def rollback(aws, e: Environment, setup: OldSetup, only: str | None) -> tuple[list[str], int]:
    """Enable again each old schedule that STEP=switch disabled, with its old description.
    Returns (lines, how many could not be enabled)."""
    lines, failed = [], 0
    for o in setup.models:
        if only and o.model != only:
            continue
        s = o.schedule
        if not s or MARKER not in (s.get("Description") or ""):
            continue
        if s["State"] == "ENABLED":
            continue
        original = s["Description"].split(WAS, 1)[1] if WAS in s["Description"] else ""
        try:
            _update(aws, s, "ENABLED", original)
        except ClientError as err:
            failed += 1
            lines.append(f"{o.model or o.family}: FAILED to enable {handbuilt.SCHEDULE_GROUP}/{o.family}: "
                         f"{_refusal(err)}")
            continue
        lines.append(f"{o.model or o.family}: enabled the old schedule {handbuilt.SCHEDULE_GROUP}/{o.family} again")
        try:
            new = _new_schedule(aws, e, o.model) if o.model and e.model(o.model) else None
        except Refused:
            new = None
        if new is not None and new.get("State") == "ENABLED":
            lines.append(f"  warning: the new schedule {names.schedule_name(e.name, o.model)} is ENABLED too, so both "
                         f"setups start {o.model}: set its schedule_state to DISABLED (models/{o.model}.yaml) and "
                         "deploy, unless that is what you want")
    return lines or ["nothing to roll back: no old schedule is disabled by STEP=switch (after STEP=cleanup "
                     "there is nothing left to roll back to)"], failed


# --- STEP=cleanup --------------------------------------------------------------------------

@dataclass
class Action:
    what: str
    command: str              # the AWS CLI command that does the same, for the person to read
    run: object = None        # a function that does it; None when blocked
    blocked: str = ""         # why it is not done
    family: str | None = None  # the old model it belongs to; None: shared

    def line(self) -> str:
        return f"{self.what}: KEPT ({self.blocked})" if self.blocked else f"{self.what}\n    {self.command}"


def cleanup_actions(aws, e: Environment, setup: OldSetup, word: str) -> list[Action]:
    """What is left of the hand-built setup to remove, each with its command; blocked where a
    model has not been switched or something else still uses it. Never the cluster (FACTS: it
    holds the lab's other task definitions), the bucket or the account's default execution role:
    only what the old models named. The schedules and task definitions, which the scan finds the
    rest through, go last, so that a cleanup AWS stopped half-way finds what is left when run again."""
    first: list[Action] = []
    last: list[Action] = []
    matched = _matched(setup, e)
    unswitched = [o for o in matched if o.schedule and o.schedule["State"] == "ENABLED"]
    kept_old = [o for o in setup.models if o.found and (not o.model or not e.model(o.model))]
    scheduler, ecs, s3, logs = aws("scheduler"), aws("ecs"), aws("s3"), aws("logs")
    # What hand-built models that stay (no model here replaces them) still use.
    kept_files = {f.arn: f"task definition {o.family}" for o in kept_old for f in o.env_files}
    kept_groups = {o.log_group["logGroupName"]: f"task definition {o.family}" for o in kept_old if o.log_group}
    for o in matched:
        blocked = f"its old schedule is still ENABLED: make migrate ENV={word} STEP=switch first" \
            if o in unswitched else ""
        for f in o.env_files:
            where = handbuilt.s3_location(f.arn)
            if not where:
                continue
            users = setup.env_file_users.get(f.arn, []) + ([kept_files[f.arn]] if f.arn in kept_files else [])
            why = blocked or (f"still used by {', '.join(users)}" if users else "")
            action = _env_file_action(s3, f.url, where, why, f.missing)
            if action:
                action.family = o.family
                first.append(action)
        if o.log_group:
            group = o.log_group["logGroupName"]
            users = setup.log_group_users.get(group, []) + ([kept_groups[group]] if group in kept_groups else [])
            why = blocked or (f"still used by {', '.join(users)}" if users else "")
            first.append(Action(f"delete the log group {group} (its history goes with it)",
                                f"aws logs delete-log-group --log-group-name {group}",
                                lambda group=group: logs.delete_log_group(logGroupName=group), why, o.family))
        if o.schedule:
            last.append(Action(f"delete the old schedule {handbuilt.SCHEDULE_GROUP}/{o.family}",
                               f"aws scheduler delete-schedule --name {o.family} --group-name {handbuilt.SCHEDULE_GROUP}",
                               lambda o=o: scheduler.delete_schedule(Name=o.family, GroupName=handbuilt.SCHEDULE_GROUP),
                               blocked, o.family))
        for arn in o.revisions:
            last.append(Action(f"deregister {arn.rsplit('/', 1)[-1]}",
                               f"aws ecs deregister-task-definition --task-definition {arn}",
                               lambda arn=arn: ecs.deregister_task_definition(taskDefinition=arn), blocked, o.family))
    shared_block = ""
    if unswitched:
        shared_block = f"old schedules still ENABLED: {', '.join(o.family for o in unswitched)}"
    kept_uses = {f"task definition {o.family}" for o in kept_old} | {f"schedule {o.family}" for o in kept_old}
    iam = aws("iam")
    for r in setup.roles:
        if not r.exists or not r.used_by_old:
            continue  # only a role the old models name
        users = r.used_by_others + [u for u in r.used_by_old if u in kept_uses]
        why = shared_block or (f"still used by {', '.join(users)}" if users else "")
        if not why and r.name == handbuilt.EXECUTION_ROLE:
            # IAM is global and this is the console's default role: another region's or service's
            # use cannot be ruled out from here.
            why = "the account's default ECS execution role: delete it by hand once nothing in any region uses it"
        if not why and r.last_used_region and r.last_used_region != e.region:
            why = f"last used in {r.last_used_region}, where this scan does not look: something else uses it"
        policies: tuple[list[str], list[str]] = ([], [])
        if not why:
            try:
                policies = _role_policies(iam, r.name)
            except ClientError as err:
                why = f"its policies could not be listed ({err.response['Error'].get('Code')})"
        command = " && ".join([*(f"aws iam detach-role-policy --role-name {r.name} --policy-arn {p}" for p in policies[0]),
                               *(f"aws iam delete-role-policy --role-name {r.name} --policy-name {p}" for p in policies[1]),
                               f"aws iam delete-role --role-name {r.name}"])
        first.append(Action(f"delete the IAM role {r.name}", command,
                            lambda r=r, p=policies: _delete_role(iam, r.name, p), why))
    ec2 = aws("ec2")
    for g in setup.security_groups:
        if not g.used_by_old:
            continue  # not the hand-built setup's group: left alone (the report says so)
        for rule in g.open_rules:
            if not handbuilt.opens_ssh(rule):
                continue  # FACTS names the SSH rule; another open port may serve something
            blocking = g.blocking(rule)
            why = f"still used by {', '.join(blocking)}: revoke it by hand once you know what they are" if blocking else ""
            permission = _open_part(rule)
            first.append(Action(f"revoke the inbound rule {handbuilt.ports(rule)} from anywhere of {g.id} ({g.name})",
                                f"aws ec2 revoke-security-group-ingress --group-id {g.id} --ip-permissions "
                                f"'{json.dumps([permission], sort_keys=True)}'",
                                lambda g=g, p=permission: ec2.revoke_security_group_ingress(GroupId=g.id, IpPermissions=[p]),
                                why))
    return first + last


def _versions(s3, bucket: str, key: str) -> list[dict]:
    """Every version and delete marker of exactly `key` (ListObjectVersions pages by 1,000)."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        out += [v for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])] if v["Key"] == key]
    return out


def _env_file_action(s3, url: str, where: tuple[str, str], why: str, missing: bool) -> Action | None:
    """Delete an .env object; in a versioned bucket every version, or the tokens stay readable in the
    older ones (S3 user guide, "Deleting object versions": a delete without a version ID only adds
    a delete marker). None when there is nothing to delete."""
    bucket, key = where
    try:
        versioned = s3.get_bucket_versioning(Bucket=bucket).get("Status") in ("Enabled", "Suspended")
    except ClientError as err:
        if missing:
            return None
        return Action(f"delete {url}", f"aws s3 rm {url}", None,
                      why or f"its bucket's versioning could not be read ({err.response['Error'].get('Code')})")
    if versioned:
        try:
            found = _versions(s3, bucket, key)
        except ClientError as err:
            return Action(f"delete every version of {url}", "aws s3api list-object-versions ...", None,
                          why or f"its versions could not be listed ({err.response['Error'].get('Code')})")
        if not found:
            return None

        def run():
            for v in _versions(s3, bucket, key):
                s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])
        return Action(f"delete every version of {url} ({len(found)}; rotate the tokens it held first)",
                      f"aws s3api list-object-versions --bucket {bucket} --prefix {key}, then aws s3api "
                      f"delete-object --bucket {bucket} --key {key} --version-id <each>", run, why)
    if missing:
        return None
    return Action(f"delete {url} (rotate the tokens it held first: the file going does not revoke them)",
                  f"aws s3 rm {url}", lambda: s3.delete_object(Bucket=bucket, Key=key), why)


def _role_policies(iam, name: str) -> tuple[list[str], list[str]]:
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])]
    inline = list(iam.list_role_policies(RoleName=name).get("PolicyNames", []))
    return attached, inline


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


def _delete_role(iam, name: str, policies: tuple[list[str], list[str]]) -> None:
    """IAM refuses DeleteRole while policies or instance profiles are attached (IAM API reference, DeleteRole)."""
    for arn in policies[0]:
        iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    for policy in policies[1]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for ip in iam.list_instance_profiles_for_role(RoleName=name).get("InstanceProfiles", []):
        iam.remove_role_from_instance_profile(InstanceProfileName=ip["InstanceProfileName"], RoleName=name)
    iam.delete_role(RoleName=name)


def cleanup(actions: list[Action], confirm: bool) -> tuple[list[str], bool]:
    """The actions as lines; with `confirm`, each one that is not blocked is run, and one AWS refuses
    is said and the rest go on. Returns (lines, all that were to be done were done)."""
    todo = [a for a in actions if not a.blocked]
    if not actions:
        return ["nothing of the hand-built setup is left to remove"], True
    if not confirm:
        lines = [a.line() for a in actions]
        lines.append(f"{len(todo)} to remove, {len(actions) - len(todo)} kept. Nothing was changed: "
                     "run again with CONFIRM=yes to remove them.")
        return lines, True
    lines, ok = [], True
    for a in actions:
        if a.blocked:
            lines.append(a.line())
            continue
        try:
            a.run()
        except ClientError as err:
            ok = False
            lines.append(f"FAILED: {a.what}: {_refusal(err)}")
            continue
        lines.append(f"done: {a.what}")
    return lines, ok
