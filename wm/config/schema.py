"""Typed specs of the project, environments and models, validated once at the boundary.

Every default lives here, with its value in the field's description. Unknown keys
are errors (`extra="forbid"`), so a typo never passes silently.

Three sections feed every stack, each from one file:
- `project`      config/config.yaml          what is the same everywhere
- `environment`  config/<env>/config.yaml    what differs per environment
- `model`        models/<name>.yaml          one model, declared once

`resolve()` turns them into the frozen `EnvStack` / `ModelStack` that the
generators take, or raises `ConfigError` listing every problem with its file and field.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import typing
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wm.config import checks as rules
from wm.config import names as naming
from wm.config import schedules

STACK_KINDS = ("network", "iam", "cluster", "alerts")
ACCOUNT = "account"  # config/account: the once-per-account deployer stack
# Where each section of sceptre_user_data comes from; `{env}`/`{model}` filled in.
SECTION_FILES = {
    "project": "config/config.yaml",
    "environment": "config/{env}/config.yaml",
    "model": "models/{model}.yaml",
    "deployer": "config/account/config.yaml",
}
CONTRACT_SECRETS = ("GH_TOKEN", "GIT_CREDENTIALS", "SLACK_API_TOKEN")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check(problem: str | None):
    if problem:
        raise ValueError(problem)


class HubSpec(_Strict):
    """A forecast hub: the lab's fork (pushed to) and the upstream (pull requests go to)."""
    repo_url: str = Field(description="REPO_URL: the lab's fork of the hub.")
    upstream_url: str = Field(description="REPO_UPSTREAM_URL: the hub itself.")


class ProjectSpec(_Strict):
    """config/config.yaml, sceptre_user_data.project."""
    variables: dict[str, str] = Field(
        default_factory=dict, description="Plain environment variables of every model in every environment.")
    hubs: dict[str, HubSpec] = Field(default_factory=dict, description="Hubs models name with `hub:`.")
    lab_timezone: str = Field("America/New_York", description="Zone `make status` shows times in "
                              "(default America/New_York).")
    docs_as_of: dt.date | None = Field(None, description="`make docs` and `make cost` count runs from this "
                                       "day, so their output only changes when the config does "
                                       "(default none: today).")

    @field_validator("lab_timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        _check(rules.timezone(v))
        return v


class RetrySpec(_Strict):
    maximum_attempts: int = Field(
        3, ge=0, le=185, description="Retries of a failed RunTask call (default 3; Scheduler allows 0-185).")
    maximum_event_age_seconds: int = Field(
        3600, ge=60, le=86400, description="Give up retrying after this long (default 3600 s; 60-86400).")


class ScheduleSpec(_Strict):
    expression: str = Field(
        "cron(0 14 ? * WED *)",
        description="When to run (default Wednesdays 14:00, after the 17:45 UTC data snapshot).")
    timezone: str = Field("America/New_York", description="IANA time zone of the expression (default America/New_York).")
    flexible_window_minutes: int | None = Field(
        15, ge=1, le=1440, description="Scheduler may start up to this late (default 15; null = exactly on time).")
    start_date: dt.date | None = Field(None, description="First day the schedule is active, e.g. season start (default none).")
    end_date: dt.date | None = Field(None, description="Last day the schedule is active, e.g. season end (default none).")
    retry: RetrySpec = Field(default_factory=RetrySpec)

    @field_validator("expression")
    @classmethod
    def _expression(cls, v: str) -> str:
        _check(rules.schedule_expression(v))
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        _check(rules.timezone(v))
        return v


class PermissionSpec(_Strict):
    """One IAM statement for a model's own task role."""
    actions: tuple[str, ...] = Field(min_length=1, description="e.g. [s3:GetObject]; no '*' allowed.")
    resources: tuple[str, ...] = Field(min_length=1, description="ARNs; no bare '*'.")

    @field_validator("actions")
    @classmethod
    def _actions(cls, v):
        for a in v:
            if "*" in a or ":" not in a:
                raise ValueError(f"action {a!r} must be one named action like s3:GetObject, without '*'")
            if a.split(":", 1)[0].lower() in ("iam", "sts"):
                raise ValueError(f"action {a!r} would let the model change or take on other roles; "
                                 "a model's code needs data permissions (s3, ...), not iam or sts")
        return v

    @field_validator("resources")
    @classmethod
    def _resources(cls, v):
        for r in v:
            parts = r.split(":", 5)
            if len(parts) != 6 or parts[0] != "arn" or not parts[2] or "*" in parts[2] or parts[5] in ("", "*"):
                raise ValueError(f"resource {r!r} must be an ARN of a named service and resource, "
                                 "e.g. arn:aws:s3:::lab-data/*")
        return v


Capacity = Literal["FARGATE", "FARGATE_SPOT"]
State = Literal["ENABLED", "DISABLED"]


class ModelSpec(_Strict):
    """models/<name>.yaml, sceptre_user_data.model: one model, the same in every environment."""
    image: str = Field(description="Docker image with a version tag, e.g. reichlab/flu_ar2:1.2 (required).")
    hub: str | None = Field(None, description="Name of a hub in config/config.yaml; sets REPO_URL and REPO_UPSTREAM_URL.")
    variables: dict[str, str] = Field(default_factory=dict, description="Plain environment variables, e.g. MODEL_NAME.")
    secrets: tuple[str, ...] = Field(
        CONTRACT_SECRETS, description="Secret names read from Parameter Store "
        "(default the container contract's GH_TOKEN, GIT_CREDENTIALS, SLACK_API_TOKEN).")
    cpu: int = Field(1024, description="Fargate cpu units (default 1024).")
    memory: int = Field(3072, description="Fargate memory MiB (default 3072).")
    capacity: Capacity = Field("FARGATE", description="FARGATE (default) or FARGATE_SPOT (cheaper, may be interrupted).")
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    task_permissions: tuple[PermissionSpec, ...] = Field(
        (), description="AWS permissions of the model's own code; a task role is made only when set (default none).")
    expected_duration_minutes: float = Field(
        30, gt=0, le=24 * 60, description="How long a run takes, for `make cost` (default 30 minutes).")
    log_megabytes_per_run: float = Field(
        5, ge=0, description="Log output of one run, for `make cost` (default 5 MB).")

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v):
        for s in v:
            _check(rules.secret_name(s))
        twice = sorted({s for s in v if v.count(s) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is listed twice; list each secret once")
        return v


class ModelOverride(_Strict):
    """One model's settings that differ in one environment (environment.model_overrides)."""
    image: str | None = None
    cpu: int | None = None
    memory: int | None = None
    capacity: Capacity | None = None
    schedule_state: State | None = None
    variables: dict[str, str] = Field(default_factory=dict)


class NetworkSpec(_Strict):
    vpc_cidr: str = Field("10.20.0.0/16", description="CIDR of the VPC this project creates (default 10.20.0.0/16).")
    existing_vpc_id: str | None = Field(None, description="Use this VPC instead of creating one (default none).")
    existing_subnet_ids: tuple[str, ...] = Field((), description="Public subnets of existing_vpc_id.")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, v):
        try:
            net = ipaddress.IPv4Network(v)
        except ValueError:
            raise ValueError(f"{v!r} is not an IPv4 network; use one like 10.20.0.0/16") from None
        if net.prefixlen > 23:
            raise ValueError(f"{v} is too small for two /24 subnets; use a /23 or larger, e.g. 10.20.0.0/16")
        return v

    @field_validator("existing_vpc_id")
    @classmethod
    def _vpc(cls, v):
        if v is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", v):
            raise ValueError(f"{v!r} is not a VPC ID; use one like vpc-0123456789abcdef0")
        return v

    @field_validator("existing_subnet_ids")
    @classmethod
    def _subnets(cls, v):
        for subnet in v:
            if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", subnet):
                raise ValueError(f"{subnet!r} is not a subnet ID; use one like subnet-0123456789abcdef0")
        if len(set(v)) != len(v):
            raise ValueError("a subnet is listed twice; name two different subnets in two zones")
        return v


class SlackSpec(_Strict):
    """AWS Chatbot delivery of the alerts to Slack (authorise the workspace once in the console first)."""
    workspace_id: str = Field(description="Slack workspace (team) ID shown in the Chatbot console, e.g. T0123ABCD.")
    channel_id: str = Field(description="Slack channel ID, e.g. C02UELXDPQQ.")

    @field_validator("workspace_id", "channel_id")
    @classmethod
    def _slack_id(cls, v):
        if not re.fullmatch(r"[A-Z0-9]{9,11}|PLACEHOLDER\(.*\)", v):
            raise ValueError(f"{v!r} is not a Slack ID; use the 9-11 character ID, e.g. C02UELXDPQQ")
        return v


class AlertsSpec(_Strict):
    """Who hears of a failed or missing run."""
    emails: tuple[str, ...] = Field((), description="Addresses subscribed to the alert topic (default none); "
                                    "each confirms once by email.")
    slack: SlackSpec | None = Field(None, description="Slack delivery through AWS Chatbot (default off).")
    run_history_retention_days: int = Field(
        731, description="Days the run history (/weekly-models/<env>/runs) is kept (default 731: two seasons).")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v):
        for e in v:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e):
                raise ValueError(f"{e!r} is not an email address")
        if len(set(v)) != len(v):
            raise ValueError("an address is listed twice")
        return v

    @field_validator("run_history_retention_days")
    @classmethod
    def _retention(cls, v):
        _check(rules.log_retention(v))
        return v


def _kms_key(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/mrk-[0-9a-f]{32}", v):
        raise ValueError(f"{v!r} is not a KMS key ARN; use the key's full ARN, "
                         "arn:aws:kms:<region>:<account>:key/<key id> (IAM cannot scope to an alias)")
    return v


class EnvironmentSpec(_Strict):
    """config/<env>/config.yaml, sceptre_user_data.environment: what differs per environment."""
    schedule_state: State = Field("DISABLED", description="ENABLED or DISABLED (default DISABLED: nothing runs by surprise).")
    variables: dict[str, str] = Field(default_factory=dict, description="Plain environment variables added to every model.")
    log_retention_days: int = Field(90, description="Days CloudWatch keeps model logs (default 90).")
    deletion_policy: Literal["Delete", "Retain"] = Field(
        "Retain", description="What happens to logs and queues when their stack goes (default Retain).")
    allow_latest_tag: bool = Field(False, description="Accept images tagged latest (default false; never in prod).")
    cluster_name: str | None = Field(None, description="ECS cluster name (default weekly-models-<env>).")
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    secrets_kms_key_arn: str | None = Field(
        None, description="Customer-managed KMS key of the SecureStrings (default none: the AWS managed aws/ssm key).")
    logs_kms_key_arn: str | None = Field(
        None, description="Customer-managed KMS key for the log groups (default none: CloudWatch's own encryption).")
    model_overrides: dict[str, ModelOverride] = Field(default_factory=dict)
    cloudformation_role: str | None = Field(
        None, description="Role CloudFormation uses for `make plan`/`make deploy` change sets (the deployer "
        "stack's weekly-models-cloudformation); default none: the caller's own permissions.")
    alerts: AlertsSpec = Field(default_factory=AlertsSpec)

    _kms = field_validator("secrets_kms_key_arn", "logs_kms_key_arn")(_kms_key)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v):
        _check(rules.log_retention(v))
        return v


class DeployerSpec(_Strict):
    """config/account/config.yaml, sceptre_user_data.deployer: who may deploy from GitHub."""
    github_repository: str = Field(description="owner/name of the lab's repository, e.g. reichlab/weekly-models.")
    github_environment: str = Field(
        "prod", description="The GitHub environment whose jobs may deploy (default prod: the workflow's deploy "
        "job); restrict it to main under the repository's Settings -> Environments.")
    existing_oidc_provider_arn: str | None = Field(
        None, description="The account's GitHub OIDC provider, when it has one already (default: create it).")

    @field_validator("github_environment")
    @classmethod
    def _environment(cls, v):
        # It becomes part of the OIDC subject repo:<repo>:environment:<name>.
        if not re.fullmatch(r"[A-Za-z0-9._ -]{1,255}", v):
            raise ValueError(f"{v!r} is not a GitHub environment name; use letters, digits, '.', '_', '-' or "
                             "spaces, e.g. prod")
        return v

    @field_validator("github_repository")
    @classmethod
    def _repo(cls, v):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|PLACEHOLDER\(.*\)", v):
            raise ValueError(f"{v!r} is not owner/name of a GitHub repository, e.g. reichlab/weekly-models")
        return v


# --- problems ---------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    message: str
    placeholder: bool = False  # blocks only deploys to a real account

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def _where(section: str, env: str, model: str | None) -> str:
    return SECTION_FILES[section].format(env=env, model=model)


def _field(section: str, loc) -> str:
    return ".".join(["sceptre_user_data", section, *map(str, loc)])


def _model_at(cls, loc) -> type[BaseModel]:
    """The spec class at `loc` inside `cls` (e.g. ScheduleSpec at ("schedule",)), to list its keys."""
    ann = cls
    for part in loc:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if part not in ann.model_fields:
                return ann
            ann = ann.model_fields[part].annotation
        else:  # `part` is a key of a dict or an index of a tuple: its element type
            ann = _nested_model(ann)
            if ann is None:
                return cls
    return _nested_model(ann) or cls


def _nested_model(ann):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in typing.get_args(ann):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _parse(cls, data, section, env, model, problems):
    try:
        return cls.model_validate(data if data is not None else {})
    except ValidationError as err:
        for e in err.errors():
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                known = ", ".join(_model_at(cls, e["loc"][:-1]).model_fields)
                msg = f"unknown key; the known keys here are: {known}"
            elif e["type"] == "missing":
                msg = "is required"
            problems.append(Problem(_where(section, env, model), _field(section, e["loc"]), msg))
        return None


# --- resolved stack specs ------------------------------------------------------------------

@dataclass(frozen=True)
class EnvStack:
    env: str
    kind: str
    environment: EnvironmentSpec
    placeholders: tuple[Problem, ...] = ()  # values still to be set; block real deploys only
    lab_timezone: str = "America/New_York"  # set from ProjectSpec by resolve()
    docs_as_of: dt.date | None = None        # likewise

    @property
    def cluster_name(self) -> str:
        return self.environment.cluster_name or naming.cluster_name(self.env)


@dataclass(frozen=True)
class ModelStack:
    env: str
    name: str
    image: str
    cpu: int
    memory: int
    capacity: str
    state: str
    schedule: ScheduleSpec
    variables: tuple[tuple[str, str], ...]  # sorted by name
    secrets: tuple[str, ...]                # sorted
    task_permissions: tuple[PermissionSpec, ...]
    log_retention_days: int
    deletion_policy: str
    logs_kms_key_arn: str | None
    expected_duration_minutes: float = 30.0
    log_megabytes_per_run: float = 5.0
    docs_as_of: dt.date | None = None
    lab_timezone: str = "America/New_York"
    placeholders: tuple[Problem, ...] = ()  # values still to be set; block real deploys only
    kind: str = field(default="model")
    # The season as deployable when the configuration was resolved (see schedules.season_window).
    season: schedules.SeasonWindow = schedules.SeasonWindow(None, None, False, None)
    configured_state: str = ""               # the state the configuration asks for; `state` is what is deployed

    @property
    def dry_run(self) -> bool:
        return "DRY_RUN" in dict(self.variables)

    @property
    def family(self) -> str:
        return naming.family(self.env, self.name)


def _placeholders(data, section: str, env: str, model: str | None, loc=()) -> list[Problem]:
    """Every PLACEHOLDER(...) left in a section, wherever it is."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _placeholders(v, section, env, model, (*loc, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _placeholders(v, section, env, model, (*loc, i))]
    if isinstance(data, str):
        return [Problem(_where(section, env, model), _field(section, loc),
                        f"still a placeholder ({m.group(1)}); set the real value", placeholder=True)
                for m in rules.PLACEHOLDER.finditer(data)]
    return []


@dataclass(frozen=True)
class DeployerStack:
    env: str
    kind: str
    deployer: DeployerSpec
    placeholders: tuple[Problem, ...] = ()


def resolve(stack_path: str, user_data: dict, now: dt.datetime | None = None) -> EnvStack | ModelStack | DeployerStack:
    """Validate one stack's sceptre_user_data; `stack_path` is Sceptre's, e.g. dev/models/flu-ar2.

    `now` (default: the current time) decides which season dates can still be sent to
    EventBridge Scheduler; it is the only input besides the files that shapes a template.
    """
    env, _, rest = stack_path.partition("/")
    if env == ACCOUNT:
        problems: list[Problem] = []
        deployer = _parse(DeployerSpec, user_data.get("deployer"), "deployer", env, None, problems)
        if rest != "deployer":
            problems.append(Problem(f"config/{stack_path}.yaml", "(file name)", "config/account holds only deployer.yaml"))
        if problems:
            raise ConfigError(problems)
        return DeployerStack(env, "deployer", deployer, tuple(_placeholders(user_data.get("deployer"), "deployer",
                                                                             env, None)))
    model = rest.split("/", 1)[1] if rest.startswith("models/") else None
    if model is None and rest not in STACK_KINDS:
        raise ConfigError([Problem(f"config/{stack_path}.yaml", "(file name)",
                                   f"no stack kind {rest!r}; the stacks of an environment are "
                                   f"{', '.join(STACK_KINDS)} and models/<name>")])
    problems: list[Problem] = []
    unknown = set(user_data) - {"project", "environment", "model", "stack"}
    for key in sorted(unknown):
        problems.append(Problem(_where("model" if model else "environment", env, model),
                                f"sceptre_user_data.{key}",
                                "unknown section; use project, environment or model"))
    sections = ("project", "environment", "model") if model else ("project", "environment")
    placeholders = tuple(sorted({p for s in sections for p in _placeholders(user_data.get(s), s, env, model)}))
    project = _parse(ProjectSpec, user_data.get("project"), "project", env, model, problems)
    environment = _parse(EnvironmentSpec, user_data.get("environment"), "environment", env, model, problems)
    if environment is not None:
        problems += _env_problems(env, environment)
    if model is None:
        if problems or project is None:
            raise ConfigError(problems)
        return EnvStack(env=env, kind=rest, environment=environment, placeholders=placeholders,
                        lab_timezone=project.lab_timezone, docs_as_of=project.docs_as_of)
    spec = _parse(ModelSpec, user_data.get("model"), "model", env, model, problems)
    if spec is None or project is None or environment is None:
        raise ConfigError(problems)
    result = _model_stack(env, model, project, environment, spec, problems,
                          now or dt.datetime.now(dt.timezone.utc))
    if problems:
        raise ConfigError(problems)
    return replace(result, placeholders=placeholders)


def _env_problems(env: str, e: EnvironmentSpec) -> list[Problem]:
    where = _where("environment", env, None)
    out = []
    if env == "prod" and e.allow_latest_tag:
        out.append(Problem(where, _field("environment", ["allow_latest_tag"]),
                           "prod must run pinned images; set it to false"))
    if e.network.existing_vpc_id and len(e.network.existing_subnet_ids) < 2:
        out.append(Problem(where, _field("environment", ["network", "existing_subnet_ids"]),
                           "name at least two public subnets of existing_vpc_id, in two zones"))
    if e.network.existing_subnet_ids and not e.network.existing_vpc_id:
        out.append(Problem(where, _field("environment", ["network", "existing_vpc_id"]),
                           "subnets were given without the VPC they belong to"))
    return out


def _model_stack(env, model, project, environment, spec, problems, now: dt.datetime) -> ModelStack:
    mfile, efile, pfile = (_where(s, env, model) for s in ("model", "environment", "project"))
    override = environment.model_overrides.get(model) or ModelOverride()
    oloc = ["model_overrides", model]

    # Variables, later sources win; each remembers where it came from for error messages.
    merged: dict[str, tuple[str, str, str]] = {}
    for name, value in project.variables.items():
        merged[name] = (value, pfile, _field("project", ["variables", name]))
    if spec.hub is not None:
        hub = project.hubs.get(spec.hub)
        if hub is None:
            problems.append(Problem(mfile, _field("model", ["hub"]),
                                    f"no hub {spec.hub!r} in {pfile}; known: {', '.join(project.hubs) or 'none'}"))
        else:
            loc = _field("project", ["hubs", spec.hub])
            merged["REPO_URL"] = (hub.repo_url, pfile, loc + ".repo_url")
            merged["REPO_UPSTREAM_URL"] = (hub.upstream_url, pfile, loc + ".upstream_url")
    for name, value in spec.variables.items():
        merged[name] = (value, mfile, _field("model", ["variables", name]))
    for name, value in environment.variables.items():
        merged[name] = (value, efile, _field("environment", ["variables", name]))
    for name, value in override.variables.items():
        merged[name] = (value, efile, _field("environment", [*oloc, "variables", name]))

    for name, (value, file, loc) in merged.items():
        problem = rules.env_var_name(name)
        if problem:
            problems.append(Problem(file, loc, problem))
        elif rules.looks_secret(name):
            problems.append(Problem(file, loc, f"{name} looks like a secret and must not be a plain "
                                    f"value; remove it here, add {name} to the model's secrets and "
                                    f"store it with: make secret ENV={env} NAME={name}"))
        if name in spec.secrets:
            problems.append(Problem(file, loc, f"{name} is also a secret; a name is either plain or secret"))
        problem = rules.secret_value(value)
        if problem:
            problems.append(Problem(file, loc, problem))
    if env == "prod" and "DRY_RUN" in spec.secrets:
        problems.append(Problem(mfile, _field("model", ["secrets"]),
                                "prod must not have DRY_RUN at all, not even as a secret: the container "
                                "treats its presence as a dry run; remove it from secrets"))
    if env == "prod" and "DRY_RUN" in merged:
        _, file, loc = merged["DRY_RUN"]
        problems.append(Problem(file, loc, "prod must not set DRY_RUN at all: the container treats "
                                "any value, even 0 or empty, as a dry run; remove the key"))

    image = override.image or spec.image
    image_loc = (efile, _field("environment", [*oloc, "image"])) if override.image else (mfile, _field("model", ["image"]))
    problem = rules.image(image, allow_latest=environment.allow_latest_tag and env != "prod")
    if problem:
        problems.append(Problem(*image_loc, problem))

    cpu, memory = override.cpu or spec.cpu, override.memory or spec.memory
    problem = rules.fargate_size(cpu, memory)
    if problem:
        key = "cpu" if cpu not in rules.FARGATE_SIZES else "memory"
        loc = (efile, _field("environment", [*oloc, key])) if (override.cpu or override.memory) \
            else (mfile, _field("model", [key]))
        problems.append(Problem(*loc, problem))

    s = spec.schedule
    if s.start_date and s.end_date and s.end_date < s.start_date:
        problems.append(Problem(mfile, _field("model", ["schedule", "end_date"]),
                                f"{s.end_date} is before start_date {s.start_date}; the end must come after the start"))

    for what, name in naming.model_names(env, model).items():
        if len(name) > naming.LIMITS[what]:
            problems.append(Problem(mfile, "(file name)",
                                    f"the {what} {name!r} would be {len(name)} characters, AWS allows "
                                    f"{naming.LIMITS[what]}; shorten the model's file name"))
    if not re.fullmatch(r"[a-z][a-z0-9-]*", model):
        problems.append(Problem(mfile, "(file name)", f"{model!r} cannot name a CloudFormation stack; use "
                                f"lower-case letters, digits and '-', e.g. {naming.slug(model) or 'my-model'}.yaml"))

    configured = override.schedule_state or environment.schedule_state
    window = schedules.season_window(s.start_date, s.end_date, s.timezone, now) if not problems else \
        schedules.SeasonWindow(None, None, False, None)
    return ModelStack(
        env=env, name=model, image=image, cpu=cpu, memory=memory,
        capacity=override.capacity or spec.capacity,
        state=window.state(configured), configured_state=configured, season=window,
        schedule=s,
        variables=tuple(sorted((k, v[0]) for k, v in merged.items())),
        secrets=tuple(sorted(spec.secrets)),
        task_permissions=spec.task_permissions,
        log_retention_days=environment.log_retention_days,
        deletion_policy=environment.deletion_policy,
        logs_kms_key_arn=environment.logs_kms_key_arn,
        expected_duration_minutes=spec.expected_duration_minutes,
        log_megabytes_per_run=spec.log_megabytes_per_run,
        docs_as_of=project.docs_as_of,
        lab_timezone=project.lab_timezone,
    )
