"""`make migrate`: the hand-built setup side by side with what this repository declares.

For each model: image, size, platform, capacity and logging; every environment variable by
name (plain values shown, secret values never: only whether the old value matches the one in
Parameter Store); the schedule with its next three runs old and new, and the first date in the
coming year on which they part; and what becomes of each old resource. The declared side is
read from the rendered templates, so it is exactly what a deploy creates.

`compare()` returns a `Report`; `markdown()` words it. A report `fails` when it finds a
difference that changes what a model does, a hand-built model with no model here, or
something it could not read: the exit code is then EXIT_DIFFERENCES.
"""

from __future__ import annotations

import datetime as dt
import hmac
import itertools
import zoneinfo
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from generators import render
from wm.config import names
from wm.config.model import Environment, Model
from wm.config.schedules import ScheduleError, next_runs
from wm.config.yaml import read_template
from wm.cutover import handbuilt
from wm.cutover.handbuilt import MARKER, OldModel, OldSetup, Unreadable

EXIT_DIFFERENCES = 20
SAME, DIFFERS, ONLY_OLD, ONLY_NEW, NOTE = "same", "DIFFERS", "ONLY IN OLD", "ONLY IN NEW", "note"
HORIZON = dt.timedelta(days=366)     # how far ahead old and new run times are compared
UNKNOWN = "(unknown: an old .env file could not be read)"
NOT_COMPARED = "not compared (the Summary names the file)"


@dataclass
class Line:
    what: str
    old: str
    new: str
    verdict: str = SAME
    why: str = ""
    changes_behaviour: bool = False


@dataclass
class ModelReport:
    name: str                    # the model here, or the old family when there is none
    old: OldModel | None
    model: Model | None
    lines: list[Line] = field(default_factory=list)
    variables: list[Line] = field(default_factory=list)
    schedule: list[Line] = field(default_factory=list)
    runs: tuple[list[str], list[str]] = ([], [])
    fates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failing(self) -> list[Line]:
        return [x for x in (*self.lines, *self.variables, *self.schedule) if x.changes_behaviour]


@dataclass
class Report:
    env: str
    where: str
    now: dt.datetime
    setup: OldSetup
    models: list[ModelReport]
    shared: list[str]
    word: str = ""                                 # ENV as the person wrote it (local, dev, prod)
    done: list[str] = field(default_factory=list)  # what the STEPs did so far, from the journal

    @property
    def unreadable(self) -> list[Unreadable]:
        return self.setup.unreadable

    @property
    def fails(self) -> bool:
        return bool(self.unreadable) or any(m.failing for m in self.models)


def declared(e: Environment, model: Model) -> dict:
    """The model stack's resources as rendered: TaskDefinition, Schedule, LogGroup properties."""
    resources = read_template(render(e.stacks[f"{e.name}/models/{model.name}"]))["Resources"]
    return {k: resources[k]["Properties"] for k in ("TaskDefinition", "Schedule", "LogGroup")}


def _line(what: str, old, new, why: str = "", behaviour: bool = True) -> Line:
    old, new = ("(not set)" if old in (None, "") else str(old)), ("(not set)" if new in (None, "") else str(new))
    if old == new:
        return Line(what, old, new)
    return Line(what, old, new, DIFFERS if behaviour else NOTE, why, behaviour)


def _capacity(schedule: dict | None) -> str | None:
    if not schedule:
        return None
    p = schedule.get("Target", {}).get("EcsParameters", {})
    strategy = p.get("CapacityProviderStrategy")
    if strategy:
        return ", ".join(c.get("capacityProvider") or c.get("CapacityProvider") for c in strategy)
    return p.get("LaunchType")


def _logging(container: dict, keys: tuple[str, ...]) -> str:
    conf = container.get("logConfiguration") or container.get("LogConfiguration") or {}
    options = conf.get("options") or conf.get("Options") or {}
    driver = conf.get("logDriver") or conf.get("LogDriver")
    return ", ".join([str(driver), *(f"{k}={options[k]}" for k in keys if k in options)]) if driver else "(none)"


def _machine(old: OldModel, new: dict, model: Model) -> list[Line]:
    td, c = old.task_definition or {}, old.container
    ntd = new["TaskDefinition"]
    nc = ntd["ContainerDefinitions"][0]
    platform = lambda p: f"{p.get('operatingSystemFamily') or p.get('OperatingSystemFamily')}/" \
        f"{p.get('cpuArchitecture') or p.get('CpuArchitecture')}" if p else "LINUX/X86_64"  # AWS's default  # noqa: E731
    keys = ("awslogs-stream-prefix", "mode", "max-buffer-size")
    return [
        _line("image", c.get("image"), nc["Image"], "the new setup runs another image"),
        _line("cpu (units)", td.get("cpu"), ntd["Cpu"], "another size"),
        _line("memory (MiB)", td.get("memory"), ntd["Memory"], "another size"),
        _line("platform", platform(td.get("runtimePlatform")), platform(ntd.get("RuntimePlatform")),
              "another CPU architecture or operating system"),
        _line("capacity", _capacity(old.schedule), model.capacity,
              "Fargate Spot can be interrupted (the failure alert says so); on-demand cannot", behaviour=False),
        _line("logging", _logging(c, keys), _logging(nc, keys), behaviour=False),
        _line("log group", c.get("logConfiguration", {}).get("options", {}).get("awslogs-group"),
              new["LogGroup"]["LogGroupName"], "a new name: the old history stays in the old group", behaviour=False),
    ]


def _parameter(aws, problems: list[Unreadable], name: str) -> str | None:
    got = handbuilt._read(problems, f"Parameter Store {name}",
                          lambda: aws("ssm").get_parameter(Name=name, WithDecryption=True))
    return got["Parameter"]["Value"] if got else None


def _variables(aws, old: OldModel, new: dict, e: Environment, model: Model, problems, word: str) -> tuple[list[Line], list[str]]:
    olds, notes = old.environment()
    for f in old.env_files:
        notes += [f"{f.url}: {p}" for p in f.problems]
    nc = new["TaskDefinition"]["ContainerDefinitions"][0]
    plain = {x["Name"]: x["Value"] for x in nc.get("Environment", [])}
    secret = {x["Name"] for x in nc.get("Secrets", [])}
    readable = all(f.variables is not None for f in old.env_files)
    lines = []
    for name in sorted({*olds, *plain, *secret, *old.secrets}):
        source = model.sources.get(f"variables.{name}")
        where = f" ({source})" if source else ""
        declared_plain = ({k for m in e.models for k, _ in m.variables} | set(handbuilt.CONTRACT_PLAIN)) - _secrets(e)
        if name in secret:
            stored = names.secret_parameter(e.name, name)
            if name in old.secrets:
                lines.append(Line(name, f"secret from {old.secrets[name]}", f"secret {stored}", NOTE,
                                  "the old setup already read it from a store: check both hold the same token"))
            elif name not in olds and not readable:
                lines.append(Line(name, UNKNOWN, f"secret {stored}", NOTE, NOT_COMPARED))
            elif name not in olds:
                lines.append(Line(name, "(not set)", f"secret {stored}", ONLY_NEW,
                                  "the new setup reads a secret the old one did not set", True))
            else:
                value = _parameter(aws, problems, stored)
                if value is None:
                    lines.append(Line(name, f"plain text in {olds[name][1]} (value not shown)", f"secret {stored}: not stored yet",
                                      DIFFERS, f"a new run cannot start without it: make migrate ENV={word} "
                                      "STEP=secrets", True))
                elif hmac.compare_digest(value.encode(), olds[name][0].encode()):
                    lines.append(Line(name, f"plain text in {olds[name][1]} (value not shown)",
                                      f"secret {stored} (value not shown)", SAME, "the same value"))
                else:
                    lines.append(Line(name, f"plain text in {olds[name][1]} (value not shown)",
                                      f"secret {stored} (value not shown)", NOTE,
                                      "the values differ: right only if a new (rotated) token was stored"))
        elif name in plain:
            new_value = plain[name]
            if name not in olds and not readable:
                lines.append(Line(name, UNKNOWN, _shown(name, new_value, declared_plain | {name}) + where, NOTE, NOT_COMPARED))
            elif name not in olds:
                lines.append(Line(name, "(not set)", _shown(name, new_value, declared_plain | {name}) + where, ONLY_NEW,
                                  "the new setup sets a variable the old one did not", True))
            elif olds[name][0] == new_value:
                lines.append(Line(name, _shown(name, olds[name][0], declared_plain), _shown(name, new_value, declared_plain | {name}) + where))
            else:
                why = ("the code still holds a placeholder: the old value is the one to set"
                       if new_value.startswith("PLACEHOLDER(") else "another value")
                lines.append(Line(name, _shown(name, olds[name][0], declared_plain), _shown(name, new_value, declared_plain | {name}) + where,
                                  DIFFERS, why, True))
        elif name in old.secrets:
            lines.append(Line(name, f"secret from {old.secrets[name]}", "(not set)", ONLY_OLD,
                              "the old setup gives the container this secret and the new one does not", True))
        else:
            lines.append(Line(name, f"{_shown(name, olds[name][0], declared_plain)} from {olds[name][1]}", "(not set)", ONLY_OLD,
                              "the new setup would run without it: add it to the model's variables (or secrets), "
                              "or make sure it is not needed", True))
    return lines, notes


def _shown(name: str, value: str, plain: set[str] = frozenset()) -> str:
    """An old value as the report shows it: in clear only for a variable the code declares as plain
    (or the container contract's plain ones) and that does not look like a token; any other only by
    its length, since an undeclared variable may be anything."""
    if name in plain and not handbuilt.looks_secret(name, value):
        return repr(value)
    return f"(set, {len(value)} characters; not shown: it may be a secret)"


def _runs(expr: str, tz: str, now: dt.datetime, start, end, until: dt.datetime) -> list[dt.datetime]:
    """Every start time from now until `until`, within the schedule's own StartDate and EndDate."""
    ends = [x for x in (_aware(end), until) if x]
    return next_runs(expr, tz, now, 1000, start=_aware(start), end=min(ends))


def _aware(value) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _when(t: dt.datetime, lab: zoneinfo.ZoneInfo) -> str:
    return f"{t.astimezone(lab):%a %Y-%m-%d %H:%M %Z} ({t.astimezone(dt.UTC):%H:%M} UTC)"


def _schedule(old: OldModel, new: dict, e: Environment, now: dt.datetime) -> tuple[list[Line], tuple, list[str]]:
    s, n = old.schedule, new["Schedule"]
    lab = zoneinfo.ZoneInfo(e.lab_timezone)
    if not s:
        return [Line("schedule", f"(none: no schedule {handbuilt.SCHEDULE_GROUP}/{old.family})", n["ScheduleExpression"],
                     NOTE, "nothing ran this model on a schedule before")], ([], []), []
    window = lambda w: "OFF" if (w or {}).get("Mode") == "OFF" else \
        f"FLEXIBLE, up to {(w or {}).get('MaximumWindowInMinutes')} min"  # noqa: E731
    old_tz, new_tz = s.get("ScheduleExpressionTimezone") or "UTC", n.get("ScheduleExpressionTimezone") or "UTC"
    old_state = s.get("State", "ENABLED")
    if old_state == "DISABLED" and MARKER in (s.get("Description") or ""):
        old_state = "DISABLED (by make migrate STEP=switch)"
    lines = [
        _line("expression", s["ScheduleExpression"], n["ScheduleExpression"], behaviour=False),
        _line("time zone", old_tz, new_tz, behaviour=False),
        _line("state", old_state, n.get("State", "ENABLED"), behaviour=False,
              why="the new schedule is enabled by the environment's schedule_state; the old one until STEP=switch"),
        _line("flexible window", window(s.get("FlexibleTimeWindow")), window(n.get("FlexibleTimeWindow")), behaviour=False,
              why="a flexible window starts the run up to that many minutes after the time"),
    ]
    if s.get("State") == "ENABLED" and n.get("State") == "ENABLED":
        lines.append(Line("both enabled", "ENABLED", "ENABLED", DIFFERS,
                          "both setups would start this model and submit twice: run STEP=switch before its next run",
                          True))
    notes: list[str] = []
    try:
        until = now + HORIZON
        old_runs = _runs(s["ScheduleExpression"], old_tz, now, s.get("StartDate"), s.get("EndDate"), until)
        new_runs = _runs(n["ScheduleExpression"], new_tz, now, n.get("StartDate"), n.get("EndDate"), until)
    except (ScheduleError, ValueError) as err:
        notes.append(f"run times not compared: {err}")
        return lines, ([], []), notes
    shown = ([_when(t, lab) for t in old_runs[:3]] or ["(none in the coming year)"],
             [_when(t, lab) for t in new_runs[:3]] or ["(none in the coming year)"])
    olds, news = [t.timestamp() for t in old_runs], [t.timestamp() for t in new_runs]
    if olds == news:
        lines.append(Line("run times", "", "", SAME, f"the same {len(olds)} start times in the coming year"))
    else:
        first = next((i for i, (a, b) in enumerate(zip(olds, news, strict=False)) if a != b), min(len(olds), len(news)))
        o = _when(old_runs[first], lab) if first < len(old_runs) else "no run"
        w = _when(new_runs[first], lab) if first < len(new_runs) else "no run"
        lines.append(Line("run times", o, w, DIFFERS,
                          f"they part at run {first + 1} of the coming year: old {o}, new {w}", True))
    return lines, shown, notes


def _fate(a) -> str:
    return f"{a.what}: {'done by STEP=cleanup' if not a.blocked else 'kept for now: ' + a.blocked}"


def _fates(old: OldModel, actions: list) -> list[str]:
    """What becomes of one old model's resources: its schedule's state, then cleanup's own list."""
    out = []
    if old.schedule:
        state = old.schedule.get("State")
        where = f"schedule {handbuilt.SCHEDULE_GROUP}/{old.family}"
        if state == "ENABLED":
            out.append(f"{where}: ENABLED, runs until STEP=switch disables it")
        elif MARKER in (old.schedule.get("Description") or ""):
            out.append(f"{where}: disabled by STEP=switch (STEP=rollback enables it again, until STEP=cleanup)")
        else:
            out.append(f"{where}: DISABLED already (not by make migrate)")
    if old.log_group and not old.log_group.get("retentionInDays"):
        out.append(f"log group {old.log_group['logGroupName']}: its history never expires; export it before "
                   "STEP=cleanup if it is needed")
    return out + [_fate(a) for a in actions if a.family == old.family]


def _secrets(e: Environment) -> set[str]:
    return {s for m in e.models for s in m.secrets}


def _shared(setup: OldSetup, actions: list) -> list[str]:
    """What becomes of what the old models share: cleanup's own list, and what it never touches."""
    out = []
    if setup.cluster:
        users = f"; used by {', '.join(setup.cluster_users)}" if setup.cluster_users else ""
        out.append(f"ECS cluster {handbuilt.CLUSTER}: kept: cleanup never removes it (FACTS: it holds the lab's "
                   f"other task definitions){users}")
    elif not any(u.what == f"ECS cluster {handbuilt.CLUSTER}" for u in setup.unreadable):
        out.append(f"ECS cluster {handbuilt.CLUSTER}: not found")
    shared = [a for a in actions if a.family is None]
    for r in setup.roles:
        mine = [a for a in shared if a.what == f"delete the IAM role {r.name}"]
        if mine:
            out.append(_fate(mine[0]))
        elif r.exists is None:
            out.append(f"IAM role {r.name}: could not be read: kept")
        elif not r.exists:
            out.append(f"IAM role {r.name}: not found")
        else:
            out.append(f"IAM role {r.name}: not named by the hand-built models: left alone")
    for g in setup.security_groups:
        label = f"security group {g.id} ({g.name})"
        if not g.used_by_old:
            rules = ", ".join(handbuilt.ports(r) for r in g.open_rules + g.other_rules)
            out.append(f"{label}: inbound {rules}: not the hand-built setup's group, left alone")
            continue
        for rule in g.open_rules:
            mine = [a for a in shared if a.what.startswith(f"revoke the inbound rule {handbuilt.ports(rule)} ") and g.id in a.what]
            if mine:
                out.append(_fate(mine[0]) + ("" if mine[0].blocked else " (the group stays; Fargate tasks take no SSH)"))
            else:
                out.append(f"{label}: inbound {handbuilt.ports(rule)} from anywhere: left alone (not the SSH rule FACTS "
                           "names; revoke it by hand if nothing needs it)")
        if g.other_rules:
            out.append(f"{label}: inbound {', '.join(handbuilt.ports(r) for r in g.other_rules)} from specific sources: left alone")
    for bucket, others in sorted(setup.bucket_others.items()):
        out.append(f"S3 bucket {bucket}: " + (f"kept: it holds {others} other object{'s' * (others != 1)}" if others else
                   "kept; empty once STEP=cleanup removed the .env files (delete it by hand if nothing needs it)"))
    return out


def compare(aws, e: Environment, setup: OldSetup, now: dt.datetime, where: str, word: str) -> Report:
    """The report of `setup` against environment `e` (reads Parameter Store to compare secrets)."""
    from wm.cutover import steps  # the one list of what cleanup removes and keeps

    try:
        actions = steps.cleanup_actions(aws, e, setup, word)
    except ClientError as err:
        actions = []
        setup.unreadable.append(Unreadable("what cleanup would remove", err.response["Error"].get("Code", "?"),
                                           err.response["Error"].get("Message", "")))
    reports = []
    for old in setup.models:
        model = e.model(old.model) if old.model else None
        r = ModelReport(old.model or old.family, old, model)
        if model is None:
            r.lines.append(Line("model", f"hand-built family {old.family}", "(no model here)", ONLY_OLD,
                                "a model the old setup runs and this repository does not: it would stop running", True))
            r.fates = ["everything of it: kept: no model here replaces it, so cleanup leaves it alone"]
        elif not old.found:
            r.notes.append(f"no hand-built counterpart found (no task definition family, schedule or log group "
                           f"named {old.family}): a new model, or one already cleaned up")
        else:
            new = declared(e, model)
            if old.task_definition:
                r.lines = _machine(old, new, model)
                r.variables, notes = _variables(aws, old, new, e, model, setup.unreadable, word)
                r.notes += notes
            else:
                r.notes.append(f"no active task definition of {old.family}: only its schedule or log group is left")
            r.schedule, r.runs, notes = _schedule(old, new, e, now)
            r.notes += notes
            if not old.log_group:
                r.notes.append(f"no log group /ecs/{old.family} found (the old runs' logs are elsewhere, or gone)")
            r.fates = _fates(old, actions)
        reports.append(r)
    return Report(e.name, where, now, setup, reports, _shared(setup, actions), word)


def _table(lines: list[Line]) -> list[str]:
    out = ["| | old (hand-built) | new (this repository) | |", "|---|---|---|---|"]
    for x in lines:
        verdict = x.verdict if not x.why else f"{x.verdict}: {x.why}"
        out.append(f"| {x.what} | {x.old} | {x.new} | {verdict} |")
    return out


def markdown(r: Report) -> str:
    e = r.env
    out = [f"# Cut-over report: the hand-built setup and weekly-models {e}", "",
           f"Account {r.setup.account}, region {r.setup.region} ({r.where}), read {r.now:%Y-%m-%d %H:%M} UTC. "
           "Reading only: this report changed nothing.", ""]
    failing = [(m, x) for m in r.models for x in m.failing]
    out.append("## Summary")
    out.append("")
    if not failing and not r.unreadable:
        out.append("No difference that changes what a model does, and everything could be read.")
    # One line per kind of difference, naming every model it applies to; what only the old setup
    # has comes first.
    groups: dict[tuple[str, str, str], list[tuple[ModelReport, Line]]] = {}
    for m, x in failing:
        groups.setdefault((x.what, x.verdict, x.why), []).append((m, x))
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][1] != ONLY_OLD, kv[0][0]))
    for (what, verdict, why), found in ordered:
        models = ", ".join(m.name for m, _ in found)
        values = f" (old {found[0][1].old}, new {found[0][1].new})" if len(found) == 1 and what in ("image", "cpu (units)",
                                                                                                   "memory (MiB)", "platform") else ""
        if verdict == ONLY_OLD:
            out.append(f"- **{what} is only in the old setup**, in {models}: {why}")
        else:
            out.append(f"- {what} {verdict} in {models}{values}: {why}")
    for u in r.unreadable:
        out.append(f"- could not read {u.what} ({u.code}: {u.message}): what it holds is not compared")
    out.append("")
    for m in r.models:
        title = m.name if not m.old or m.old.family == m.name else f"{m.name} (hand-built: {m.old.family})"
        out += [f"## {title}", ""]
        out += [f"- {n}" for n in m.notes]
        if m.notes:
            out.append("")
        if m.lines:
            out += _table(m.lines) + [""]
        if m.variables:
            out += ["Environment variables (secret values are never shown):", ""] + _table(m.variables) + [""]
        if m.schedule:
            out += ["Schedule:", ""] + _table(m.schedule) + [""]
        if m.runs[0] or m.runs[1]:
            out += ["| next runs | old | new |", "|---|---|---|"]
            for i, (o, n) in enumerate(itertools.zip_longest(*m.runs, fillvalue=""), 1):
                out.append(f"| {i} | {o} | {n} |")
            out.append("")
        if m.fates:
            out += ["At the end:", ""] + [f"- {fate}" for fate in m.fates] + [""]
    if r.shared:
        out += ["## Shared resources of the hand-built setup", ""] + [f"- {line}" for line in r.shared] + [""]
    if r.done:
        out += [f"## Steps taken (build/migrate-{r.word}.log)", "", "```", *r.done, "```", ""]
    verdict = (f"{len(failing)} difference{'s' * (len(failing) != 1)} that change what a model does, "
               f"{len(r.unreadable)} thing{'s' * (len(r.unreadable) != 1)} not read")
    out.append(f"Result: {verdict}." + (f" (exit {EXIT_DIFFERENCES})" if r.fails else ""))
    return "\n".join(out) + "\n"
