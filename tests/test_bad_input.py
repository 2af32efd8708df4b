"""A table of bad configurations: each is refused with file, field and what would be right.

Every case edits one file of a copy of the repository's config/, whose models/ are the two
frozen files of tests/fixtures/bad-input (so the table does not change when the lab's
models do), then runs `wm validate` and `wm render`: both must exit 2 without a
traceback, name the file and the field, say what would be right, and render nothing.
A second table writes files as raw text, for what YAML itself builds: duplicate keys,
anchors and aliases, dates and numbers YAML reads its own way, files that would not load.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from wm import cli
from wm.config import checks

REPO = Path(__file__).resolve().parents[1]
FROZEN_MODELS = REPO / "tests" / "fixtures" / "bad-input" / "models"

# Sceptre's tags (!stack_attr, !wm_reviewed_plan, ...) cannot be read by yaml.safe_load; each is
# swapped for a sentinel string while a file is edited, then put back verbatim.
TAG = re.compile(r"!(\w+)")
SENTINEL = "__SCEPTRE_TAG__"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A copy of config/ and models/ in tmp_path, with cli.ROOT pointing at it."""
    (tmp_path / "models").mkdir()
    for f in FROZEN_MODELS.glob("*.yaml"):
        shutil.copy(f, tmp_path / "models" / f.name)
    shutil.copy(REPO / "models" / "config.yaml", tmp_path / "models" / "config.yaml")
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    for env in ("dev", "prod"):
        d = tmp_path / "config" / env
        d.mkdir()
        for f in (REPO / "config" / env).glob("*.yaml"):
            if not f.is_symlink():
                shutil.copy(f, d / f.name)
        (d / "models").symlink_to(Path("..", "..", "models"))
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    return tmp_path


# --- editing helpers -------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Double quotes for text with a single quote: Sceptre renders each file with Jinja first, and
    YAML's doubled single quotes ('') inside {{ ... }} are not Jinja."""


_Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"' if "'" in s else None))


def edit_yaml(path: Path, fn) -> None:
    """Load `path` (safe_load, with the one Sceptre tag line preserved), apply fn, write back."""
    text = path.read_text()
    data = yaml.safe_load(TAG.sub(rf"{SENTINEL}\1", text))
    fn(data)
    out = yaml.dump(data, Dumper=_Dumper, sort_keys=False)
    out = re.sub(rf"{SENTINEL}(\w+)", r"!\1", out)

    def tags(s: str) -> list[str]:
        return [tag for line in s.splitlines() if not line.lstrip().startswith("#") for tag in TAG.findall(line)]

    assert tags(out) == tags(text), "a Sceptre tag was lost in the edit"
    path.write_text(out)


class FileOp:
    """An edit that works on files (rename, copy) rather than on one file's contents."""

    def __init__(self, fn):
        self.fn = fn


def apply(root: Path, rel: str, edit) -> None:
    if isinstance(edit, FileOp):
        edit.fn(root / rel)
    else:
        edit_yaml(root / rel, edit)


def _section(data: dict, section: str) -> dict:
    return data.setdefault("sceptre_user_data", {}).setdefault(section, {})


def _set(section: str, *keys, value):
    """Edit: set sceptre_user_data.<section>.<keys...> = value, creating mappings on the way."""
    def fn(data):
        d = _section(data, section)
        for k in keys[:-1]:
            if not isinstance(d.get(k), dict):
                d[k] = {}
            d = d[k]
        d[keys[-1]] = value
    return fn


def model(*keys, value):
    return _set("model", *keys, value=value)


def environment(*keys, value):
    return _set("environment", *keys, value=value)


def project(*keys, value):
    return _set("project", *keys, value=value)


def both(*edits):
    def fn(data):
        for e in edits:
            e(data)
    return fn


def rename_to(name: str) -> FileOp:
    return FileOp(lambda path: path.rename(path.with_name(name)))


def copy_to(name: str, *edits) -> FileOp:
    def fn(path):
        new = path.with_name(name)
        shutil.copy(path, new)
        for e in edits:
            edit_yaml(new, e)
    return FileOp(fn)


MODEL = "models/flu-ar2.yaml"
# The pinned image of the frozen model file these cases edit (tests/fixtures/bad-input), read from
# it, so that refreshing the fixture from a bumped model changes no case.
PINNED = yaml.safe_load((FROZEN_MODELS / Path(MODEL).name).read_text())["sceptre_user_data"]["model"]["image"]
REPOSITORY = PINNED.rsplit(":", 1)[0]
HINT_TAG = "1.2"  # the version checks.image's hint suggests for an untagged image, not a model's tag
DEV = "config/dev/config.yaml"
PROD = "config/prod/config.yaml"
PROJECT = "config/config.yaml"
F = "sceptre_user_data.model."
E = "sceptre_user_data.environment."
P = "sceptre_user_data.project."
MEM_1024 = "2048, 3072, 4096, 5120, 6144, 7168, 8192"
CRON_HINT = "cron(0 14 ? * WED *)"
LONG_DEV_ROLE = "flu-" + "x" * 32        # 36 characters: task role name 65 > 64
LONG_DEV_SCHEDULE = "flu-" + "x" * 37    # 41 characters: schedule name 65 > 64

# (description, env, file to edit, edit, file in the message, field in the message, hint in the message)
CASES = [
    # --- Fargate sizes
    ("cpu/memory pair Fargate does not offer", "dev", MODEL,
     both(model("cpu", value=1024), model("memory", value=1024)),
     MODEL, F + "memory", MEM_1024),
    ("memory between the valid sizes", "prod", MODEL,
     both(model("cpu", value=1024), model("memory", value=2500)),
     MODEL, F + "memory", MEM_1024),
    ("cpu that is not a Fargate size", "dev", MODEL, model("cpu", value=1000),
     MODEL, F + "cpu", "256, 512, 1024, 2048, 4096, 8192, 16384"),
    ("override with a bad memory", "prod", PROD,
     environment("model_overrides", "flu-ar2", value={"cpu": 1024, "memory": 1000}),
     PROD, E + "model_overrides.flu-ar2.memory", MEM_1024),
    # --- schedule expressions
    ("cron with 5 fields", "dev", MODEL, model("schedule", "expression", value="cron(0 14 * * WED)"),
     MODEL, F + "schedule.expression", "has 5 fields, cron needs 6"),
    ("cron with both day fields set", "dev", MODEL,
     model("schedule", "expression", value="cron(0 14 1 * WED *)"),
     MODEL, F + "schedule.expression", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron with neither day field set", "dev", MODEL,
     model("schedule", "expression", value="cron(0 14 ? * ? *)"),
     MODEL, F + "schedule.expression", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron hour out of range", "dev", MODEL,
     model("schedule", "expression", value="cron(0 24 ? * WED *)"),
     MODEL, F + "schedule.expression", "hours field '24'"),
    ("rate(0 days)", "dev", MODEL, model("schedule", "expression", value="rate(0 days)"),
     MODEL, F + "schedule.expression", "positive whole number"),
    ("rate(1 days)", "dev", MODEL, model("schedule", "expression", value="rate(1 days)"),
     MODEL, F + "schedule.expression", "rate(1 day)"),
    ("rate(7 day)", "dev", MODEL, model("schedule", "expression", value="rate(7 day)"),
     MODEL, F + "schedule.expression", "singular unit for 1 and the plural otherwise"),
    ("at() without a time", "dev", MODEL, model("schedule", "expression", value="at(2026-12-02)"),
     MODEL, F + "schedule.expression", "at(2026-12-02T14:00:00)"),
    ("at() with a date that does not exist", "dev", MODEL,
     model("schedule", "expression", value="at(2026-13-45T14:00:00)"),
     MODEL, F + "schedule.expression", "at(2026-12-02T14:00:00)"),
    ("garbage schedule", "dev", MODEL, model("schedule", "expression", value="every wednesday"),
     MODEL, F + "schedule.expression", CRON_HINT),
    ("cron with unicode digit", "dev", MODEL, model("schedule", "expression", value="cron(\u00b2 14 ? * WED *)"),
     MODEL, F + "schedule.expression", "minutes field"),
    ("unknown time zone", "dev", MODEL, model("schedule", "timezone", value="America/Boston"),
     MODEL, F + "schedule.timezone", "America/New_York"),
    ("end date before start date", "dev", MODEL,
     both(model("schedule", "start_date", value=dt.date(2026, 10, 1)),
          model("schedule", "end_date", value=dt.date(2026, 5, 1))),
     MODEL, F + "schedule.end_date", "the end must come after the start"),
    ("retry maximum_attempts 186", "dev", MODEL, model("schedule", "retry", "maximum_attempts", value=186),
     MODEL, F + "schedule.retry.maximum_attempts", "less than or equal to 185"),
    ("flexible window of 0", "dev", MODEL, model("schedule", "flexible_window_minutes", value=0),
     MODEL, F + "schedule.flexible_window_minutes", "greater than or equal to 1"),
    # --- images
    ("image without a tag", "dev", MODEL, model("image", value=REPOSITORY),
     MODEL, F + "image", f"pin a version, e.g. {REPOSITORY}:{HINT_TAG}"),
    ("image from a registry with a port, without a tag", "dev", MODEL,
     model("image", value=f"registry.example.org:5000/{REPOSITORY}"),
     MODEL, F + "image", f"pin a version, e.g. registry.example.org:5000/{REPOSITORY}:{HINT_TAG}"),
    ("image tagged latest in prod", "prod", MODEL, model("image", value=f"{REPOSITORY}:latest"),
     MODEL, F + "image", "pin a version tag"),
    ("image tagged latest in dev without allow_latest_tag", "dev", MODEL,
     model("image", value=f"{REPOSITORY}:latest"),
     MODEL, F + "image", "pin a version tag"),
    ("override image tagged latest in prod", "prod", PROD,
     environment("model_overrides", "flu-ar2", value={"image": f"{REPOSITORY}:latest"}),
     PROD, E + "model_overrides.flu-ar2.image", "pin a version tag"),
    ("allow_latest_tag: true in prod", "prod", PROD, environment("allow_latest_tag", value=True),
     PROD, E + "allow_latest_tag", "set it to false"),
    # --- plain variables that look like secrets
    *[(f"secret-like {name} as a plain value in a model file", "dev", MODEL,
       model("variables", name, value="x"),
       MODEL, F + f"variables.{name}", f"add {name} to the model's secrets")
      for name in ("SLACK_API_TOKEN", "MY_SECRET", "DB_PASSWORD", "GIT_CREDENTIALS", "API_KEY")],
    *[(f"secret-like {name} as a plain value in an env file", env, f"config/{env}/config.yaml",
       environment("variables", name, value="x"),
       f"config/{env}/config.yaml", E + f"variables.{name}", f"make secret ENV={env} NAME={name}")
      for env, name in (("dev", "SLACK_API_TOKEN"), ("prod", "MY_SECRET"), ("dev", "DB_PASSWORD"),
                        ("prod", "GIT_CREDENTIALS"), ("dev", "API_KEY"))],
    ("secret-like variable in the project section", "dev", PROJECT, project("variables", "GH_TOKEN", value="x"),
     PROJECT, P + "variables.GH_TOKEN", "add GH_TOKEN to the model's secrets"),
    ("variable name that is not an environment variable name", "dev", MODEL,
     model("variables", "MODEL-NAME", value="x"),
     MODEL, F + "variables.MODEL-NAME", "use letters, digits and '_'"),
    # --- secret names
    ("lower-case secret name", "dev", MODEL, model("secrets", value=["slack_token"]),
     MODEL, F + "secrets", "upper-case letters, digits and '_', starting with a letter"),
    ("secret name with a dash", "dev", MODEL, model("secrets", value=["SLACK-TOKEN"]),
     MODEL, F + "secrets", "upper-case letters, digits and '_', starting with a letter"),
    ("secret name starting with a digit", "dev", MODEL, model("secrets", value=["1TOKEN"]),
     MODEL, F + "secrets", "upper-case letters, digits and '_', starting with a letter"),
    ("secret listed twice", "dev", MODEL, model("secrets", value=["GH_TOKEN", "SLACK_API_TOKEN", "GH_TOKEN"]),
     MODEL, F + "secrets", "GH_TOKEN is listed twice; list each secret once"),
    # --- model names
    ("second model file whose name slugs like flu-ar2 (underscore)", "dev", MODEL,
     copy_to("flu_ar2.yaml", model("variables", "MODEL_NAME", value="UMass-other")),
     "models/flu_ar2.yaml", "(file name)", "names the same AWS resources as models/flu-ar2.yaml"),
    ("second model file whose name slugs like flu-ar2 (double dash)", "prod", MODEL,
     copy_to("flu--ar2.yaml", model("variables", "MODEL_NAME", value="UMass-other")),
     "models/flu-ar2.yaml", "(file name)", "names the same AWS resources as models/flu--ar2.yaml"),
    ("two models with the same MODEL_NAME", "dev", "models/flu-flusion.yaml",
     model("variables", "MODEL_NAME", value="UMass-AR2"),
     "models/flu-flusion.yaml", F + "variables.MODEL_NAME", "is already the MODEL_NAME of models/flu-ar2.yaml"),
    ("two models with the same MODEL_NAME through a prod override", "prod", PROD,
     environment("model_overrides", "flu-flusion", value={"variables": {"MODEL_NAME": "UMass-AR2"}}),
     PROD, E + "model_overrides.flu-flusion.variables.MODEL_NAME",
     "is already the MODEL_NAME of models/flu-ar2.yaml"),
    ("MODEL_NAME set for every model in an env file", "dev", DEV, environment("variables", "MODEL_NAME", value="X"),
     DEV, E + "variables.MODEL_NAME", "each model submits under its own name"),
    ("model file name that is not a stack name", "dev", MODEL, rename_to("Flu_AR2.yaml"),
     "models/Flu_AR2.yaml", "(file name)", "e.g. flu-ar2.yaml"),
    ("model file name too long for the task role name", "dev", MODEL, rename_to(f"{LONG_DEV_ROLE}.yaml"),
     f"models/{LONG_DEV_ROLE}.yaml", "(file name)", "task role name"),
    ("model file name too long for the schedule name", "dev", MODEL, rename_to(f"{LONG_DEV_SCHEDULE}.yaml"),
     f"models/{LONG_DEV_SCHEDULE}.yaml", "(file name)", "schedule name"),
    ("model file name too long in prod only", "prod", MODEL, rename_to("flu-" + "x" * 31 + ".yaml"),
     "models/flu-" + "x" * 31 + ".yaml", "(file name)", "AWS allows 64; shorten the model's file name"),
    # --- DRY_RUN in prod
    ("DRY_RUN in the prod env file", "prod", PROD, environment("variables", "DRY_RUN", value="0"),
     PROD, E + "variables.DRY_RUN", "remove the key"),
    ("DRY_RUN in a model file, deployed to prod", "prod", MODEL, model("variables", "DRY_RUN", value=""),
     MODEL, F + "variables.DRY_RUN", "remove the key"),
    ("DRY_RUN in a prod model override", "prod", PROD,
     environment("model_overrides", "flu-ar2", value={"variables": {"DRY_RUN": "1"}}),
     PROD, E + "model_overrides.flu-ar2.variables.DRY_RUN", "remove the key"),
    # --- unknown keys
    ("typo in a model file", "dev", MODEL, model("memroy", value=4096),
     MODEL, F + "memroy", "known keys here are: image, hub, variables, secrets, cpu, memory"),
    ("typo in a model's schedule", "dev", MODEL, model("schedule", "timezon", value="UTC"),
     MODEL, F + "schedule.timezon", "known keys here are: expression, timezone"),
    ("typo in a model's task_permissions", "dev", MODEL,
     model("task_permissions", value=[{"action": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]}]),
     MODEL, F + "task_permissions.0.action", "known keys here are: actions, resources"),
    ("typo in an env file", "dev", DEV, environment("log_retention", value=30),
     DEV, E + "log_retention", "log_retention_days"),
    ("typo in an env file's model override", "prod", PROD,
     environment("model_overrides", "flu-ar2", value={"memroy": 4096}),
     PROD, E + "model_overrides.flu-ar2.memroy", "known keys here are: image, cpu, memory"),
    ("typo in the project section", "dev", PROJECT, project("variabels", value={"A": "b"}),
     PROJECT, P + "variabels", "known keys here are: variables, hubs"),
    ("typo in a project hub", "prod", PROJECT,
     project("hubs", "flusight", "upstream", value="https://github.com/cdcepi/FluSight-forecast-hub"),
     PROJECT, P + "hubs.flusight.upstream", "known keys here are: repo_url, upstream_url"),
    ("unknown section in a model file", "dev", MODEL, lambda d: d["sceptre_user_data"].update(modle={}),
     MODEL, "sceptre_user_data.modle", "this file holds only model"),
    # --- other values
    ("log retention CloudWatch does not accept", "dev", DEV, environment("log_retention_days", value=31),
     DEV, E + "log_retention_days", "1, 3, 5, 7, 14, 30, 60, 90"),
    ("unknown hub", "dev", MODEL, model("hub", value="flusigth"),
     MODEL, F + "hub", "known: flusight, covid19"),
    ("model_overrides entry for a model that does not exist", "prod", PROD,
     environment("model_overrides", "flu-ar3", value={"cpu": 2048, "memory": 4096}),
     PROD, E + "model_overrides.flu-ar3", "known: flu-ar2, flu-flusion"),
    ("task_permissions action with '*'", "dev", MODEL,
     model("task_permissions", value=[{"actions": ["s3:*"], "resources": ["arn:aws:s3:::bucket/*"]}]),
     MODEL, F + "task_permissions.0.actions", "one named action like s3:GetObject"),
    ("task_permissions resource that is not an ARN", "dev", MODEL,
     model("task_permissions", value=[{"actions": ["s3:GetObject"], "resources": ["*"]}]),
     MODEL, F + "task_permissions.0.resources", "must be an ARN"),
    ("capacity that does not exist", "dev", MODEL, model("capacity", value="SPOT"),
     MODEL, F + "capacity", "'FARGATE' or 'FARGATE_SPOT'"),
    ("model file without an image", "dev", MODEL, lambda d: d["sceptre_user_data"]["model"].pop("image"),
     MODEL, F + "image", "is required"),
    # --- network, keys, permissions, credentials in values
    ("VPC CIDR that is not a network", "dev", DEV, environment("network", "vpc_cidr", value="banana"),
     DEV, E + "network.vpc_cidr", "use one like 10.20.0.0/16"),
    ("VPC CIDR too small for two subnets", "dev", DEV, environment("network", "vpc_cidr", value="10.0.0.0/24"),
     DEV, E + "network.vpc_cidr", "/23 or larger"),
    ("existing VPC ID malformed", "prod", PROD, environment("network", value={
        "existing_vpc_id": "vpc-x", "existing_subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"]}),
     PROD, E + "network.existing_vpc_id", "vpc-0123456789abcdef0"),
    ("the same subnet twice", "prod", PROD, environment("network", value={
        "existing_vpc_id": "vpc-0abc12345", "existing_subnet_ids": ["subnet-0aaa1111", "subnet-0aaa1111"]}),
     PROD, E + "network.existing_subnet_ids", "listed twice"),
    ("KMS key that is not a key ARN", "prod", PROD, environment("secrets_kms_key_arn", value="*"),
     PROD, E + "secrets_kms_key_arn", "the key's full ARN"),
    ("task permission on iam", "dev", MODEL, model("task_permissions", value=[
        {"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::123456789012:role/x"]}]),
     MODEL, F + "task_permissions.0.actions", "not iam or sts"),
    ("task permission on every resource of every service", "dev", MODEL, model("task_permissions", value=[
        {"actions": ["s3:GetObject"], "resources": ["arn:*:*:*:*:*"]}]),
     MODEL, F + "task_permissions.0.resources", "named service and resource"),
    ("DRY_RUN as a secret in prod", "prod", MODEL,
     model("secrets", value=["GH_TOKEN", "GIT_CREDENTIALS", "SLACK_API_TOKEN", "DRY_RUN"]),
     MODEL, F + "secrets", "not even as a secret"),
    ("a Slack token as a plain value", "dev", MODEL, model("variables", "MAIN_PY_ARGS", value="--t xoxb-1-2"),
     MODEL, F + "variables.MAIN_PY_ARGS", "looks like a credential"),
    ("a password inside a hub URL", "dev", PROJECT,
     project("hubs", "flusight", "repo_url", value="https://me:hunter2@github.com/reichlab/FluSight-forecast-hub"),
     PROJECT, P + "hubs.flusight.repo_url", "looks like a credential"),
    ("an expected duration that is not positive", "dev", MODEL, model("expected_duration_minutes", value=0),
     MODEL, F + "expected_duration_minutes", "greater than 0"),
    ("a secret word inside a name", "dev", MODEL, model("variables", "SLACKTOKEN", value="x"),
     MODEL, F + "variables.SLACKTOKEN", "make secret ENV=dev NAME=SLACKTOKEN"),
]


def _ids():
    return [c[0] for c in CASES]


def _problem_lines(err: str) -> list[str]:
    return [line.strip() for line in err.splitlines()]


@pytest.mark.parametrize("desc,env,rel,edit,want_file,want_field,want_hint", CASES, ids=_ids())
def test_bad_config_is_refused(root, capsys, desc, env, rel, edit, want_file, want_field, want_hint):
    # The unedited copy is valid, so the problem found is the edit's.
    assert cli.main(["validate", env]) == 0
    capsys.readouterr()

    apply(root, rel, edit)

    assert cli.main(["validate", env]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "nothing was rendered or deployed" in err
    matching = [line for line in _problem_lines(err)
                if line.startswith(f"{want_file}: ") and want_field in line]
    assert matching, f"no problem names {want_file} and {want_field}:\n{err}"
    assert any(want_hint in line for line in matching), f"no hint {want_hint!r} in:\n" + "\n".join(matching)

    build = root / "build"
    assert cli.main(["render", env, "--out", str(build)]) == 2
    out, err2 = capsys.readouterr()
    assert "Traceback" not in out + err2
    assert err2 == err
    assert not build.exists()


def test_every_case_has_a_unique_description():
    assert len(set(_ids())) == len(CASES)


def test_sentinel_edit_keeps_the_stack_attr_line(root):
    edit_yaml(root / PROJECT, project("variables", "EXTRA", value="1"))
    text = (root / PROJECT).read_text()
    assert "stack: !stack_attr name" in text
    assert cli.main(["validate", "dev"]) == 0


# --- cases that are not a file edit ------------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "render", "deployable"])
def test_unknown_env_name(root, capsys, command):
    argv = [command, "staging"] + (["--out", str(root / "build")] if command == "render" else [])
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "'staging' is not an environment" in err
    assert "local" in err and "dev" in err and "prod" in err
    assert not (root / "build").exists()


def test_latest_tag_allowed_in_dev_only_when_allowed(root, capsys):
    apply(root, MODEL, model("image", value=f"{REPOSITORY}:latest"))
    assert cli.main(["validate", "dev"]) == 2
    apply(root, DEV, environment("allow_latest_tag", value=True))
    assert cli.main(["validate", "dev"]) == 0
    # prod reads the same model file and still refuses it
    assert cli.main(["validate", "prod"]) == 2
    capsys.readouterr()
    assert cli.main(["render", "dev", "--out", str(root / "build")]) == 0
    assert (root / "build" / "dev" / "models" / "flu-ar2.yaml").exists()


def test_dry_run_is_fine_in_dev(root):
    apply(root, MODEL, model("variables", "DRY_RUN", value="1"))
    assert cli.main(["validate", "dev"]) == 0


def test_every_problem_is_reported_at_once(root, capsys):
    apply(root, MODEL, both(model("cpu", value=1000), model("hub", value="nope")))
    apply(root, "models/flu-flusion.yaml", model("schedule", "timezone", value="Mars/Olympus"))
    apply(root, PROD, environment("variables", "DRY_RUN", value="1"))
    assert cli.main(["validate", "prod"]) == 2
    err = capsys.readouterr().err
    assert f"{MODEL}: {F}cpu: " in err
    assert f"{MODEL}: {F}hub: " in err
    assert f"models/flu-flusion.yaml: {F}schedule.timezone: " in err
    assert f"{PROD}: {E}variables.DRY_RUN: " in err
    assert err.count(f"{PROD}: {E}variables.DRY_RUN: ") == 1  # once, not once per model


def test_field_errors_of_models_are_reported_with_an_env_file_error(root, capsys):
    # A broken env file stops cross-file checks, but each model file's own fields are still checked.
    apply(root, MODEL, model("schedule", "timezone", value="Mars/Olympus"))
    apply(root, DEV, environment("log_retention_days", value=31))
    assert cli.main(["validate", "dev"]) == 2
    err = capsys.readouterr().err
    assert f"{MODEL}: {F}schedule.timezone: " in err
    assert f"{DEV}: {E}log_retention_days: " in err


def test_placeholders_pass_validate_but_block_deployable_prod(root, capsys):
    assert cli.main(["validate", "prod"]) == 0
    out, err = capsys.readouterr()
    assert "still to set before deploying to AWS" in out
    assert "CHANNEL_ID" in out

    assert cli.main(["deployable", "prod"]) == 3
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in _problem_lines(err) if line.startswith(f"{PROD}: ")]
    assert any(f"{E}variables.CHANNEL_ID" in line and "placeholder" in line for line in lines), err
    assert "config/config.yaml: sceptre_user_data.project.variables.GIT_USER_EMAIL" in err

    assert cli.main(["deployable", "local"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "local: configuration valid" in out


def test_deployable_prod_passes_once_placeholders_are_set(root, capsys):
    apply(root, PROD, environment("variables", "CHANNEL_ID", value="C0123456789"))
    apply(root, PROJECT, both(project("variables", "GIT_USER_EMAIL", value="machine@example.org"),
                              project("hubs", "covid19", "repo_url",
                                      value="https://github.com/reichlab/covid19-forecast-hub")))
    assert cli.main(["deployable", "prod"]) == 0
    assert "prod: configuration valid" in capsys.readouterr().out


def test_a_placeholder_anywhere_blocks_deployable(root, capsys):
    edit_yaml(root / "config" / "dev" / "config.yaml",
              environment("cluster_name", value="PLACEHOLDER(the lab's cluster)"))
    assert cli.main(["validate", "dev"]) == 0
    assert cli.main(["deployable", "dev"]) == 3
    err = capsys.readouterr().err
    assert "config/dev/config.yaml: sceptre_user_data.environment.cluster_name: still a placeholder" in err


# --- what YAML itself builds: written as raw text ----------------------------------------------

def replace_line(old: str, new: str) -> FileOp:
    """Edit: replace one exact line of the file (it must be there, so no edit silently does nothing)."""
    def fn(path: Path):
        text = path.read_text()
        assert text.count(old + "\n") == 1, f"{path} has no single line {old!r}"
        path.write_text(text.replace(old + "\n", new + "\n"))
    return FileOp(fn)


def add_lines(*lines: str) -> FileOp:
    def fn(path: Path):
        path.write_text(path.read_text() + "".join(f"{line}\n" for line in lines))
    return FileOp(fn)


def write(text: str) -> FileOp:
    return FileOp(lambda path: path.write_text(text))


def mkdir() -> FileOp:
    return FileOp(lambda path: path.mkdir())


IMAGE = f"    image: {PINNED}"  # the frozen model's image line
LAUGHS = "\n".join(["sceptre_user_data:", "  model:", IMAGE, "    variables:",
                    '      A: &a "lol"'] + [f"      {chr(66 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                                           f"*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)]) + "\n"
DEEP = f"sceptre_user_data:\n  model:\n{IMAGE}\n    variables:\n      X: " + "[" * 60 + "]" * 60 + "\n"

# (description, env, file, edit, file in the message, field in the message, hint in the message)
RAW = [
    ("an image with a space in it", "dev", MODEL, replace_line(IMAGE, f"    image: {PINNED[:1]} {PINNED[1:]}"),
     MODEL, F + "image", "white space"),
    ("an image with upper-case letters in its repository", "dev", MODEL,
     replace_line(IMAGE, f"    image: {PINNED[:1].upper()}{PINNED[1:]}"), MODEL, F + "image", "lower-case"),
    ("an image with an empty tag", "dev", MODEL, replace_line(IMAGE, f'    image: "{REPOSITORY}:"'),
     MODEL, F + "image", f"e.g. {checks.IMAGE_EXAMPLE}"),
    ("an image ending in a colon, unquoted (YAML: a mapping)", "dev", MODEL,
     replace_line(IMAGE, f"    image: {REPOSITORY}:"), MODEL, "(file)", "not valid YAML"),
    ("an image with a digest that is not hex", "dev", MODEL,
     replace_line(IMAGE, f"    image: {REPOSITORY}@sha256:xyz"), MODEL, F + "image", "digest"),
    ("a key written twice in one mapping", "dev", MODEL, add_lines(IMAGE),
     MODEL, F + "image", "written twice, on lines 5 and 9"),
    ("a key written twice in an env file", "dev", DEV, add_lines("env: dev"),
     DEV, "env", "written twice"),
    ("a start date with month 13", "dev", MODEL, add_lines("    schedule:", "      start_date: 2026-13-01"),
     MODEL, F + "schedule.start_date", "write dates as YYYY-MM-DD"),
    ("a start date that does not exist", "dev", MODEL, add_lines("    schedule:", "      start_date: 2026-02-30"),
     MODEL, F + "schedule.start_date", "is not a date"),
    ("a start date written as text", "dev", MODEL, add_lines("    schedule:", "      start_date: next week"),
     MODEL, F + "schedule.start_date", "write YYYY-MM-DD, e.g. 2026-10-01"),
    ("memory written with a leading 0 (YAML: octal)", "dev", MODEL, add_lines("    memory: 03072"),
     MODEL, F + "memory", "without the leading 0"),
    ("a window written as 1:30 (YAML: base 60)", "dev", MODEL,
     add_lines("    schedule:", "      flexible_window_minutes: 1:30"),
     MODEL, F + "schedule.flexible_window_minutes", "base-60"),
    ("a variable YAML reads as true", "dev", MODEL, add_lines("      USE_CACHE: yes"),
     MODEL, F + "variables.USE_CACHE", 'quote it, e.g. "True"'),
    ("a variable YAML reads as a number", "dev", MODEL, add_lines("      RETRIES: 3"),
     MODEL, F + "variables.RETRIES", 'quote it, e.g. "3"'),
    ("a schedule state YAML reads as false", "dev", DEV, replace_line("    schedule_state: DISABLED",
                                                                   "    schedule_state: off"),
     DEV, E + "schedule_state", "'ENABLED' or 'DISABLED'"),
    ("cpu written as text", "dev", MODEL, add_lines('    cpu: "1024 units"'), MODEL, F + "cpu", "plain number"),
    ("cpu written as quoted digits", "dev", MODEL, add_lines('    cpu: "1024"'), MODEL, F + "cpu", "plain number"),
    ("cpu written as true", "dev", MODEL, add_lines("    cpu: true"), MODEL, F + "cpu", "not a number"),
    ("memory with a fraction", "dev", MODEL, add_lines("    memory: 3072.5"), MODEL, F + "memory", "whole number"),
    ("an anchor and alias", "dev", MODEL, write(f"sceptre_user_data:\n  model: &m\n{IMAGE}\n"
                                                "  other: *m\n"), MODEL, "(file)", "anchors and aliases"),
    ("a billion laughs", "dev", MODEL, write(LAUGHS), MODEL, "(file)", "anchors and aliases"),
    ("nesting deeper than any configuration", "dev", MODEL, write(DEEP), MODEL, "(file)", "levels deep"),
    ("a file far larger than any configuration", "dev", MODEL, add_lines(*["# " + "x" * 100] * 3000),
     MODEL, "(file)", "at most 262144 bytes"),
    ("indentation with a tab", "dev", MODEL, add_lines("\thub: flusight"), MODEL, "(file)", "not valid YAML"),
    ("a model file that is a list", "dev", MODEL, write(f"- image: {PINNED}\n"),
     MODEL, "(file)", "must be a mapping"),
    ("an empty model file", "dev", MODEL, write("# nothing yet\n"), MODEL, F + "image", "is required"),
    ("a model file named .yml", "dev", "models/flu-new.yml", write(f"sceptre_user_data:\n  model:\n{IMAGE}\n"),
     "models/flu-new.yml", "(file)", "rename it models/flu-new.yaml"),
    ("a hidden file in models/", "dev", "models/.flu-draft.yaml", write("sceptre_user_data: {}\n"),
     "models/.flu-draft.yaml", "(file)", "never loaded; remove it"),
    ("a folder in models/", "prod", "models/old", mkdir(), "models/old", "(file)", "models/<name>.yaml"),
    ("a stray file in models/", "dev", "models/notes.txt", write("to do\n"), "models/notes.txt", "(file)",
     "move it out of models/"),
    ("a stack file of no known kind", "dev", "config/dev/database.yaml", write("template:\n  path: database.py\n"),
     "config/dev/database.yaml", "(file name)", "no stack kind 'database'"),
    ("a stack file whose template builds another kind", "dev", "config/dev/iam.yaml",
     write("template:\n  path: cluster.py\n"), "config/dev/iam.yaml", "template.path", "must be iam.py"),
    ("a cron range that wraps around the week", "dev", MODEL,
     add_lines("    schedule:", "      expression: cron(0 14 ? * FRI-MON *)"),
     MODEL, F + "schedule.expression", "FRI-SAT,SUN-MON"),
    ("a cron range that wraps around the hour", "dev", MODEL,
     add_lines("    schedule:", "      expression: cron(50-10 14 ? * WED *)"),
     MODEL, F + "schedule.expression", "50-59,0-10"),
    ("L inside a list of days", "dev", MODEL, add_lines("    schedule:", "      expression: cron(0 14 L,15 * ? *)"),
     MODEL, F + "schedule.expression", "not in a list"),
    ("a cron that never fires", "dev", MODEL, add_lines("    schedule:", "      expression: cron(0 14 30 2 ? *)"),
     MODEL, F + "schedule.expression", "never fires"),
    ("a nth weekday beyond the fifth", "dev", MODEL,
     add_lines("    schedule:", "      expression: cron(0 14 ? * WED#6 *)"),
     MODEL, F + "schedule.expression", "1 to 5"),
]


@pytest.mark.parametrize("desc,env,rel,edit,want_file,want_field,want_hint", RAW, ids=[c[0] for c in RAW])
def test_what_yaml_builds_is_refused_by_kind(root, capsys, desc, env, rel, edit, want_file, want_field, want_hint):
    assert cli.main(["validate", env]) == 0
    capsys.readouterr()
    apply(root, rel, edit)
    started = time.monotonic()
    assert cli.main(["validate", env]) == 2
    assert time.monotonic() - started < 1.0  # no file can make validation slow
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    matching = [line for line in _problem_lines(err) if line.startswith(f"{want_file}: ") and want_field in line]
    assert matching, f"no problem names {want_file} and {want_field}:\n{err}"
    assert any(want_hint in line for line in matching), f"no hint {want_hint!r} in:\n" + "\n".join(matching)
    assert cli.main(["render", env, "--out", str(root / "build")]) == 2
    assert not (root / "build").exists()


def test_every_raw_case_has_a_unique_description():
    assert len({c[0] for c in RAW}) == len(RAW)


def test_a_fixed_offset_zone_for_a_lab_in_a_daylight_saving_zone_is_a_warning_that_says_what_to_write(root, capsys):
    apply(root, MODEL, add_lines("    schedule:", "      timezone: EST"))
    assert cli.main(["validate", "dev"]) == 0  # AWS accepts it: a warning, not an error
    out = capsys.readouterr().out
    (line,) = [line.strip() for line in out.splitlines() if "warning:" in line]
    assert f"{MODEL}: {F}schedule.timezone:" in line and "America/New_York" in line
    assert cli.main(["render", "dev", "--out", str(root / "build")]) == 0
    assert "warning:" in capsys.readouterr().out  # render says so too
