"""Every setting of the project, its default and its check: the configuration's one schema.

Each default is written once, as the field's value, and each field says what it is for;
docs/configuration.md, the JSON Schema for model files (docs/model.schema.json) and the
README's table of model settings are generated from these classes (wm/reports/reference.py).
Unknown keys are errors (`extra="forbid"`), so a typo never passes silently.

Sections, each read from one file:
- `project`      config/config.yaml          what is the same everywhere
- `environment`  config/<env>/config.yaml    what differs per environment
- `model`        models/<name>.yaml          one model, declared once
- `deployer`     config/account/config.yaml  who may deploy from GitHub
- `job`          jobs/<name>.yaml            one fan-out job (AWS Batch), declared once
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import typing
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, field_validator

from wm.config import checks
from wm.config.problems import Problem

SECTION_FILES = {
    "project": "config/config.yaml",
    "environment": "config/{env}/config.yaml",
    "model": "models/{model}.yaml",
    "deployer": "config/account/config.yaml",
    "job": "jobs/{job}.yaml",
}
CONTRACT_SECRETS = ("GH_TOKEN", "GIT_CREDENTIALS", "SLACK_API_TOKEN")


class _Strict(BaseModel):
    # Unknown keys are errors; numbers and booleans are Strict* fields, so "1024" (text) or `true`
    # where a number belongs is an error, as docs/model.schema.json says, not silently converted.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
                              "(usually the lab's own).")
    docs_as_of: dt.date | None = Field(None, description="The snapshots, docs/ and `make cost` count runs from "
                                       "this day, so they change only when the config does (none: today).")

    @field_validator("lab_timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        _check(checks.timezone(v))
        return v


class RetrySpec(_Strict):
    """EventBridge Scheduler's retry policy: it covers only the call that starts a run (RunTask; SubmitJob for a job), not the run."""
    maximum_attempts: StrictInt = Field(
        3, ge=0, le=185, description="Retries of a failed start call, RunTask or a job's SubmitJob (Scheduler allows 0-185).")
    maximum_event_age_seconds: StrictInt = Field(
        3600, ge=60, le=86400, description="Seconds after which Scheduler stops retrying (60-86400).")


class ScheduleSpec(_Strict):
    """When a model runs (or a job is submitted): an EventBridge Scheduler expression in a time zone, within a season."""
    expression: str = Field(
        "cron(0 14 ? * WED *)",
        description="When to run (cron, rate or at; the default is after the models' 17:45 UTC data snapshot).")
    timezone: str = Field("America/New_York", description="IANA time zone of the expression.")
    flexible_window_minutes: StrictInt | None = Field(
        15, ge=1, le=1440, description="Scheduler may start up to this many minutes late (null: exactly on time).")
    start_date: dt.date | None = Field(None, description="First day of the season, e.g. 2026-10-01 (sent to AWS only until it begins).")
    end_date: dt.date | None = Field(None, description="Last day of the season, e.g. 2027-06-30 (after it the schedule is deployed DISABLED).")
    retry: RetrySpec = Field(default_factory=RetrySpec, description="Retries of a start Scheduler could not make.")

    @field_validator("expression")
    @classmethod
    def _expression(cls, v: str) -> str:
        _check(checks.schedule_expression(v))
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        _check(checks.timezone(v))
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
    image: str = Field(description="Docker image with a version tag (or digest), e.g. reichlab/flu_ar2:1.2.")
    hub: str | None = Field(None, description="Name of a hub in config/config.yaml; sets REPO_URL and REPO_UPSTREAM_URL.")
    variables: dict[str, str] = Field(default_factory=dict, description="Plain environment variables, e.g. MODEL_NAME.")
    secrets: tuple[str, ...] = Field(
        CONTRACT_SECRETS, description="Secret names read from Parameter Store (the container contract's three).")
    cpu: StrictInt = Field(1024, description="Fargate cpu units.")
    memory: StrictInt = Field(3072, description="Fargate memory, MiB; a size Fargate offers for the cpu.")
    capacity: Capacity = Field("FARGATE", description="FARGATE, or FARGATE_SPOT (cheaper, may be interrupted).")
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec, description="When the model runs.")
    task_permissions: tuple[PermissionSpec, ...] = Field(
        (), description="AWS permissions of the model's own code; a task role is made only when set.")
    expected_duration_minutes: StrictFloat = Field(
        30, gt=0, le=24 * 60, description="How long a run takes, in minutes, for `make cost`.")
    log_megabytes_per_run: StrictFloat = Field(
        5, ge=0, description="Log output of one run, in MB, for `make cost`.")

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v):
        for s in v:
            _check(checks.secret_name(s))
        twice = sorted({s for s in v if v.count(s) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is listed twice; list each secret once")
        return v


class ModelOverride(_Strict):
    """One model's settings that differ in one environment (environment.model_overrides)."""
    image: str | None = Field(None, description="Another image in this environment, e.g. a tag to try in dev.")
    cpu: StrictInt | None = Field(None, description="Another cpu size.")
    memory: StrictInt | None = Field(None, description="Another memory size.")
    capacity: Capacity | None = Field(None, description="Another capacity.")
    schedule_state: State | None = Field(None, description="Another schedule state for this model only.")
    variables: dict[str, str] = Field(default_factory=dict, description="Variables added or changed for this model.")


class NetworkSpec(_Strict):
    """The VPC the tasks run in: one made here, or an existing one."""
    vpc_cidr: str = Field("10.20.0.0/16", description="CIDR of the VPC this project creates.")
    existing_vpc_id: str | None = Field(None, description="Use this VPC instead of creating one.")
    existing_subnet_ids: tuple[str, ...] = Field((), description="Public subnets of existing_vpc_id, in two zones.")

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
    emails: tuple[str, ...] = Field((), description="Addresses subscribed to the alert topic; each confirms once by email.")
    slack: SlackSpec | None = Field(None, description="Slack delivery through AWS Chatbot (authorise the workspace once in the console).")
    run_history_retention_days: StrictInt = Field(
        731, description="Days the run history (/weekly-models/<env>/runs) is kept: two seasons.")

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
        _check(checks.log_retention(v))
        return v


def _kms_key(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/mrk-[0-9a-f]{32}", v):
        raise ValueError(f"{v!r} is not a KMS key ARN; use the key's full ARN, "
                         "arn:aws:kms:<region>:<account>:key/<key id> (IAM cannot scope to an alias)")
    return v


class EnvironmentSpec(_Strict):
    """config/<env>/config.yaml, sceptre_user_data.environment: what differs per environment."""
    schedule_state: State = Field("DISABLED", description="ENABLED or DISABLED; DISABLED unless set, so nothing runs by surprise.")
    variables: dict[str, str] = Field(default_factory=dict, description="Plain environment variables added to every model.")
    log_retention_days: StrictInt = Field(90, description="Days CloudWatch keeps model logs.")
    deletion_policy: Literal["Delete", "Retain"] = Field(
        "Retain", description="What happens to logs and queues when their stack goes.")
    allow_latest_tag: StrictBool = Field(False, description="Accept images tagged latest (never in prod).")
    cluster_name: str | None = Field(None, description="ECS cluster name (none: weekly-models-<env>).")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="Where the tasks run.")
    secrets_kms_key_arn: str | None = Field(
        None, description="Customer-managed KMS key of the SecureStrings (none: the AWS managed aws/ssm key).")
    logs_kms_key_arn: str | None = Field(
        None, description="Customer-managed KMS key for the log groups (none: CloudWatch's own encryption).")
    model_overrides: dict[str, ModelOverride] = Field(
        default_factory=dict, description="Settings of one model that differ in this environment, by model name.")
    alerts: AlertsSpec = Field(default_factory=AlertsSpec, description="Who hears of a failed or missing run.")
    batch_max_vcpus: StrictInt = Field(
        256, ge=1, le=4096, description="Most vCPUs all running jobs may use at once (each compute environment "
        "scales to zero when idle).")
    results_retention_days: StrictInt = Field(
        90, ge=1, description="Days the results bucket keeps a job's outputs.")
    batch_instance_family: str = Field(
        "c5", description="EC2 instance family of the EC2 compute environments, made only when a job has "
        "platform: EC2 (Batch launches any size of it, up to batch_max_vcpus per compute environment): "
        f"{', '.join(checks.INSTANCE_FAMILIES)}.")

    _kms = field_validator("secrets_kms_key_arn", "logs_kms_key_arn")(_kms_key)

    @field_validator("batch_instance_family")
    @classmethod
    def _family(cls, v):
        _check(checks.instance_family(v))
        return v

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v):
        _check(checks.log_retention(v))
        return v


# AWS Batch on Fargate takes these vCPU counts, each with Fargate's memory sizes (Batch user
# guide, "ResourceRequirement": VCPU 0.25-16 with the MEMORY values Fargate allows for it).
JOB_VCPUS = {0.25: 256, 0.5: 512, 1: 1024, 2: 2048, 4: 4096, 8: 8192, 16: 16384}


class JobSpec(_Strict):
    """jobs/<name>.yaml, sceptre_user_data.job: one fan-out job, the same in every environment."""
    image: str = Field(description="Docker image with a version tag (or digest), e.g. public.ecr.aws/docker/library/python:3.12-slim.")
    command: tuple[str, ...] = Field((), description="The container's command, one word per item (none: the image's own).")
    platform: Literal["FARGATE", "EC2"] = Field(
        "FARGATE", description="FARGATE, or EC2: instances of environment.batch_instance_family, for a child "
        "larger than Fargate allows (16 vCPUs, 120 GiB) or one with GPUs.")
    vcpus: StrictFloat | StrictInt = Field(1, description="vCPUs of each child: on FARGATE 0.25, 0.5, 1, 2, 4, 8 "
                                           "or 16; on EC2 a whole number up to the family's largest size.")
    memory: StrictInt = Field(2048, description="Memory of each child, MiB; on FARGATE a size Fargate offers for "
                              "the vCPUs, on EC2 up to 95% of the family's largest size.")
    gpus: StrictInt = Field(0, ge=0, description="GPUs of each child (EC2 on a family with GPUs only).")
    variables: dict[str, str] = Field(default_factory=dict, description="Plain environment variables.")
    secrets: tuple[str, ...] = Field((), description="Secret names read from Parameter Store, as a model's.")
    array_size: StrictInt = Field(1, ge=1, le=10000, description="Children per submission (1: a single job; "
                                  "each child reads its index from AWS_BATCH_JOB_ARRAY_INDEX).")
    parameter_sets: tuple[dict[str, str], ...] = Field(
        (), description="One set of values per child instead of array_size: every child gets the whole list as JSON "
        "in JOB_PARAMETER_SETS and takes entry AWS_BATCH_JOB_ARRAY_INDEX.")
    attempts: StrictInt = Field(3, ge=1, le=10, description="Tries per child; a Spot reclaim or a lost host is "
                                "retried, the job's own non-zero exit is not.")
    timeout_minutes: StrictInt = Field(240, ge=1, le=14 * 24 * 60, description="Limit of one attempt, in minutes.")
    capacity: Literal["SPOT", "ON_DEMAND"] = Field(
        "SPOT", description="SPOT (Spot capacity of the platform, on-demand behind it in the queue) or ON_DEMAND.")
    task_permissions: tuple[PermissionSpec, ...] = Field(
        (), description="AWS permissions of the job's own code, beyond writing under its results prefix.")
    schedule: ScheduleSpec | None = Field(
        None, description="When EventBridge Scheduler submits it, exactly like a model's schedule (same grammar, "
        "time zone, season; ENABLED per environment.schedule_state). None: only make submit submits it.")

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v):
        for s in v:
            _check(checks.secret_name(s))
        if len(set(v)) != len(v):
            raise ValueError("a secret is listed twice; list each secret once")
        return v

    @field_validator("parameter_sets")
    @classmethod
    def _sets(cls, v):
        if len(v) > 10000:
            raise ValueError(f"{len(v)} parameter sets; a submission has at most 10000 children")
        return v


class DeployerSpec(_Strict):
    """config/account/config.yaml, sceptre_user_data.deployer: who may deploy from GitHub."""
    github_repository: str = Field(description="owner/name of the lab's repository, e.g. reichlab/weekly-models.")
    github_environment: str = Field(
        "prod", description="The GitHub environment whose jobs may deploy (the workflow's deploy job); restrict "
        "it to main under the repository's Settings -> Environments.")
    existing_oidc_provider_arn: str | None = Field(
        None, description="The account's GitHub OIDC provider, when it has one already (none: create it).")

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



# --- reading one section -----------------------------------------------------------------

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


_YAML_TYPES = {bool: "true or false", int: "a number", float: "a number", dt.date: "a date", list: "a list",
               dict: "a mapping", type(None): "empty"}


def _message(e: dict, cls, loc) -> str:
    """pydantic's error in the words of someone editing a YAML file."""
    kind, value = e["type"], e.get("input")
    if kind == "extra_forbidden":
        return f"unknown key; the known keys here are: {', '.join(_model_at(cls, loc[:-1]).model_fields)}"
    if kind == "missing":
        return "is required"
    if kind == "string_type":
        what = _YAML_TYPES.get(type(value), type(value).__name__)
        if isinstance(value, (bool, int, float, dt.date)):
            return f"{value!r} is {what} in YAML, not text; quote it, e.g. \"{value}\""
        return f"must be text, not {what}"
    if kind in ("date_type", "date_from_datetime_parsing", "date_parsing", "date_from_datetime_inexact"):
        return f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-10-01"
    if kind in ("int_type", "float_type") and isinstance(value, bool):
        return f"{str(value).lower()} is true or false in YAML, not a number; write a plain number"
    if kind in ("int_type", "int_from_float") and isinstance(value, float):
        return f"{value} is not a whole number; write one, e.g. {int(value)}"
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing", "int_from_float") and isinstance(value, str):
        return f"{value!r} is text; write a plain number"
    if kind == "bool_type" or kind == "bool_parsing":
        return f"{value!r} is not true or false"
    return e["msg"].removeprefix("Value error, ")


def parse(cls, data, file: str, section: str) -> tuple[BaseModel | None, list[Problem]]:
    """One section validated: the spec, or None and every problem, each with its file and field."""
    try:
        return cls.model_validate(data if data is not None else {}), []
    except ValidationError as err:
        problems = [Problem(file, ".".join(["sceptre_user_data", section, *map(str, e["loc"])]),
                            _message(e, cls, e["loc"])) for e in err.errors()]
        return None, problems
