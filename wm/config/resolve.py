"""Read an environment's files once and resolve them into one `Environment` (wm/config/model.py).

The files are the ones Sceptre reads: `config/config.yaml` (project), `config/<env>/config.yaml`
(environment), the shared stacks' files in `config/<env>/` and one `models/<name>.yaml`
per model (through the link `config/<env>/models`). Each is read strictly (wm/config/yaml.py),
each section validated against the schema, the models merged with every value's source,
and the checks that need the whole environment made; every problem is collected and
raised at once as a ConfigError, before any AWS call. The stacks' inputs and their deploy
order come from Sceptre's own reading of the same files, so there is one dependency graph.

`from_user_data` resolves the one stack Sceptre renders from its sceptre_user_data, with
the same checks but those that need every model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from wm.config import checks, names, schedules, yaml
from wm.config.model import ACCOUNT, DEFAULT, OPTIONAL_KINDS, SHARED_KINDS, Environment, Job, Model, Source, Stack
from wm.config.problems import ConfigError, Problem
from wm.config.schema import (
    JOB_VCPUS,
    SECTION_FILES,
    DeployerSpec,
    EnvironmentSpec,
    JobSpec,
    ModelOverride,
    ModelSpec,
    ProjectSpec,
    ScheduleSpec,
    parse,
)

ENVIRONMENTS = ("dev", "prod")
# The parameter sets go into one environment variable of the job definition; CloudFormation takes a
# template body of at most 51,200 bytes (CloudFormation quotas), and the rest of a job stack is small.
PARAMETER_SETS_LIMIT = 30_000
PLACEHOLDER = re.compile(r"PLACEHOLDER\(([^)]*)\)")
TEMPLATES = {kind: f"{kind}.py" for kind in (*SHARED_KINDS, *OPTIONAL_KINDS, "model", "job", "deployer")}
UNREADABLE = object()  # a model file whose problem is that it cannot be read at all


def _field(section: str, *loc) -> str:
    return ".".join(["sceptre_user_data", section, *map(str, loc)])


def _section(data: dict, rel: str, section: str, problems: list[Problem]):
    user = data.get("sceptre_user_data") or {}
    if not isinstance(user, dict):
        problems.append(Problem(rel, "sceptre_user_data", "must be a mapping"))
        return None
    # stack and project_path: which stack Sceptre renders and the project it reads (config/config.yaml).
    for key in sorted(set(user) - {section, "stack", "project_path"}, key=str):
        problems.append(Problem(rel, f"sceptre_user_data.{key}", f"unknown section; this file holds only {section}"))
    return user.get(section)


def placeholders(data, file: str, section: str, loc=()) -> list[Problem]:
    """Every PLACEHOLDER(...) left in a section, wherever it is."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in placeholders(v, file, section, (*loc, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in placeholders(v, file, section, (*loc, i))]
    if isinstance(data, str):
        return [Problem(file, _field(section, *loc), f"still a placeholder ({m.group(1)}); set the real value",
                        placeholder=True) for m in PLACEHOLDER.finditer(data)]
    return []


# --- files ------------------------------------------------------------------------------------

def project_region(root: Path) -> str:
    """The region every stack is deployed to: `region` in config/config.yaml."""
    rel = SECTION_FILES["project"]
    data, _ = yaml.read(root / rel, rel)
    region = data.get("region")
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ConfigError([Problem(rel, "region", "is required, an AWS region, e.g. region: us-east-1")])
    return region


def docs_moment(root: Path) -> dt.datetime | None:
    """Midnight UTC of `project.docs_as_of`: the moment snapshots and docs are rendered at, so they
    change only when the configuration does, never because a season began (None when unset)."""
    rel = SECTION_FILES["project"]
    data, _ = yaml.read(root / rel, rel)
    project = (data.get("sceptre_user_data") or {}).get("project") or {}
    day = project.get("docs_as_of") if isinstance(project, dict) else None
    return dt.datetime.combine(day, dt.time(), dt.UTC) if isinstance(day, dt.date) else None


def model_files(root: Path, env: str, problems: list[Problem], folder_name: str = "models") -> list[Path]:
    """Every model (or job) file of an environment; anything else in the folder is a problem, not ignored."""
    what = folder_name[:-1]
    folder = root / "config" / env / folder_name
    if not folder.is_dir():
        if folder_name == "jobs":
            return []  # jobs are optional: an environment without the link has none
        raise ConfigError([Problem(f"config/{env}/{folder_name}", "(file)", f"must be the link ../../{folder_name} (ln -s "
                                   f"../../{folder_name} config/{env}/{folder_name}); with git, keep core.symlinks on")])
    out = []
    for path in sorted(folder.iterdir()):
        rel = f"{folder_name}/{path.name}"
        if path.name == "config.yaml":
            continue
        if path.name.startswith("."):
            problems.append(Problem(rel, "(file)", f"a hidden file in {folder_name}/ is never loaded; remove it"))
        elif path.is_dir():
            problems.append(Problem(rel, "(file)", f"a folder in {folder_name}/ is never loaded; {folder_name} are files "
                                    f"{folder_name}/<name>.yaml"))
        elif path.suffix == ".yml":
            problems.append(Problem(rel, "(file)", f"would not be loaded: {what} files end in .yaml; rename it "
                                    f"{folder_name}/{path.stem}.yaml"))
        elif path.suffix != ".yaml":
            problems.append(Problem(rel, "(file)", f"would not be loaded: only {folder_name}/<name>.yaml files are "
                                    f"{folder_name}; move it out of {folder_name}/"))
        else:
            out.append(path)
    return out


def _stack_files(root: Path, env: str, problems: list[Problem]) -> tuple[str, ...]:
    """The shared stacks of config/<env>/: each must be a known kind whose template names its builder."""
    found = []
    for path in sorted((root / "config" / env).glob("*.yaml")):
        if path.name == "config.yaml":
            continue
        rel = f"config/{env}/{path.name}"
        if path.stem not in (*SHARED_KINDS, *OPTIONAL_KINDS):
            problems.append(Problem(rel, "(file name)", f"no stack kind {path.stem!r}; the stacks of an environment "
                                    f"are {', '.join(SHARED_KINDS)}, optionally {', '.join(OPTIONAL_KINDS)}, "
                                    "models/<name> and jobs/<name>"))
            continue
        data, file_problems = yaml.read(path, rel)
        problems += file_problems
        template = (data.get("template") or {}).get("path") if isinstance(data.get("template"), dict) else None
        if template != TEMPLATES[path.stem]:
            problems.append(Problem(rel, "template.path", f"must be {TEMPLATES[path.stem]} (templates/"
                                    f"{TEMPLATES[path.stem]} builds a {path.stem} stack)"))
        found.append(path.stem)
    for kind in SHARED_KINDS:
        if kind not in found:
            problems.append(Problem(f"config/{env}/{kind}.yaml", "(file)", f"is missing; every environment has the "
                                    f"stacks {', '.join(SHARED_KINDS)}"))
    return tuple(k for k in (*SHARED_KINDS, *OPTIONAL_KINDS) if k in found)


# --- resolving ----------------------------------------------------------------------------------

def _merge_variables(env: str, name: str, project: ProjectSpec, settings: EnvironmentSpec, spec: ModelSpec,
                     override: ModelOverride, problems: list[Problem]) -> dict[str, tuple[str, Source]]:
    """A model's plain variables, later sources winning, each with where it came from."""
    mfile, efile, pfile = f"models/{name}.yaml", SECTION_FILES["environment"].format(env=env), SECTION_FILES["project"]
    merged: dict[str, tuple[str, Source]] = {}
    for var, value in project.variables.items():
        merged[var] = (value, Source(pfile, _field("project", "variables", var)))
    if spec.hub is not None:
        hub = project.hubs.get(spec.hub)
        if hub is None:
            problems.append(Problem(mfile, _field("model", "hub"),
                                    f"no hub {spec.hub!r} in {pfile}; known: {', '.join(project.hubs) or 'none'}"))
        else:
            merged["REPO_URL"] = (hub.repo_url, Source(pfile, _field("project", "hubs", spec.hub, "repo_url")))
            merged["REPO_UPSTREAM_URL"] = (hub.upstream_url,
                                           Source(pfile, _field("project", "hubs", spec.hub, "upstream_url")))
    for var, value in spec.variables.items():
        merged[var] = (value, Source(mfile, _field("model", "variables", var)))
    for var, value in settings.variables.items():
        merged[var] = (value, Source(efile, _field("environment", "variables", var)))
    for var, value in override.variables.items():
        merged[var] = (value, Source(efile, _field("environment", "model_overrides", name, "variables", var)))
    return merged


def _variable_problems(env: str, var: str, value: str, source: Source, secrets: tuple[str, ...],
                       what: str) -> list[Problem]:
    """One plain variable of a model or job: a valid name, not a secret by name or by value."""
    out = []
    problem = checks.env_var_name(var)
    if problem:
        out.append(Problem(source.file, source.field, problem))
    elif checks.looks_secret(var):
        out.append(Problem(source.file, source.field, f"{var} looks like a secret and must not be a plain value; "
                           f"remove it here, add {var} to the {what}'s secrets and store it with: "
                           f"make secret ENV={env} NAME={var}"))
    if var in secrets:
        out.append(Problem(source.file, source.field, f"{var} is also a secret; a name is either plain or secret"))
    problem = checks.secret_value(value)
    if problem:
        out.append(Problem(source.file, source.field, problem))
    return out


def _file_name_problems(file: str, name: str, what: str, aws_names: dict[str, str]) -> list[Problem]:
    """A model's or job's file name: it names a CloudFormation stack and, through names.py, AWS
    resources with length limits."""
    out = []
    for kind, aws_name in aws_names.items():
        if len(aws_name) > names.LIMITS[kind]:
            out.append(Problem(file, "(file name)", f"the {kind} {aws_name!r} would be {len(aws_name)} characters, "
                               f"AWS allows {names.LIMITS[kind]}; shorten the {what}'s file name"))
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        out.append(Problem(file, "(file name)", f"{name!r} cannot name a CloudFormation stack; use lower-case "
                           f"letters, digits and '-', e.g. {names.slug(name) or f'my-{what}'}.yaml"))
    return out


def _model(env: str, name: str, project: ProjectSpec, settings: EnvironmentSpec, spec: ModelSpec,
           now: dt.datetime, problems: list[Problem]) -> Model:
    mfile, efile = f"models/{name}.yaml", SECTION_FILES["environment"].format(env=env)
    override = settings.model_overrides.get(name) or ModelOverride()
    oloc = ("model_overrides", name)

    def chosen(key: str, model_key: str | None = None):
        """(value, source) of a setting a model may set and an override may change."""
        if getattr(override, key) is not None:
            return getattr(override, key), Source(efile, _field("environment", *oloc, key))
        model_key = model_key or key
        if model_key in spec.model_fields_set:
            return getattr(spec, model_key), Source(mfile, _field("model", model_key))
        return getattr(spec, model_key), Source(DEFAULT, f"ModelSpec.{model_key}")

    merged = _merge_variables(env, name, project, settings, spec, override, problems)
    for var, (value, source) in merged.items():
        problems += _variable_problems(env, var, value, source, spec.secrets, "model")
    if env == "prod" and "DRY_RUN" in spec.secrets:
        problems.append(Problem(mfile, _field("model", "secrets"),
                                "prod must not have DRY_RUN at all, not even as a secret: the container treats its "
                                "presence as a dry run; remove it from secrets"))
    if env == "prod" and "DRY_RUN" in merged:
        source = merged["DRY_RUN"][1]
        problems.append(Problem(source.file, source.field, "prod must not set DRY_RUN at all: the container treats "
                                "any value, even 0 or empty, as a dry run; remove the key"))

    image, image_source = chosen("image")
    problem = checks.image(image, allow_latest=settings.allow_latest_tag and env != "prod")
    if problem:
        problems.append(Problem(image_source.file, image_source.field, problem))

    (cpu, cpu_source), (memory, memory_source) = chosen("cpu"), chosen("memory")
    problem = checks.fargate_size(cpu, memory)
    if problem:
        source = cpu_source if cpu not in checks.FARGATE_SIZES else memory_source
        if source.file == DEFAULT:  # name the setting the person wrote, not the default beside it
            source = memory_source if source is cpu_source else cpu_source
        field_name = source.field.rsplit(".", 1)[0] + (".cpu" if cpu not in checks.FARGATE_SIZES else ".memory")
        problems.append(Problem(source.file, field_name, problem))

    s = spec.schedule
    problems += _season_problems(mfile, "model", s)
    problems += _file_name_problems(mfile, name, "model", names.model_names(env, name))

    state, state_source = (override.schedule_state, Source(efile, _field("environment", *oloc, "schedule_state"))) \
        if override.schedule_state else _environment_state(env, settings)
    window = schedules.season_window(s.start_date, s.end_date, s.timezone, now)
    capacity, capacity_source = chosen("capacity")
    sources = {"image": image_source, "cpu": cpu_source, "memory": memory_source, "capacity": capacity_source,
               "schedule_state": state_source,
               **{f"variables.{var}": source for var, (_, source) in merged.items()},
               "secrets": Source(mfile, _field("model", "secrets")) if "secrets" in spec.model_fields_set
               else Source(DEFAULT, "ModelSpec.secrets"),
               "schedule": Source(mfile, _field("model", "schedule")) if "schedule" in spec.model_fields_set
               else Source(DEFAULT, "ModelSpec.schedule")}
    return Model(name=name, env=env, image=image, cpu=cpu, memory=memory, capacity=capacity,
                 configured_state=state, state=window.state(state), season=window, schedule=s,
                 variables=tuple(sorted((k, v) for k, (v, _) in merged.items())), secrets=tuple(sorted(spec.secrets)),
                 task_permissions=spec.task_permissions, expected_duration_minutes=spec.expected_duration_minutes,
                 log_megabytes_per_run=spec.log_megabytes_per_run, sources=sources)


def _season_problems(file: str, section: str, s: ScheduleSpec) -> list[Problem]:
    if s.start_date and s.end_date and s.end_date < s.start_date:
        return [Problem(file, _field(section, "schedule", "end_date"),
                        f"{s.end_date} is before start_date {s.start_date}; the end must come after the start")]
    return []


def _environment_state(env: str, settings: EnvironmentSpec) -> tuple[str, Source]:
    """The environment's schedule_state and where it came from."""
    efile = SECTION_FILES["environment"].format(env=env)
    return settings.schedule_state, (Source(efile, _field("environment", "schedule_state"))
                                     if "schedule_state" in settings.model_fields_set
                                     else Source(DEFAULT, "EnvironmentSpec.schedule_state"))


def _job(env: str, name: str, spec: JobSpec, settings: EnvironmentSpec | None, now: dt.datetime,
         problems: list[Problem]) -> Job:
    """One job resolved: every setting is the job file's own (or the schema's default)."""
    jfile = f"jobs/{name}.yaml"

    def source(key: str) -> Source:
        return Source(jfile, _field("job", key)) if key in spec.model_fields_set else Source(DEFAULT, f"JobSpec.{key}")

    problem = checks.image(spec.image, allow_latest=False)
    if problem:
        problems.append(Problem(jfile, _field("job", "image"), problem))
    for var, value in spec.variables.items():
        problems += _variable_problems(env, var, value, Source(jfile, _field("job", "variables", var)), spec.secrets,
                                       "job")
    larger = "; a child larger than Fargate allows (16 vCPUs, 120 GiB) runs with platform: EC2"
    if spec.platform == "EC2":
        if spec.vcpus != int(spec.vcpus) or spec.vcpus < 1:
            near = "1 or more" if spec.vcpus < 1 else f"{int(spec.vcpus)} or {int(spec.vcpus) + 1}"
            problems.append(Problem(jfile, _field("job", "vcpus"), f"{spec.vcpus:g} vCPUs: a child on EC2 takes whole "
                                    f"vCPUs; use {near}"))
    elif spec.vcpus not in JOB_VCPUS:
        problems.append(Problem(jfile, _field("job", "vcpus"), f"{spec.vcpus} vCPUs is not a Fargate size; use one of "
                                f"{', '.join(f'{v:g}' for v in JOB_VCPUS)}{larger}"))
    else:
        problem = checks.fargate_size(JOB_VCPUS[spec.vcpus], spec.memory)
        if problem:
            problems.append(Problem(jfile, _field("job", "memory"),
                                    problem.replace(f"cpu {JOB_VCPUS[spec.vcpus]}", f"{spec.vcpus:g} vCPUs") + larger))
    if spec.platform == "FARGATE" and spec.gpus:
        problems.append(Problem(jfile, _field("job", "gpus"), f"{spec.gpus} GPUs: Fargate has none; set platform: EC2 "
                                "and an environment.batch_instance_family with GPUs (" + ", ".join(
                                    f for f, (_, _, _, g) in checks.INSTANCE_FAMILIES.items() if g) + ")"))
    if spec.parameter_sets and "array_size" in spec.model_fields_set:
        problems.append(Problem(jfile, _field("job", "array_size"), "give array_size or parameter_sets, not both: "
                                "with parameter_sets there is one child per set"))
    sets = len(json.dumps(spec.parameter_sets, separators=(",", ":"))) if spec.parameter_sets else 0
    if sets > PARAMETER_SETS_LIMIT:
        problems.append(Problem(jfile, _field("job", "parameter_sets"), f"{sets} characters of parameter sets; they "
                                f"travel in the job definition (JOB_PARAMETER_SETS), which holds at most "
                                f"{PARAMETER_SETS_LIMIT}: use array_size and let each child read its inputs by its index"))
    for i, p in enumerate(spec.task_permissions):
        for r in p.resources:
            if f":s3:::{names.env_prefix(env)}-results" in r or f":s3:::{names.PROJECT}-" in r:
                problems.append(Problem(jfile, _field("job", "task_permissions", i, "resources"),
                                        f"{r} is this project's own bucket: a job reaches the results bucket only "
                                        "under its own prefix, which it has already; remove it"))
    for i, values in enumerate(spec.parameter_sets):
        for key in values:
            if checks.env_var_name(key):
                problems.append(Problem(jfile, _field("job", "parameter_sets", i, key), checks.env_var_name(key)))
    problems += _file_name_problems(jfile, name, "job", names.job_names(env, name, spec.schedule is not None))
    if name.startswith(names.SCHEDULED_PREFIX):
        problems.append(Problem(jfile, "(file name)", f"{name!r} starts with {names.SCHEDULED_PREFIX!r}, which names "
                                "the submissions a schedule makes (the run history counts those); rename the file, "
                                f"e.g. {name.removeprefix(names.SCHEDULED_PREFIX)}.yaml"))
    size = len(spec.parameter_sets) or spec.array_size
    sources = {k: source(k) for k in JobSpec.model_fields}
    scheduled = {}
    if spec.schedule is not None:
        s = spec.schedule
        problems += _season_problems(jfile, "job", s)
        state, sources["schedule_state"] = _environment_state(env, settings) if settings else (
            "DISABLED", Source(DEFAULT, "EnvironmentSpec.schedule_state"))
        window = schedules.season_window(s.start_date, s.end_date, s.timezone, now)
        scheduled = dict(schedule=s, configured_state=state, state=window.state(state), season=window)
    return Job(name=name, env=env, image=spec.image, command=spec.command, platform=spec.platform,
               vcpus=float(spec.vcpus), memory=spec.memory, gpus=spec.gpus, capacity=spec.capacity, array_size=size,
               parameter_sets=tuple(tuple(sorted(p.items())) for p in spec.parameter_sets),
               attempts=spec.attempts, timeout_minutes=spec.timeout_minutes,
               variables=tuple(sorted(spec.variables.items())), secrets=tuple(sorted(spec.secrets)),
               task_permissions=spec.task_permissions, sources=sources, **scheduled)


def _ec2_fit(j: Job, settings: EnvironmentSpec, efile: str) -> list[Problem]:
    """An EC2 job's child against the largest instance of the environment's family: a child no
    instance can hold stays RUNNABLE for ever on AWS, so it is refused here."""
    family = settings.batch_instance_family
    size, vcpus, _, gpus = checks.INSTANCE_FAMILIES[family]
    memory = checks.ec2_memory_limit(family)
    setting = f"{efile}: sceptre_user_data.environment.batch_instance_family: {family}"

    # The families whose largest size holds the whole child: its vCPUs, memory and GPUs together.
    fits = [f for f, (_, v, _, g) in checks.INSTANCE_FAMILIES.items()
            if v >= j.vcpus and checks.ec2_memory_limit(f) >= j.memory and g >= j.gpus]

    hint = (f", or set batch_instance_family to a family that holds it ({', '.join(fits)})" if fits
            else " (no family here holds it)")

    out = []
    if j.vcpus > vcpus:
        out.append(Problem(j.file, _field("job", "vcpus"), f"{j.vcpus:g} vCPUs per child; the largest {family} "
                           f"instance ({size}) has {vcpus} ({setting}): ask for at most {vcpus}{hint}"))
    if j.memory > memory:
        out.append(Problem(j.file, _field("job", "memory"), f"{j.memory} MiB per child; the largest {family} instance "
                           f"({size}) leaves {memory} MiB to jobs, 95% of its memory, the rest kept for the ECS agent "
                           f"and the system ({setting}): ask for at most {memory}{hint}"))
    if j.gpus and not gpus:
        out.append(Problem(j.file, _field("job", "gpus"), f"{j.gpus} GPUs per child; {family} instances have none "
                           f"({setting}): set gpus: 0{hint}"))
    elif j.gpus > gpus:
        out.append(Problem(j.file, _field("job", "gpus"), f"{j.gpus} GPUs per child; the largest {family} instance "
                           f"({size}) has {gpus} ({setting}): ask for at most {gpus}"))
    return out


def _environment_problems(env: str, settings: EnvironmentSpec) -> list[Problem]:
    efile = SECTION_FILES["environment"].format(env=env)
    out = []
    if env == "prod" and settings.allow_latest_tag:
        out.append(Problem(efile, _field("environment", "allow_latest_tag"), "prod must run pinned images; set it to false"))
    net = settings.network
    if net.existing_vpc_id and len(net.existing_subnet_ids) < 2:
        out.append(Problem(efile, _field("environment", "network", "existing_subnet_ids"),
                           "name at least two public subnets of existing_vpc_id, in two zones"))
    if net.existing_subnet_ids and not net.existing_vpc_id:
        out.append(Problem(efile, _field("environment", "network", "existing_vpc_id"),
                           "subnets were given without the VPC they belong to"))
    return out


def _whole_environment(env: str, settings: EnvironmentSpec, models: list[Model], declared: list[str]) -> list[Problem]:
    """The checks that need every model at once."""
    efile = SECTION_FILES["environment"].format(env=env)
    out, by_slug, by_model_name = [], {}, {}
    for m in sorted(models, key=lambda m: m.name):
        other = by_slug.setdefault(names.slug(m.name), m.name)
        if other != m.name:
            out.append(Problem(m.file, "(file name)", f"names the same AWS resources as models/{other}.yaml "
                               f"({names.family(env, m.name)}); model names must be unique"))
        model_name = dict(m.variables).get("MODEL_NAME")
        if model_name and by_model_name.setdefault(model_name, m.name) != m.name:
            source = m.sources["variables.MODEL_NAME"]  # the file that set it: an override wins over the model
            out.append(Problem(source.file, source.field, f"{model_name!r} is already the MODEL_NAME of "
                               f"models/{by_model_name[model_name]}.yaml; each model submits under its own name"))
    known = sorted(declared)  # every model file, even one with problems of its own
    for name in settings.model_overrides:
        if name not in known:
            out.append(Problem(efile, _field("environment", "model_overrides", name),
                               f"no model {name!r}; known: {', '.join(known)}"))
    return out


def _warnings(env: str, project: ProjectSpec, models: list[Model], jobs: list[Job]) -> list[Problem]:
    out = []
    for what, items in (("model", models), ("job", [j for j in jobs if j.schedule])):
        for m in items:
            warning = checks.timezone_warning(m.schedule.timezone, project.lab_timezone)
            if warning:
                out.append(Problem(m.file, _field(what, "schedule", "timezone"), warning, warning=True))
    return out


def _specs(sections: dict[str, object], folder: str, cls, section: str, problems: list[Problem],
           found_placeholders: list[Problem]) -> list[tuple[str, object]]:
    """Each readable model (or job) file's section validated: (name, spec) of those that are valid;
    every problem and placeholder added to the lists given."""
    out = []
    for name, data in sections.items():
        if data is UNREADABLE:
            continue
        file = f"{folder}/{name}.yaml"
        spec, found = parse(cls, data, file, section)
        problems += found
        found_placeholders += placeholders(data, file, section)
        if spec is not None:
            out.append((name, spec))
    return out


def _resolve(env: str, root: Path, region: str, sections: dict, model_sections: dict[str, object],
             stack_kinds: tuple[str, ...], now: dt.datetime, whole: bool,
             problems: list[Problem], job_sections: dict[str, object] | None = None) -> Environment:
    """Sections -> Environment; adds every problem found to `problems`."""
    pfile, efile = SECTION_FILES["project"], SECTION_FILES["environment"].format(env=env)
    project, found = parse(ProjectSpec, sections.get("project"), pfile, "project")
    problems += found
    found_placeholders = placeholders(sections.get("project"), pfile, "project")
    if env == ACCOUNT:
        deployer, found = parse(DeployerSpec, sections.get("deployer"), SECTION_FILES["deployer"], "deployer")
        problems += found
        # The deployer stack uses nothing of the project section: only its own placeholders block it.
        found_placeholders = placeholders(sections.get("deployer"), SECTION_FILES["deployer"], "deployer")
        return Environment(ACCOUNT, root, region, project, deployer=deployer,
                           placeholders=tuple(sorted(set(found_placeholders))), now=now)
    settings, found = parse(EnvironmentSpec, sections.get("environment"), efile, "environment")
    problems += found
    found_placeholders += placeholders(sections.get("environment"), efile, "environment")
    if settings is not None:
        problems += _environment_problems(env, settings)
    models = [_model(env, name, project, settings, spec, now, problems)
              for name, spec in _specs(model_sections, "models", ModelSpec, "model", problems, found_placeholders)
              if project is not None and settings is not None]
    jobs = [_job(env, name, spec, settings, now, problems)
            for name, spec in _specs(job_sections or {}, "jobs", JobSpec, "job", problems, found_placeholders)]
    if settings is not None:
        for j in jobs:
            if j.vcpus > settings.batch_max_vcpus:
                problems.append(Problem(j.file, _field("job", "vcpus"), f"{j.vcpus:g} vCPUs per child is more than the "
                                        f"compute environments ever run at once ({efile}: sceptre_user_data.environment."
                                        f"batch_max_vcpus: {settings.batch_max_vcpus}), so no child would ever start"))
            if j.platform == "EC2":
                problems += _ec2_fit(j, settings, efile)
    if job_sections and "batch" not in stack_kinds:
        problems.append(Problem(f"config/{env}/batch.yaml", "(file)", "is missing: jobs/ declares jobs, and they run "
                                "on the environment's batch stack (copy config/dev/batch.yaml)"))
    warnings: list[Problem] = []
    if whole and settings is not None and project is not None:
        problems += _whole_environment(env, settings, models, list(model_sections))
        warnings = _warnings(env, project, models, jobs)
    return Environment(env, root, region, project, settings, models=tuple(sorted(models, key=lambda m: m.name)),
                       jobs=tuple(sorted(jobs, key=lambda j: j.name)), placeholders=tuple(sorted(set(found_placeholders))), warnings=tuple(warnings),
                       stack_kinds=stack_kinds, now=now)


def load(root: Path, env: str, now: dt.datetime | None = None, graph: bool = True) -> Environment:
    """Every file of `env` read, validated and resolved as it would deploy at `now` (default: the
    current time); every problem raised at once as ConfigError. `graph=False` skips asking
    Sceptre for the stacks' inputs and order (rendering alone needs neither)."""
    if env not in (*ENVIRONMENTS, ACCOUNT):
        raise ConfigError([Problem("ENV", env, f"unknown environment; use one of {', '.join(ENVIRONMENTS)}")])
    now = now or dt.datetime.now(dt.UTC)
    problems: list[Problem] = []
    try:
        region = project_region(root)
    except ConfigError as err:
        problems += err.problems
        region = "us-east-1"
    pfile = SECTION_FILES["project"]
    project_data, found = _read(root / pfile, pfile, problems)
    problems += found
    sections = {"project": _section(project_data or {}, pfile, "project", problems)}
    model_sections: dict[str, object] = {}
    job_sections: dict[str, object] = {}
    stack_kinds: tuple[str, ...] = ()
    if env == ACCOUNT:
        dfile = SECTION_FILES["deployer"]
        data, found = _read(root / dfile, dfile, problems)
        problems += found
        sections["deployer"] = _section(data or {}, dfile, "deployer", problems)
        for path in sorted((root / "config" / ACCOUNT).glob("*.yaml")):
            if path.name not in ("config.yaml", "deployer.yaml"):
                problems.append(Problem(f"config/{ACCOUNT}/{path.name}", "(file name)",
                                        "config/account holds only deployer.yaml"))
    else:
        efile = SECTION_FILES["environment"].format(env=env)
        data, found = _read(root / efile, efile, problems)
        problems += found
        sections["environment"] = _section(data or {}, efile, "environment", problems)
        stack_kinds = _stack_files(root, env, problems)
        files = model_files(root, env, problems)
        for path in files:
            rel = f"models/{path.name}"
            data, found = _read(path, rel, problems)
            problems += found
            # Unreadable: its problem is said; checking its settings would only add noise.
            model_sections[path.stem] = UNREADABLE if data is None else _section(data, rel, "model", problems)
        if not files and not any(p.file.startswith("models/") for p in problems):
            problems.append(Problem("models/", "(file)", "no model is declared; add models/<name>.yaml "
                                    "(README: Add a model)"))
        job_sections = _job_sections(root, env, problems)
    e = _resolve(env, root, region, sections, model_sections, stack_kinds, now, True, problems, job_sections)
    if [p for p in problems if not p.warning]:
        raise ConfigError(problems)
    if graph:
        e.inputs, e.batches = sceptre_graph(root, env, e)
    return e


def _job_sections(root: Path, env: str, problems: list[Problem]) -> dict[str, object]:
    """Each job file's section (UNREADABLE for a file that cannot be read), by job name."""
    out: dict[str, object] = {}
    for path in model_files(root, env, problems, "jobs"):
        rel = f"jobs/{path.name}"
        data, found = _read(path, rel, problems)
        problems += found
        out[path.stem] = UNREADABLE if data is None else _section(data, rel, "job", problems)
    return out


def _read(path: Path, rel: str, problems: list[Problem]) -> tuple[dict | None, list[Problem]]:
    """The file's mapping, or None (its problem added) when it cannot be read as one."""
    try:
        return yaml.read(path, rel)
    except ConfigError as err:
        problems += err.problems
        return None, []


def sceptre_graph(root: Path, env: str, e: Environment) -> tuple[dict, list[list[str]]]:
    """Each stack's `!stack_output` inputs and the deploy order, as Sceptre reads config/."""
    from sceptre.context import SceptreContext
    from sceptre.plan.plan import SceptrePlan

    plan = SceptrePlan(SceptreContext(command_path=env, project_path=str(root)))
    inputs = {}
    for stack in plan.graph:
        raw = stack.__dict__.get("_parameters") or {}
        inputs[stack.name] = {k: tuple(v.argument.split("::", 1)) for k, v in raw.items()
                              if type(v).__name__ == "StackOutput"}
        inputs[stack.name] = {k: (src.removesuffix(".yaml"), out) for k, (src, out) in inputs[stack.name].items()}
    plan.resolve("launch")
    batches = [sorted(s.name for s in batch) for batch in plan.launch_order]
    missing = sorted(set(e.stacks) - set(inputs))
    if missing:
        raise ConfigError([Problem(f"config/{env}/", "(stacks)", f"Sceptre does not see {', '.join(missing)}")])
    return inputs, batches


def from_user_data(kind: str, user_data: dict, now: dt.datetime | None = None) -> Stack:
    """The one stack Sceptre renders, from its sceptre_user_data (`stack` names it, e.g. dev/models/flu-ar2)."""
    now = now or dt.datetime.now(dt.UTC)
    path = user_data.get("stack", "")
    env, _, rest = path.partition("/")
    model = rest.split("/", 1)[1] if rest.startswith("models/") else None
    job = rest.split("/", 1)[1] if rest.startswith("jobs/") else None
    problems: list[Problem] = []
    wanted = "model" if model else "job" if job else (rest if env != ACCOUNT else "deployer")
    if wanted != kind:
        raise ConfigError([Problem(f"config/{path}.yaml", "template.path", f"builds a {kind} stack, but {path} is "
                                   f"a {wanted} stack; use template path {TEMPLATES.get(wanted, '?')}")])
    for key in sorted(set(user_data) - {"project", "environment", "model", "job", "deployer", "stack", "project_path"}):
        problems.append(Problem(f"config/{path}.yaml", f"sceptre_user_data.{key}", "unknown section"))
    kinds = (*SHARED_KINDS, *OPTIONAL_KINDS) if env != ACCOUNT else ()
    jobs = {job: user_data.get("job")} if job else {}
    if kind in SHARED_KINDS or kind in OPTIONAL_KINDS:
        # A shared stack's shape follows the environment's jobs (the EC2 capacity exists only for EC2
        # jobs), which no stack's sceptre_user_data holds: they are read from the project Sceptre
        # names (config/config.yaml: project_path), as `load` reads them.
        root = user_data.get("project_path")
        if root:
            jobs = _job_sections(Path(root), env, problems)
        elif env != ACCOUNT:
            problems.append(Problem("config/config.yaml", "sceptre_user_data.project_path", "is missing: the shared "
                                    "stacks read jobs/ through it (an EC2 job needs EC2 capacity in them); add "
                                    "project_path: \"{{ project_path }}\" under sceptre_user_data"))
    e = _resolve(env, Path("."), "", user_data, {model: user_data.get("model")} if model else {},
                 kinds, now, False, problems, jobs)
    if [p for p in problems if not p.warning]:
        raise ConfigError(problems)
    return e.stacks[path]
