"""The hand-built setup, as ../shared/FACTS.md describes it, found in an account by reading only.

Names: cluster `weekly-models`; per model the task definition family `<model>-model` (the model
names here are FACTS' model directories with '-' for '_'), its container `<family>-container`,
the schedule of the same name in Scheduler's `default` group, the log group `/ecs/<family>`;
the environment files the task definition names (`s3://weekly-models/<model_dir>.env`); the
execution role the task definitions name (`ecsTaskExecutionRole`); the role the schedules name;
and every security group with an inbound rule. Families ending in `-model` that match no model
here are found too: they are the lines a cut-over must not miss.

`scan(aws, env)` returns an `OldSetup`. Nothing here writes. A read that AWS refuses (permissions)
or that finds nothing where something is named (an environment file a task definition points at)
is an `Unreadable` in the result, so the report can say so; a model with no hand-built
counterpart at all is simply `found=False`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from wm.config import names
from wm.config.model import Environment

CLUSTER = "weekly-models"
SCHEDULE_GROUP = "default"
EXECUTION_ROLE = "ecsTaskExecutionRole"
NOT_FOUND = {"ResourceNotFoundException", "ClientException", "NoSuchEntity", "NoSuchKey", "NoSuchBucket",
             "ParameterNotFound", "InvalidGroup.NotFound", "404", "NotFound"}
# Names and values that hold a secret, whatever the code says of them: such values are never shown.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE|PAT$|WEBHOOK|AUTH", re.I)
SECRET_VALUE = re.compile(r"gh[pousr]_|github_pat_|xox[abprs]-|hooks\.slack\.com|://[^/@\s]+:[^/@\s]+@|AKIA[0-9A-Z]{12}"
                          r"|-----BEGIN|eyJ[\w-]{10,}\.")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what Docker's env-file takes as a name
# The plain variables of the container contract (FACTS): the only old values shown besides the ones
# the code itself declares as plain; any other old value is shown by its length only.
CONTRACT_PLAIN = ("CHANNEL_ID", "GIT_USER_NAME", "GIT_USER_EMAIL", "MODEL_NAME", "REPO_URL", "REPO_UPSTREAM_URL",
                  "MAIN_PY_ARGS", "DRY_RUN")
MARKER = "weekly-models cut-over:"   # how STEP=switch marks the old schedules it disabled
ANYWHERE = ("0.0.0.0/0", "::/0")


def family(model: str) -> str:
    """The hand-built family of a model here: flu-ar2 -> flu-ar2-model (FACTS)."""
    return f"{names.slug(model)}-model"


def opens_ssh(rule: dict) -> bool:
    """An ingress permission for TCP whose port range holds 22 (and nothing wider than TCP)."""
    return rule.get("IpProtocol") == "tcp" and rule.get("FromPort", 0) <= 22 <= rule.get("ToPort", -1)


def ports(rule: dict) -> str:
    """An ingress permission's protocol and ports in words: "tcp 22", "all traffic"."""
    proto = rule.get("IpProtocol")
    if proto == "-1":
        return "all traffic"
    lo, hi = rule.get("FromPort"), rule.get("ToPort")
    return f"{proto} {lo}" if lo == hi else f"{proto} {lo}-{hi}"


def looks_secret(name: str, value: str = "") -> bool:
    """By its name or by its value (a GitHub or Slack token, a URL with a password in it, a key)."""
    return bool(SECRET_NAME.search(name) or SECRET_VALUE.search(value))


@dataclass(frozen=True)
class Unreadable:
    """Something the scan could not read: what, and AWS's own code and words."""
    what: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.what}: could not be read ({self.code}: {self.message})"


class _Missing(Exception):
    pass


def _read(problems: list[Unreadable], what: str, call, *, missing_ok: bool = True):
    """call()'s answer; None when AWS says it does not exist (and `missing_ok`); otherwise a refusal
    is recorded in `problems` and None returned."""
    try:
        return call()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        message = err.response.get("Error", {}).get("Message", "")
        if missing_ok and code in NOT_FOUND:
            return None
        problems.append(Unreadable(what, code, message))
        return None


def parse_env_file(text: str) -> tuple[dict[str, str], list[str]]:
    """An ECS environment file: VARIABLE=VALUE lines, '#' lines are comments, no shell escapes or
    quote handling (ECS developer guide, "Pass environment variables to an Amazon ECS container":
    the file is handled like a native Docker env-file). Returns (variables, problems)."""
    out, problems = {}, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not VARIABLE_NAME.fullmatch(name):
            # Said by line number only: a line that is not a variable may be a pasted key.
            problems.append(f"line {number} is not VARIABLE=VALUE (a name of letters, digits and _)")
            continue
        if name in out:
            problems.append(f"{name} is set twice (line {number})")
        out[name] = value
    return out, problems


def s3_location(arn: str) -> tuple[str, str] | None:
    """(bucket, key) of an environment file's ARN, arn:aws:s3:::bucket/key."""
    m = re.fullmatch(r"arn:aws[\w-]*:s3:::([^/]+)/(.+)", arn)
    return (m[1], m[2]) if m else None


@dataclass
class EnvFile:
    arn: str
    url: str
    variables: dict[str, str] | None = None  # None: could not be read
    problems: list[str] = field(default_factory=list)
    missing: bool = False                    # the task definition names it, and it is not there (now)


@dataclass
class OldModel:
    """One hand-built model: its family's latest ACTIVE revision, what it reads, its schedule."""
    family: str
    model: str | None                       # the model here it matches, None: only in the old setup
    found: bool = False
    revisions: list[str] = field(default_factory=list)   # ACTIVE revision ARNs, oldest first
    task_definition: dict | None = None
    env_files: list[EnvFile] = field(default_factory=list)
    schedule: dict | None = None
    log_group: dict | None = None

    @property
    def container(self) -> dict:
        defs = (self.task_definition or {}).get("containerDefinitions") or [{}]
        return next((c for c in defs if c.get("name") == f"{self.family}-container"), defs[0])

    def environment(self) -> tuple[dict[str, tuple[str, str]], list[str]]:
        """name -> (value, where it came from), as ECS would give it to the container: the files top
        down, then the container's own `environment`, which takes precedence (ECS API reference,
        EnvironmentFile); and the conflicts a person should know of."""
        out, notes = {}, []
        for f in self.env_files:
            for name, value in (f.variables or {}).items():
                if name in out and out[name][0] != value:
                    notes.append(f"{name} differs between {out[name][1]} and {f.url}")
                out[name] = (value, f.url)
        for e in self.container.get("environment", []):
            if e["name"] in out and out[e["name"]][0] != e.get("value", ""):
                notes.append(f"{e['name']} is set in the task definition and in {out[e['name']][1]}: "
                             "the task definition's value wins")
            out[e["name"]] = (e.get("value", ""), "the task definition")
        return out, notes

    @property
    def secrets(self) -> dict[str, str]:
        """Secrets the old task definition already reads from a store: name -> valueFrom."""
        return {s["name"]: s["valueFrom"] for s in self.container.get("secrets", [])}


@dataclass
class Role:
    name: str
    exists: bool | None            # None: could not be read
    last_used_region: str | None = None  # IAM's RoleLastUsed: a use elsewhere is a use by something else
    used_by_old: list[str] = field(default_factory=list)
    used_by_others: list[str] = field(default_factory=list)


@dataclass
class SecurityGroup:
    id: str
    name: str
    open_rules: list[dict]         # ingress permissions open to anywhere
    other_rules: list[dict]        # ingress from specific sources
    used_by_old: list[str] = field(default_factory=list)
    used_by_others: list[str] = field(default_factory=list)
    used_by_tasks: list[str] = field(default_factory=list)   # others that are ECS tasks on Fargate

    def blocking(self, rule: dict) -> list[str]:
        """Who else would lose something if this open rule went. Fargate gives no host access and
        runs no SSH server (ECS Exec is AWS's way into a Fargate task, ECS developer guide), so an
        open SSH rule serves no Fargate task: for SSH only, other users that are tasks do not block."""
        return self.used_by_others if opens_ssh(rule) else self.used_by_others + self.used_by_tasks


@dataclass
class OldSetup:
    account: str
    region: str
    cluster: dict | None = None
    cluster_users: list[str] = field(default_factory=list)
    models: list[OldModel] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    security_groups: list[SecurityGroup] = field(default_factory=list)
    bucket_others: dict[str, int] = field(default_factory=dict)  # bucket -> objects that are not env files
    env_file_users: dict[str, list[str]] = field(default_factory=dict)  # env file ARN -> other families
    log_group_users: dict[str, list[str]] = field(default_factory=dict)  # log group -> other families
    unreadable: list[Unreadable] = field(default_factory=list)

    def old(self, model: str) -> OldModel | None:
        return next((o for o in self.models if o.model == model), None)


def _pages(method, key: str, **kwargs):
    """Every item of a paginated list call (ECS says nextToken, Scheduler NextToken)."""
    while True:
        page = method(**kwargs)
        yield from page.get(key, [])
        token_key = "NextToken" if "NextToken" in page else "nextToken"
        if not page.get(token_key) or page[token_key] == kwargs.get(token_key):
            return
        kwargs[token_key] = page[token_key]


def _revision(arn: str) -> tuple[str, int]:
    fam, _, rev = arn.rsplit("/", 1)[-1].rpartition(":")
    return fam, int(rev)


def _role_name(arn: str | None) -> str | None:
    return arn.rsplit("/", 1)[-1] if arn else None


def scan(aws, e: Environment) -> OldSetup:
    """Read the hand-built setup of the account `aws` reaches; `e` says which models to look for."""
    problems: list[Unreadable] = []
    who = aws("sts").get_caller_identity()
    setup = OldSetup(account=who["Account"], region=e.region, unreadable=problems)
    ecs, scheduler = aws("ecs"), aws("scheduler")

    found = _read(problems, f"ECS cluster {CLUSTER}", lambda: ecs.describe_clusters(clusters=[CLUSTER]))
    clusters = [c for c in (found or {}).get("clusters", []) if c.get("status") == "ACTIVE"]
    setup.cluster = clusters[0] if clusters else None

    families = _read(problems, "ECS task definition families",
                     lambda: list(_pages(ecs.list_task_definition_families, "families", status="ACTIVE"))) or []
    ours = names.env_prefix(e.name)
    wanted = {family(m.name): m.name for m in e.models}
    extra = sorted(f for f in families if f.endswith("-model") and f not in wanted
                   and not f.startswith(f"{names.PROJECT}-"))
    for fam, model in [*sorted(wanted.items()), *((f, None) for f in extra)]:
        setup.models.append(_scan_model(aws, problems, fam, model))

    # Who else uses the cluster and the roles: every schedule, in every group, and the latest
    # revision of every other active family.
    old_schedules = {o.family for o in setup.models if o.schedule}
    everything = _read(problems, "EventBridge Scheduler schedules",
                       lambda: list(_pages(scheduler.list_schedules, "Schedules"))) or []
    other_schedules = []
    for s in everything:
        if s.get("GroupName") == SCHEDULE_GROUP and s["Name"] in old_schedules:
            continue
        if s.get("GroupName", "").startswith(ours):
            continue
        full = _read(problems, f"schedule {s.get('GroupName')}/{s['Name']}",
                     lambda s=s: scheduler.get_schedule(Name=s["Name"], GroupName=s.get("GroupName", "default")))
        if full:
            other_schedules.append(full)
    cluster_arn = setup.cluster["clusterArn"] if setup.cluster else None
    setup.cluster_users = sorted(f"schedule {s['GroupName']}/{s['Name']}" for s in other_schedules
                                 if cluster_arn and s["Target"].get("Arn") == cluster_arn)
    if setup.cluster:
        services = _read(problems, f"services of cluster {CLUSTER}",
                         lambda: list(_pages(ecs.list_services, "serviceArns", cluster=CLUSTER))) or []
        setup.cluster_users += [f"service {a.rsplit('/', 1)[-1]}" for a in services]
    others = {}
    old_families = {o.family for o in setup.models}
    for fam in families:
        if fam in old_families or fam.startswith(f"{names.PROJECT}-"):
            continue
        td = _read(problems, f"task definition {fam}",
                   lambda fam=fam: ecs.describe_task_definition(taskDefinition=fam)["taskDefinition"])
        if td:
            others[fam] = td
            for c in td.get("containerDefinitions", []):
                for f in c.get("environmentFiles", []):
                    setup.env_file_users.setdefault(f["value"], []).append(f"task definition {fam}")
                group = (c.get("logConfiguration") or {}).get("options", {}).get("awslogs-group")
                if group:
                    setup.log_group_users.setdefault(group, []).append(f"task definition {fam}")

    roles: dict[str, Role] = {}

    def role(name: str) -> Role:
        if name not in roles:
            got = _read(problems, f"IAM role {name}", lambda: aws("iam").get_role(RoleName=name))
            readable = not any(p.what == f"IAM role {name}" for p in problems)
            roles[name] = Role(name, exists=bool(got) if readable else None,
                               last_used_region=((got or {}).get("Role", {}).get("RoleLastUsed") or {}).get("Region"))
        return roles[name]

    for o in setup.models:
        td = o.task_definition or {}
        for arn in (td.get("executionRoleArn"), td.get("taskRoleArn")):
            if arn:
                role(_role_name(arn)).used_by_old.append(f"task definition {o.family}")
        if o.schedule and o.schedule["Target"].get("RoleArn"):
            role(_role_name(o.schedule["Target"]["RoleArn"])).used_by_old.append(f"schedule {o.family}")
    role(EXECUTION_ROLE)
    for fam, td in sorted(others.items()):
        for arn in {td.get("executionRoleArn"), td.get("taskRoleArn")} - {None}:
            if _role_name(arn) in roles:
                roles[_role_name(arn)].used_by_others.append(f"task definition {fam}")
    for s in other_schedules:
        if _role_name(s["Target"].get("RoleArn")) in roles:
            roles[_role_name(s["Target"]["RoleArn"])].used_by_others.append(f"schedule {s['GroupName']}/{s['Name']}")
    setup.roles = sorted(roles.values(), key=lambda r: r.name)

    setup.security_groups = _scan_security_groups(aws, problems, setup.models, other_schedules)
    for bucket in sorted({s3_location(f.arn)[0] for o in setup.models for f in o.env_files if s3_location(f.arn)}):
        keys = _read(problems, f"s3://{bucket}",
                     lambda bucket=bucket: [x["Key"] for x in _s3_keys(aws("s3"), bucket)]) or []
        env_keys = {s3_location(f.arn)[1] for o in setup.models for f in o.env_files if s3_location(f.arn)}
        setup.bucket_others[bucket] = len(set(keys) - env_keys)
    return setup


def _s3_keys(s3, bucket: str):
    kwargs = {"Bucket": bucket}
    while True:
        page = s3.list_objects_v2(**kwargs)
        yield from page.get("Contents", [])
        if not page.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def _scan_model(aws, problems: list[Unreadable], fam: str, model: str | None) -> OldModel:
    o = OldModel(family=fam, model=model)
    ecs = aws("ecs")
    arns = _read(problems, f"task definitions of {fam}",
                 lambda: list(_pages(ecs.list_task_definitions, "taskDefinitionArns", familyPrefix=fam,
                                     status="ACTIVE"))) or []
    o.revisions = sorted((a for a in arns if _revision(a)[0] == fam), key=lambda a: _revision(a)[1])
    if o.revisions:
        o.task_definition = _read(problems, f"task definition {fam}", missing_ok=False, call=lambda:
                                  ecs.describe_task_definition(taskDefinition=o.revisions[-1])["taskDefinition"])
    for f in o.container.get("environmentFiles", []) if o.task_definition else []:
        where = s3_location(f["value"])
        url = f"s3://{where[0]}/{where[1]}" if where else f["value"]
        env_file = EnvFile(f["value"], url)
        o.env_files.append(env_file)
        if not where:
            problems.append(Unreadable(url, "NotAnS3ObjectArn", "the task definition names it, but it is not arn:aws:s3:::bucket/key"))
            continue
        # The task definition names this file, so "not found" is a problem here, not an absence.
        body = _read(problems, url, missing_ok=False,
                     call=lambda where=where: aws("s3").get_object(Bucket=where[0], Key=where[1])["Body"].read())
        if body is not None:
            env_file.variables, env_file.problems = parse_env_file(body.decode("utf-8", "replace"))
        else:
            env_file.missing = problems[-1].code in ("NoSuchKey", "NoSuchBucket")
    o.schedule = _read(problems, f"schedule {SCHEDULE_GROUP}/{fam}",
                       lambda: aws("scheduler").get_schedule(Name=fam, GroupName=SCHEDULE_GROUP))
    group = f"/ecs/{fam}"
    if o.task_definition:
        group = o.container.get("logConfiguration", {}).get("options", {}).get("awslogs-group", group)
    groups = _read(problems, f"log group {group}",
                   lambda: aws("logs").describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])) or []
    o.log_group = next((g for g in groups if g["logGroupName"] == group), None)
    o.found = bool(o.revisions or o.schedule or o.log_group)
    return o


def _scan_security_groups(aws, problems, models: list[OldModel], other_schedules: list[dict]) -> list[SecurityGroup]:
    ec2 = aws("ec2")
    groups = _read(problems, "EC2 security groups",
                   lambda: ec2.describe_security_groups().get("SecurityGroups", [])) or []
    out = []
    for g in groups:
        rules = g.get("IpPermissions", [])
        if not rules:
            continue
        open_rules = [r for r in rules if any(x.get("CidrIp") in ANYWHERE for x in r.get("IpRanges", []))
                      or any(x.get("CidrIpv6") in ANYWHERE for x in r.get("Ipv6Ranges", []))]
        sg = SecurityGroup(g["GroupId"], g.get("GroupName", ""), open_rules, [r for r in rules if r not in open_rules])

        def uses(s: dict, group: str = g["GroupId"]) -> bool:
            net = s.get("Target", {}).get("EcsParameters", {}).get("NetworkConfiguration", {})
            return group in net.get("awsvpcConfiguration", {}).get("SecurityGroups", [])

        sg.used_by_old = [f"schedule {o.family}" for o in models if o.schedule and uses(o.schedule)]
        sg.used_by_tasks = [f"schedule {s['GroupName']}/{s['Name']} (Fargate tasks)" for s in other_schedules if uses(s)]
        enis = _read(problems, f"network interfaces of {g['GroupId']}", lambda g=g: ec2.describe_network_interfaces(
            Filters=[{"Name": "group-id", "Values": [g["GroupId"]]}]).get("NetworkInterfaces", [])) or []
        for n in enis:
            # A Fargate task's interface is described by its ECS attachment's ARN.
            text = f"network interface {n['NetworkInterfaceId']} ({n.get('Description') or 'no description'})"
            (sg.used_by_tasks if (n.get("Description") or "").startswith("arn:aws:ecs:") else sg.used_by_others).append(text)
        out.append(sg)
    return sorted(out, key=lambda s: s.id)
