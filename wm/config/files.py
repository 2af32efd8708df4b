"""Read an environment's configuration from the files Sceptre reads, and validate all of it.

Sceptre merges `sceptre_user_data` down the folder tree (`sceptre_user_data_inheritance:
merge` in config/config.yaml); the sections never overlap, so the merge is the union
of: `project` (config/config.yaml), `environment` (config/<env>/config.yaml) and, for
model stacks, `model` (models/<name>.yaml, reached through the link config/<env>/models).
This module rebuilds the same dictionaries without Sceptre or AWS, so validation can
name the file of every problem and rendering needs no network; a test checks that
Sceptre's own rendering gives the same templates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from wm.config import names as naming
from wm.config.schema import ACCOUNT, SECTION_FILES, ConfigError, EnvStack, ModelStack, Problem, resolve

ENVIRONMENTS = ("dev", "prod")


class _SceptreYaml(yaml.SafeLoader):
    """Reads Sceptre's files: resolver tags (!stack_output ...) become opaque strings."""


_SceptreYaml.add_multi_constructor("!", lambda loader, tag, node: f"!{tag} {getattr(node, 'value', '')}")


def _read(path: Path, rel: str) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_SceptreYaml)  # noqa: S506 - SafeLoader subclass
    except FileNotFoundError:
        raise ConfigError([Problem(rel, "(file)", "file not found")]) from None
    except UnicodeDecodeError as err:
        raise ConfigError([Problem(rel, "(file)", f"not UTF-8 text ({err.reason} at byte {err.start}); "
                                   "save it as UTF-8")]) from None
    except OSError as err:
        raise ConfigError([Problem(rel, "(file)", f"cannot be read: {err.strerror}")]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(rel, "(file)", f"not valid YAML: {err}".replace("\n", " "))]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(rel, "(file)", "must be a mapping of keys to values")])
    return data


def _section(data: dict, rel: str, section: str, problems: list[Problem]):
    user = data.get("sceptre_user_data") or {}
    if not isinstance(user, dict):
        problems.append(Problem(rel, "sceptre_user_data", "must be a mapping"))
        return None
    extra = sorted(set(user) - {section, "stack"})
    for key in extra:
        problems.append(Problem(rel, f"sceptre_user_data.{key}", f"unknown section; this file holds only {section}"))
    return user.get(section)


def project_region(root: Path) -> str:
    """The region every stack is deployed to: `region` in config/config.yaml."""
    rel = SECTION_FILES["project"]
    region = _read(root / rel, rel).get("region")
    if not isinstance(region, str) or not region:
        raise ConfigError([Problem(rel, "region", "is required, e.g. region: us-east-1")])
    return region


_STACK_OUTPUT = re.compile(r"!stack_output (\S+)\.yaml::(\w+)")


def stack_inputs(root: Path, env: str, stacks) -> dict[str, dict[str, tuple[str, str]]]:
    """Stack path -> parameter -> (stack it comes from, that stack's output): the `!stack_output`
    parameters of the Sceptre configs, i.e. Sceptre's dependency graph."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for path in stacks:
        if "/models/" in path:  # the shared model settings, with the Jinja Sceptre would fill in
            text = (root / "models" / "config.yaml").read_text().replace("{{ env }}", env)
        else:
            text = (root / "config" / f"{path}.yaml").read_text()
        parameters = (yaml.load(text, Loader=_SceptreYaml) or {}).get("parameters") or {}  # noqa: S506
        out[path] = {name: _STACK_OUTPUT.fullmatch(value).groups() for name, value in parameters.items()
                     if isinstance(value, str) and _STACK_OUTPUT.fullmatch(value)}
    return out


def deploy_order(inputs: dict[str, dict[str, tuple[str, str]]]) -> list[str]:
    """Stacks in the order Sceptre deploys them: each after the stacks it takes outputs from."""
    done: list[str] = []
    while len(done) < len(inputs):
        ready = sorted(p for p, ins in inputs.items()
                       if p not in done and all(src in done for src, _ in ins.values()))
        if not ready:
            raise ConfigError([Problem("config/", "parameters", "the !stack_output references form a cycle")])
        done += ready
    return done


def read_template(text: str) -> dict:
    """A rendered or deployed template as data; intrinsic functions stay as their YAML tags' text."""
    return yaml.load(text, Loader=_SceptreYaml)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class Environment:
    name: str
    stacks: dict[str, EnvStack | ModelStack]  # Sceptre stack path -> spec, in a stable order

    @property
    def models(self) -> list[ModelStack]:
        return [s for s in self.stacks.values() if isinstance(s, ModelStack)]

    @property
    def placeholders(self) -> list[Problem]:
        """Values still marked PLACEHOLDER(...): fine locally, refused on a real account."""
        return sorted({p for s in self.stacks.values() for p in s.placeholders})


def user_data(root: Path, env: str) -> dict[str, dict]:
    """Stack path -> the sceptre_user_data Sceptre would pass to its template."""
    problems: list[Problem] = []
    if env == ACCOUNT:
        rel = SECTION_FILES["deployer"]
        deployer = _section(_read(root / rel, rel), rel, "deployer", problems)
        if problems:
            raise ConfigError(problems)
        return {f"{ACCOUNT}/{p.stem}": {"deployer": deployer, "stack": f"{ACCOUNT}/{p.stem}"}
                for p in sorted((root / "config" / ACCOUNT).glob("*.yaml")) if p.name != "config.yaml"}
    if env not in (*ENVIRONMENTS, ACCOUNT):
        raise ConfigError([Problem("ENV", env, f"unknown environment; use one of {', '.join(ENVIRONMENTS)}")])
    project_rel = SECTION_FILES["project"]
    env_rel = SECTION_FILES["environment"].format(env=env)
    common = {
        "project": _section(_read(root / project_rel, project_rel), project_rel, "project", problems),
        "environment": _section(_read(root / env_rel, env_rel), env_rel, "environment", problems),
    }
    out: dict[str, dict] = {}
    env_dir = root / "config" / env
    if not (env_dir / "models").is_dir():
        raise ConfigError([Problem(f"config/{env}/models", "(file)", "must be the link ../../models (ln -s "
                                   "../../models config/" + env + "/models); with git, keep core.symlinks on")])
    for path in sorted(env_dir.glob("*.yaml")):
        if path.name != "config.yaml":
            out[f"{env}/{path.stem}"] = {**common, "stack": f"{env}/{path.stem}"}
    for path in sorted((env_dir / "models").glob("*.yaml")):
        if path.name == "config.yaml":
            continue
        rel = SECTION_FILES["model"].format(model=path.stem)
        model = _section(_read(path, rel), rel, "model", problems)
        stack = f"{env}/models/{path.stem}"
        out[stack] = {**common, "model": model, "stack": stack}
    if not any(path.startswith(f"{env}/models/") for path in out):
        problems.append(Problem("models/", "(file)", "no model is declared; add models/<name>.yaml "
                                "(README: Add a model)"))
    if problems:
        raise ConfigError(problems)
    return out


def docs_moment(root: Path) -> dt.datetime | None:
    """Midnight UTC of `project.docs_as_of`: the moment snapshots and docs are rendered at, so they
    change only when the configuration does, never because a season began (None when unset)."""
    rel = SECTION_FILES["project"]
    project = ((_read(root / rel, rel).get("sceptre_user_data") or {}).get("project") or {})
    day = project.get("docs_as_of") if isinstance(project, dict) else None
    return dt.datetime.combine(day, dt.time(), dt.timezone.utc) if isinstance(day, dt.date) else None


def load(root: Path, env: str, now: dt.datetime | None = None) -> Environment:
    """Validate every stack of `env` as it would deploy at `now` (default: the current time);
    raise ConfigError with all problems found."""
    problems: list[Problem] = []
    stacks: dict = {}
    try:
        project_region(root)
    except ConfigError as err:
        problems += err.problems
    for path, data in user_data(root, env).items():
        try:
            stacks[path] = resolve(path, data, now=now)
        except ConfigError as err:
            problems += err.problems
    if env != ACCOUNT:
        problems += _whole_environment(root, env, stacks)
    if problems:
        raise ConfigError(problems)
    return Environment(env, stacks)


def _whole_environment(root: Path, env: str, stacks: dict) -> list[Problem]:
    """Checks that need every model at once."""
    out = []
    models = sorted(p.stem for p in (root / "config" / env / "models").glob("*.yaml") if p.name != "config.yaml")
    by_slug: dict[str, str] = {}
    for m in models:
        other = by_slug.setdefault(naming.slug(m), m)
        if other != m:
            out.append(Problem(f"models/{m}.yaml", "(file name)",
                               f"names the same AWS resources as models/{other}.yaml "
                               f"({naming.family(env, m)}); model names must be unique"))
    env_file = SECTION_FILES["environment"].format(env=env)
    environment = next((s.environment for s in stacks.values() if isinstance(s, EnvStack)), None)
    seen: dict[str, str] = {}
    for s in stacks.values():
        if isinstance(s, ModelStack):
            name = dict(s.variables).get("MODEL_NAME")
            if name and seen.setdefault(name, s.name) != s.name:
                # Name the file that set it: an env file's value wins over the model file's.
                where = (f"models/{s.name}.yaml", "sceptre_user_data.model.variables.MODEL_NAME")
                if environment is not None:
                    override = environment.model_overrides.get(s.name)
                    if override is not None and "MODEL_NAME" in override.variables:
                        where = (env_file, "sceptre_user_data.environment.model_overrides."
                                 f"{s.name}.variables.MODEL_NAME")
                    elif "MODEL_NAME" in environment.variables:
                        where = (env_file, "sceptre_user_data.environment.variables.MODEL_NAME")
                out.append(Problem(*where, f"{name!r} is already the MODEL_NAME of models/{seen[name]}.yaml; "
                                   "each model submits under its own name"))
    for s in stacks.values():
        if isinstance(s, EnvStack):
            for name in s.environment.model_overrides:
                if name not in models:
                    out.append(Problem(env_file, f"sceptre_user_data.environment.model_overrides.{name}",
                                       f"no model {name!r}; known: {', '.join(models)}"))
            break
    return out
