"""Fan-out jobs (jobs/<name>.yaml): bad declarations refused with file and field, and what the
rendered job and batch stacks must never lose (least privilege, scale to zero, retries, the bucket)."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, a_model, environment, rendered

from wm import cli
from wm.config import names
from wm.config.schema import JOB_VCPUS
from wm.config.yaml import read_template

GOOD = {"image": a_model().image, "command": ["python", "-c", "print(1)"],  # any pinned image of the configuration
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
    ({"vcpus": 32, "memory": 65536}, "vcpus", "larger than Fargate allows (16 vCPUs, 120 GiB) runs with platform: EC2"),
    ({"vcpus": 1, "memory": 1024}, "memory", "is not offered by Fargate with 1 vCPUs"),
    ({"vcpus": 16, "memory": 262144}, "memory", "runs with platform: EC2"),
    ({"gpus": 1}, "gpus", "Fargate has none; set platform: EC2"),
    ({"platform": "GPU"}, "platform", "'FARGATE' or 'EC2'"),
    ({"platform": "EC2", "vcpus": 0.5}, "vcpus", "a child on EC2 takes whole vCPUs; use 1 or more"),
    ({"platform": "EC2", "vcpus": 2.5, "memory": 4096}, "vcpus", "a child on EC2 takes whole vCPUs; use 2 or 3"),
    # Only the families that hold the whole child are named: 128 vCPUs and a GPU fit g5 alone.
    ({"platform": "EC2", "vcpus": 128, "memory": 8192, "gpus": 1}, "gpus", "a family that holds it (g5)"),
    # dev's family is the default, c5 (largest: c5.24xlarge, 96 vCPUs, 192 GiB, no GPU).
    ({"platform": "EC2", "vcpus": 97, "memory": 8192}, "vcpus", "the largest c5 instance (c5.24xlarge) has 96"),
    ({"platform": "EC2", "vcpus": 8, "memory": 192 * 1024}, "memory",
     f"leaves {int(192 * 1024 * 0.95)} MiB to jobs, 95% of its memory"),
    ({"platform": "EC2", "vcpus": 8, "memory": 8192, "gpus": 1}, "gpus", "c5 instances have none"),
    ({"platform": "EC2", "vcpus": 8, "memory": 8192, "gpus": -1}, "gpus", "greater than or equal to 0"),
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


def set_environment(root: Path, **settings) -> None:
    config = root / "config" / "dev" / "config.yaml"
    lines = "".join(f"    {k}: {v}\n" for k, v in settings.items())
    config.write_text(config.read_text().replace("    log_retention_days: 30\n", f"    log_retention_days: 30\n{lines}"))


def test_an_unknown_instance_family_is_refused(root, capsys):
    set_environment(root, batch_instance_family="c9x")
    code, said = validate(root, capsys)
    assert code == 2, said
    assert "config/dev/config.yaml: sceptre_user_data.environment.batch_instance_family: 'c9x' is not an instance " \
           "family this project knows; use one of c5" in said, said


def test_a_gpu_child_fits_a_gpu_family_up_to_its_largest_size(root, capsys):
    from wm.config.checks import INSTANCE_FAMILIES

    family = next(f for f, (_, _, _, gpus) in INSTANCE_FAMILIES.items() if gpus)
    size, vcpus, _, gpus = INSTANCE_FAMILIES[family]
    set_environment(root, batch_instance_family=family)
    write(root, {**GOOD, "platform": "EC2", "vcpus": vcpus, "memory": 8192, "gpus": gpus})
    code, said = validate(root, capsys)
    assert code == 0, said
    write(root, {**GOOD, "platform": "EC2", "vcpus": vcpus, "memory": 8192, "gpus": gpus + 1})
    code, said = validate(root, capsys)
    assert code == 2 and f"jobs/sweep.yaml: sceptre_user_data.job.gpus: {gpus + 1} GPUs per child; the largest " \
        f"{family} instance ({size}) has {gpus}" in said, said


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


# --- EC2 capacity: made only for EC2 jobs -----------------------------------------------------

MAXIMAL = ROOT / "tests" / "fixtures" / "maximal"


@functools.cache
def maximal() -> tuple:
    """The maximal fixture (an EC2 job with GPUs beside a Fargate job), resolved, and its templates."""
    from generators import render
    from wm.config import resolve

    e = resolve.load(MAXIMAL, "dev", now=resolve.docs_moment(MAXIMAL), graph=False)
    return e, {path: read_template(render(stack)) for path, stack in e.stacks.items()}


EC2_TYPES = {"AWS::IAM::InstanceProfile", "AWS::EC2::LaunchTemplate"}


def ec2_parts(t: dict) -> dict:
    return {k: r for k, r in t["Resources"].items()
            if r["Type"] in EC2_TYPES or k.startswith("Ec2") or k == "InstanceRole"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_ec2_capacity_exists_exactly_when_a_job_uses_ec2(env):
    """dev and prod (their example job is on Fargate today) have it only with an EC2 job; the maximal
    fixture's EC2 job is checked below."""
    wanted = any(j.platform == "EC2" for j in jobs_of(env))
    t = template(env, f"{env}/batch")
    assert bool(ec2_parts(t)) == wanted and any(o.startswith("Ec2") for o in t["Outputs"]) == wanted
    network = template(env, f"{env}/network")
    assert all(r["Properties"]["MapPublicIpOnLaunch"] is wanted for r in network["Resources"].values()
               if r["Type"] == "AWS::EC2::Subnet")


def test_an_ec2_job_brings_ec2_spot_then_on_demand_of_the_family_scaled_to_zero():
    e, templates = maximal()
    assert [j for j in e.jobs if j.platform == "EC2"], "the maximal fixture has an EC2 job"
    t = templates["dev/batch"]
    settings = e.settings
    environments = {k: r["Properties"] for k, r in t["Resources"].items() if r["Type"] == "AWS::Batch::ComputeEnvironment"
                    and r["Properties"]["ComputeResources"]["Type"] in ("SPOT", "EC2")}
    assert {p["ComputeResources"]["Type"]: p["ComputeResources"]["AllocationStrategy"] for p in environments.values()} \
        == {"SPOT": "SPOT_PRICE_CAPACITY_OPTIMIZED", "EC2": "BEST_FIT_PROGRESSIVE"}
    for p in environments.values():
        resources = p["ComputeResources"]
        assert resources["MinvCpus"] == 0 and resources["MaxvCpus"] == settings.batch_max_vcpus
        assert resources["InstanceTypes"] == [settings.batch_instance_family]
        assert "SpotIamFleetRole" not in resources and "CapacityTags" not in resources  # wm/lint/permissions.py
        assert str(resources["InstanceRole"]) == "!GetAtt InstanceProfile.Arn"
        assert str(resources["SecurityGroupIds"][0]) == "!Ref SecurityGroupId"
        # Pinned image: Amazon Linux 2023, its NVIDIA image on a GPU family (AWS Batch API, Ec2Configuration).
        from wm.config.checks import INSTANCE_FAMILIES

        gpu = INSTANCE_FAMILIES[settings.batch_instance_family][3] > 0
        assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023_NVIDIA" if gpu else "ECS_AL2023"}]
        # Updated in place (fixed names cannot be replaced), running children given time.
        assert p["ReplaceComputeEnvironment"] is False
        assert p["UpdatePolicy"] == {"JobExecutionTimeoutMinutes": 30, "TerminateJobsOnUpdate": False}
    assert all("UpdatePolicy" not in r for r in t["Resources"].values())  # a property, not the attribute
    queues = {r["Properties"]["JobQueueName"]: [str(o["ComputeEnvironment"]) for o in
                                                 sorted(r["Properties"]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])]
              for r in t["Resources"].values() if r["Type"] == "AWS::Batch::JobQueue"}
    assert queues[names.job_queue("dev", "SPOT", "EC2")] == ["!Ref Ec2SpotComputeEnvironment", "!Ref Ec2OnDemandComputeEnvironment"]
    assert queues[names.job_queue("dev", "ON_DEMAND", "EC2")] == ["!Ref Ec2OnDemandComputeEnvironment"]
    for j in e.jobs:  # every job's queue exists, of its platform
        assert j.queue in queues and ("-ec2-" in j.queue) == (j.platform == "EC2")
    data = t["Resources"]["Ec2LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required" and data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert all(m["Ebs"]["Encrypted"] is True for m in data["BlockDeviceMappings"])
    # Batch's instances take their public IP from the subnets (no NAT gateway).
    network = templates["dev/network"]
    assert all(r["Properties"]["MapPublicIpOnLaunch"] is True for r in network["Resources"].values()
               if r["Type"] == "AWS::EC2::Subnet")
    assert {"Ec2SpotQueueArn", "Ec2OnDemandQueueArn", "InstanceRoleArn"} <= set(t["Outputs"])


def _policy_statements(t: dict):
    for logical, r in t["Resources"].items():
        for policy in r.get("Properties", {}).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield logical, statement


def test_no_policy_of_a_batch_or_job_stack_has_a_star_action():
    e, templates = maximal()
    every = {**{f"max/{k}": v for k, v in templates.items()},
             **{f"{env}/{k}": read_template(text) for env in ("dev", "prod") for k, text in rendered(env).items()}}
    checked = 0
    for path, t in every.items():
        if "/batch" not in path and "/jobs/" not in path:
            continue
        for logical, statement in _policy_statements(t):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement.get("Effect") == "Deny":
                continue  # the bucket's TLS-only deny names every action on purpose
            assert all("*" not in a for a in actions), (path, logical, statement)
            checked += 1
    assert checked > len(e.jobs)


def test_the_instance_role_is_scoped_to_this_environments_batch_clusters_and_job_logs():
    _, templates = maximal()
    role = templates["dev/batch"]["Resources"]["InstanceRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["ec2.amazonaws.com"]}
    assert "ManagedPolicyArns" not in role
    clusters = {names.compute_environment("dev", kind) for kind in ("ec2-spot", "ec2")}
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]:
        resources = [str(r) for r in statement["Resource"]]
        if resources == ["*"]:
            # Only what the Service Authorization Reference lists without a resource type.
            assert statement["Action"] == ["ecs:DiscoverPollEndpoint"], statement
            continue
        for r in resources:
            assert any(f"/{c}_Batch_*" in r for c in clusters) or names.job_log_group("dev") in r, r


def test_an_ec2_job_definition_is_ec2_only_with_its_gpus():
    e, templates = maximal()
    for j in e.jobs:
        props = templates[f"dev/jobs/{j.name}"]["Resources"]["JobDefinition"]["Properties"]
        container = props["ContainerProperties"]
        assert props["PlatformCapabilities"] == [j.platform]
        fargate_only = {"NetworkConfiguration", "FargatePlatformConfiguration", "RuntimePlatform"}
        assert (fargate_only <= set(container)) == (j.platform == "FARGATE")
        assert not (fargate_only & set(container)) or j.platform == "FARGATE"
        requirements = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
        assert requirements.get("GPU") == (str(j.gpus) if j.gpus else None)
    assert any(j.gpus for j in e.jobs), "the maximal fixture has a GPU job"


def test_an_ec2_child_costs_its_share_of_the_largest_instance():
    from wm.config.checks import INSTANCE_FAMILIES
    from wm.reports import cost

    e, _ = maximal()
    (job,) = [j for j in e.jobs if j.platform == "EC2"]
    prices = cost.load_prices(ROOT, e.region)
    size, vcpus, memory, gpus = INSTANCE_FAMILIES[e.settings.batch_instance_family]
    share = max(job.vcpus / vcpus, job.memory / (memory * 1024), job.gpus / gpus)
    hourly = prices["ec2"]["on_demand_hour"][size]
    assert cost.child_cost(prices, job, e.settings.batch_instance_family, False, 60) == pytest.approx(
        share * (hourly + prices["public_ipv4_hour"]))
    spot = cost.child_cost(prices, job, e.settings.batch_instance_family, True, 60)
    assert spot == pytest.approx(share * (hourly * (1 - prices["ec2"]["spot_discount"]) + prices["public_ipv4_hour"]))
    assert set(prices["ec2"]["on_demand_hour"]) == {row[0] for row in INSTANCE_FAMILIES.values()}


def test_a_shared_stack_rendered_without_project_path_is_refused_not_rendered_without_ec2():
    """Sceptre renders a shared stack from its sceptre_user_data; without project_path (config/config.yaml)
    it could not read jobs/, and would silently leave out the EC2 capacity an EC2 job needs."""
    from wm.config.problems import ConfigError
    from wm.config.resolve import from_user_data

    user_data = {k: v for k, v in read_template((ROOT / "config" / "config.yaml").read_text())
                 ["sceptre_user_data"].items() if k != "project_path"}
    with pytest.raises(ConfigError) as err:
        from_user_data("batch", {**user_data, "stack": "dev/batch"})
    assert "config/config.yaml: sceptre_user_data.project_path: is missing" in str(err.value)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_failure_rule_that_cannot_start_the_alert_machine_alerts_the_topic(env):
    """As a model's (generators/model.py): a failed submission that could not be worded is still told."""
    for job in jobs_of(env):
        r = template(env, f"{env}/jobs/{job.name}")["Resources"]
        alarm = r["FailureRuleFailedAlarm"]["Properties"]
        assert alarm["Namespace"] == "AWS/Events" and alarm["MetricName"] == "FailedInvocations"
        assert [str(d["Value"]) for d in alarm["Dimensions"]] == ["!Ref FailureRule"]
        assert [str(a) for a in alarm["AlarmActions"]] == ["!Ref AlertTopicArn"]
