"""Fan-out jobs (jobs/<name>.yaml): bad declarations refused with file and field, and what the
rendered job and batch stacks must never lose (least privilege, scale to zero, retries, the bucket)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, environment, rendered

from wm import cli
from wm.config import names
from wm.config.schema import JOB_VCPUS
from wm.config.yaml import read_template

GOOD = {"image": "public.ecr.aws/docker/library/python:3.12-slim", "command": ["python", "-c", "print(1)"],
        "vcpus": 0.5, "memory": 1024, "array_size": 4}


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A copy of config/, models/ and jobs/ with one job, jobs/sweep.yaml, and cli.ROOT pointing at it."""
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "config", tmp_path / "config", symlinks=True)
    (tmp_path / "jobs").mkdir()
    shutil.copy(ROOT / "jobs" / "config.yaml", tmp_path / "jobs" / "config.yaml")
    write(tmp_path, GOOD)
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    return tmp_path


def write(root: Path, job: dict, name: str = "sweep") -> None:
    (root / "jobs" / f"{name}.yaml").write_text(yaml.safe_dump({"sceptre_user_data": {"job": job}}))


def validate(root: Path, capsys) -> tuple[int, str]:
    """`wm render dev` of the copy: its exit code and what it said."""
    code = cli.main(["render", "dev", "--root", str(root), "--out", str(root / "build")])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_good_job_renders(root, capsys):
    code, said = validate(root, capsys)
    assert code == 0, said
    assert (root / "build" / "dev" / "jobs" / "sweep.yaml").is_file()


BAD = [
    ({"vcpus": 3}, "vcpus", "is not a Fargate size; use one of"),
    ({"vcpus": 1, "memory": 1024}, "memory", "is not offered by Fargate with 1 vCPUs"),
    ({"array_size": 0}, "array_size", "greater than or equal to 1"),
    ({"array_size": 10001}, "array_size", "less than or equal to 10000"),
    ({"parameter_sets": [{"SEED": "1"}], "array_size": 2}, "array_size", "give array_size or parameter_sets, not both"),
    ({"parameter_sets": [{"bad name": "1"}]}, "parameter_sets.0.bad name", ""),
    ({"image": "python 3"}, "image", ""),
    ({"image": "python:latest"}, "image", "latest"),
    ({"attempts": 11}, "attempts", "less than or equal to 10"),
    ({"timeout_minutes": 0}, "timeout_minutes", "greater than or equal to 1"),
    ({"capacity": "EC2"}, "capacity", "SPOT"),
    ({"variables": {"API_TOKEN": "x"}}, "variables.API_TOKEN", "looks like a secret"),
    ({"secrets": ["A", "A"]}, "secrets", "listed twice"),
    ({"task_permissions": [{"actions": ["s3:*"], "resources": ["arn:aws:s3:::lab/*"]}]},
     "task_permissions.0.actions", "without '*'"),
    ({"cpu": 1024}, "cpu", "unknown key"),
    ({"task_permissions": [{"actions": ["s3:PutObject"], "resources": ["arn:aws:s3:::weekly-models-dev-results-1/*"]}]},
     "task_permissions.0.resources", "this project's own bucket"),
    ({"parameter_sets": [{"SEED": str(i) * 20} for i in range(2000)]}, "parameter_sets", "characters of parameter sets"),
    ({"memory": "2048"}, "memory", "is text; write a plain number"),
]


@pytest.mark.parametrize("change, field, words", BAD, ids=[f for _, f, _ in BAD])
def test_a_bad_job_is_refused_with_file_and_field_and_nothing_is_rendered(root, capsys, change, field, words):
    write(root, {**GOOD, **change})
    code, said = validate(root, capsys)
    assert code == 2, said
    assert f"jobs/sweep.yaml: sceptre_user_data.job.{field}" in said, said
    assert words in said, said
    assert "Traceback" not in said and not (root / "build" / "dev").exists()


def test_a_child_larger_than_the_compute_ceiling_is_refused(root, capsys):
    config = root / "config" / "dev" / "config.yaml"
    config.write_text(config.read_text().replace("    log_retention_days: 30\n",
                                                 "    log_retention_days: 30\n    batch_max_vcpus: 1\n"))
    write(root, {**GOOD, "vcpus": 2, "memory": 4096})
    code, said = validate(root, capsys)
    assert code == 2 and "jobs/sweep.yaml: sceptre_user_data.job.vcpus: 2 vCPUs per child is more than" in said, said


def test_jobs_need_the_batch_stack(root, capsys):
    (root / "config" / "dev" / "batch.yaml").unlink()
    code, said = validate(root, capsys)
    assert code == 2 and "config/dev/batch.yaml: (file): is missing: jobs/ declares jobs" in said, said


def test_every_fargate_vcpu_size_renders_with_its_smallest_memory(root, capsys):
    from wm.config.checks import FARGATE_SIZES

    for vcpus, units in JOB_VCPUS.items():
        write(root, {**GOOD, "vcpus": vcpus, "memory": FARGATE_SIZES[units][0]})
        code, said = validate(root, capsys)
        assert code == 0, (vcpus, said)


# --- the rendered stacks -------------------------------------------------------------------

def jobs_of(env: str):
    return environment(env).jobs


def template(env: str, path: str) -> dict:
    return read_template(rendered(env)[path])


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_jobs_role_reaches_only_its_own_results_prefix_and_its_own_permissions(env):
    assert jobs_of(env), "the repository ships an example job"
    for job in jobs_of(env):
        t = template(env, f"{env}/jobs/{job.name}")
        (role,) = [r for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        own = [s for s in statements if s.get("Sid") in ("OwnResults", "ListOwnResults")]
        assert {a for s in own for a in s["Action"]} == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
        prefix = names.slug(job.name)
        (objects,) = [s for s in own if s["Sid"] == "OwnResults"]
        assert [str(r) for r in objects["Resource"]] == [f"!Sub arn:${{AWS::Partition}}:s3:::${{ResultsBucketName}}/{prefix}/*"]
        (listing,) = [s for s in own if s["Sid"] == "ListOwnResults"]
        assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}/*"]}}
        assert len(statements) == 2 + len(job.task_permissions)
        assert role["Properties"]["Path"] == names.job_role_path(env)  # not the models' task-role path


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_retries_are_for_lost_capacity_never_for_the_jobs_own_exit(env):
    for job in jobs_of(env):
        t = template(env, f"{env}/jobs/{job.name}")
        strategy = t["Resources"]["JobDefinition"]["Properties"]["RetryStrategy"]
        assert strategy["Attempts"] == job.attempts
        rules = strategy["EvaluateOnExit"]
        assert [r["Action"] for r in rules] == ["RETRY", "RETRY", "EXIT"]
        assert {r.get("OnStatusReason") for r in rules[:2]} == {"Host EC2*", "Your Spot Task was interrupted*"}
        assert rules[-1] == {"Action": "EXIT", "OnExitCode": "*"}  # any exit code: the job's own


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_batch_stack_scales_to_zero_on_fargate_and_keeps_its_bucket_private(env):
    t = template(env, f"{env}/batch")
    kinds = {r["Type"] for r in t["Resources"].values()}
    assert "AWS::Batch::ComputeEnvironment" in kinds and "AWS::EC2::Instance" not in kinds
    for r in t["Resources"].values():
        if r["Type"] == "AWS::Batch::ComputeEnvironment":
            resources = r["Properties"]["ComputeResources"]
            assert resources["Type"] in ("FARGATE", "FARGATE_SPOT") and "MinvCpus" not in resources
            assert resources["MaxvCpus"] == environment(env).settings.batch_max_vcpus
    bucket = t["Resources"]["ResultsBucket"]
    assert bucket["DeletionPolicy"] == environment(env).settings.deletion_policy
    assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())
    policy = t["Resources"]["ResultsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy == [{"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
                       "Resource": policy[0]["Resource"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == environment(env).settings.results_retention_days
    assert json.dumps(t).count("0.0.0.0/0") == 0


def test_prod_keeps_its_results_when_the_stack_goes():
    assert template("prod", "prod/batch")["Resources"]["ResultsBucket"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_jobs_execution_role_reads_the_jobs_secrets_only(env):
    t = template(env, f"{env}/batch")
    statements = t["Resources"]["JobExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (secrets,) = [s for s in statements if "ssm:GetParameters" in s["Action"]]
    assert [str(r) for r in secrets["Resource"]] == [
        f"!Sub arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{names.job_secret_parameter(env, '*')}"]
