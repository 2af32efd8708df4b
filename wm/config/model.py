"""The configuration resolved: one object per environment, read once, that every command uses.

An `Environment` holds its settings once (project, environment section or deployer), its
models with every value merged, where each value came from (`Source`: file and field, or
the schema's default), the placeholders still to set, the notes and warnings, and its
stacks with the `!stack_output` inputs and the deploy order Sceptre uses. A `Stack` is
what a builder gets: its kind, its environment and, for a model stack, its model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from wm.config import names
from wm.config.problems import Problem
from wm.config.schedules import NO_SEASON, SeasonWindow
from wm.config.schema import DeployerSpec, EnvironmentSpec, PermissionSpec, ProjectSpec, ScheduleSpec

SHARED_KINDS = ("network", "iam", "cluster", "alerts")  # the shared stacks of an environment
OPTIONAL_KINDS = ("batch",)  # shared stacks an environment may have: batch runs jobs/
ACCOUNT = "account"  # config/account: the once-per-account deployer stack


@dataclass(frozen=True)
class Source:
    """Where a value came from: a file and field, or the schema's default."""
    file: str
    field: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}"


DEFAULT = "(default)"


@dataclass(frozen=True)
class Model:
    """One model as an environment deploys it: every setting merged, each with its source."""
    name: str
    env: str
    image: str
    cpu: int
    memory: int
    capacity: str
    configured_state: str     # what the configuration asks for
    state: str                # what is deployed: DISABLED once the season has ended
    season: SeasonWindow
    schedule: ScheduleSpec
    variables: tuple[tuple[str, str], ...]  # sorted by name
    secrets: tuple[str, ...]                # sorted
    task_permissions: tuple[PermissionSpec, ...]
    expected_duration_minutes: float
    log_megabytes_per_run: float
    sources: dict[str, Source] = field(default_factory=dict, compare=False, repr=False)

    @property
    def family(self) -> str:
        return names.family(self.env, self.name)

    @property
    def dry_run(self) -> bool:
        return "DRY_RUN" in dict(self.variables)

    @property
    def file(self) -> str:
        return f"models/{self.name}.yaml"


@dataclass(frozen=True)
class Job:
    """One fan-out job as an environment deploys it (jobs/<name>.yaml): AWS Batch on Fargate or EC2."""
    name: str
    env: str
    image: str
    command: tuple[str, ...]
    platform: str                            # FARGATE or EC2 (instances of environment.batch_instance_family)
    vcpus: float
    memory: int
    gpus: int                                # EC2 only
    capacity: str                            # SPOT (the platform's Spot capacity, on-demand behind it) or ON_DEMAND
    array_size: int                          # children per submission (1: a single job)
    parameter_sets: tuple[tuple[tuple[str, str], ...], ...]
    attempts: int
    timeout_minutes: int
    variables: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...]
    task_permissions: tuple[PermissionSpec, ...]
    schedule: ScheduleSpec | None = None     # None: submitted only by make submit
    configured_state: str = "DISABLED"       # what the configuration asks for its schedule
    state: str = "DISABLED"                  # what is deployed: DISABLED once the season has ended
    season: SeasonWindow = NO_SEASON
    sources: dict[str, Source] = field(default_factory=dict, compare=False, repr=False)

    @property
    def definition(self) -> str:
        return names.job_definition(self.env, self.name)

    @property
    def scheduled_name(self) -> str:
        """The name of every submission its schedule makes (make submit's carry a timestamp instead)."""
        return names.scheduled_submission(self.name)

    @property
    def file(self) -> str:
        return f"jobs/{self.name}.yaml"

    @property
    def queue(self) -> str:
        """The job queue it is submitted to: its platform's queue of its capacity."""
        return names.job_queue(self.env, self.capacity, self.platform)


@dataclass(frozen=True)
class Stack:
    """What a builder takes: one stack's kind, its environment and (model stacks) its model."""
    path: str                   # Sceptre's stack path, e.g. prod/models/flu-ar2
    kind: str                   # network, iam, cluster, alerts, batch, model, job or deployer
    env: Environment = field(compare=False, repr=False)
    model: Model | None = None
    job: Job | None = None

    @property
    def name(self) -> str:
        """The CloudFormation stack Sceptre makes for it."""
        return names.stack_name(self.path)


@dataclass
class Environment:
    """dev, prod or account, resolved once."""
    name: str
    root: Path
    region: str
    project: ProjectSpec | None
    settings: EnvironmentSpec | None = None
    deployer: DeployerSpec | None = None
    models: tuple[Model, ...] = ()
    jobs: tuple[Job, ...] = ()
    placeholders: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    sources: dict[str, Source] = field(default_factory=dict)
    stack_kinds: tuple[str, ...] = SHARED_KINDS
    # Sceptre's graph: stack path -> parameter -> (the stack it comes from, that stack's output),
    # and the deploy order in batches (filled from Sceptre's own reading of config/).
    inputs: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)
    now: dt.datetime | None = None

    @property
    def stacks(self) -> dict[str, Stack]:
        """Every stack, in a stable order: the shared ones, then one per model."""
        if self.name == ACCOUNT:
            return {f"{ACCOUNT}/deployer": Stack(f"{ACCOUNT}/deployer", "deployer", self)}
        out = {f"{self.name}/{kind}": Stack(f"{self.name}/{kind}", kind, self) for kind in self.stack_kinds}
        for m in self.models:
            out[f"{self.name}/models/{m.name}"] = Stack(f"{self.name}/models/{m.name}", "model", self, m)
        for j in self.jobs:
            out[f"{self.name}/jobs/{j.name}"] = Stack(f"{self.name}/jobs/{j.name}", "job", self, job=j)
        return out

    @property
    def order(self) -> list[str]:
        """Stack paths in Sceptre's deploy order (each after the stacks it takes outputs from)."""
        return [path for batch in self.batches for path in batch] or list(self.stacks)

    def model(self, name: str) -> Model | None:
        return next((m for m in self.models if m.name == name), None)

    def job(self, name: str) -> Job | None:
        return next((j for j in self.jobs if j.name == name), None)

    @property
    def cluster_name(self) -> str:
        return (self.settings.cluster_name if self.settings else None) or names.cluster_name(self.name)

    @property
    def lab_timezone(self) -> str:
        return self.project.lab_timezone if self.project else "UTC"

    @property
    def docs_as_of(self) -> dt.date | None:
        return self.project.docs_as_of if self.project else None

    @property
    def notes(self) -> list[str]:
        """What a person should know before deploying: the seasons' meaning today."""
        return [f"{m.file}: {m.season.note}" for m in self.models if m.season.note]


__all__ = ["ACCOUNT", "DEFAULT", "NO_SEASON", "OPTIONAL_KINDS", "SHARED_KINDS", "Environment", "Job", "Model", "Source",
           "Stack"]
