"""The whole cut-over rehearsed on the emulator, as the README's "Move from the hand-built setup" says:
make emulator-handbuilt, make deploy, make migrate (report, secrets, switch, rollback, cleanup).

What is planted comes from emulator/handbuilt.yaml and what is declared from the configuration, so a
new model or an image bump changes what is expected, not whether the tests pass. The tests run in
file order on one emulator: each step starts where the one before left the account.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, ecs_event, environment, make, tool

from wm.config import names
from wm.cutover import handbuilt

pytestmark = pytest.mark.emulator

FACTS = yaml.safe_load((ROOT / "emulator" / "handbuilt.yaml").read_text())
SECRET_VALUES = [*FACTS["secrets"].values(), *FACTS["planted_parameters"].values()]
ENV = environment("dev")


def model_of(model_dir: str) -> str:
    return model_dir.replace("_", "-")


def planted(key: str) -> list[str]:
    """The models (names here) of handbuilt.yaml that carry a planted `key`, and exist in the configuration."""
    return [model_of(d) for d, m in FACTS["models"].items() if key in m and ENV.model(model_of(d))]


def migrate(port, *args, timeout=120):
    return make("migrate", *args, port=port, timeout=timeout)


def files_and_logs(port) -> str:
    """Everything a step may have written: the report, its journal and the emulator's own log."""
    out = [p.read_text() for p in (ROOT / "build").glob("migrate-local.*")]
    out.append((ROOT / ".emulator" / f"server-{port}.log").read_text())
    return "\n".join(out)


def assert_no_secret(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text, "a secret's value was printed or written"


@pytest.fixture(scope="module")
def rehearsal(emulator, aws):
    for f in (ROOT / "build").glob("migrate-local.*"):
        f.unlink()
    seeded = make("emulator-handbuilt", port=emulator)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    deployed = make("deploy", port=emulator, timeout=600)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    return emulator


def old_schedule(aws, model: str) -> dict:
    return aws("scheduler").get_schedule(Name=handbuilt.family(model), GroupName=handbuilt.SCHEDULE_GROUP)


def state(aws) -> dict:
    """What cleanup could touch, to compare before and after."""
    ecs, s3 = aws("ecs"), aws("s3")
    return {
        "schedules": sorted((s["Name"], s["State"]) for s in aws("scheduler").list_schedules(GroupName="default")["Schedules"]),
        "task definitions": sorted(ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]),
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket=FACTS["bucket"]).get("Contents", [])),
        "log groups": sorted(g["logGroupName"] for g in aws("logs").describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]),
        "roles": sorted(r["RoleName"] for r in aws("iam").list_roles()["Roles"]),
        "ingress": sorted(json.dumps(g["IpPermissions"], sort_keys=True)
                          for g in aws("ec2").describe_security_groups()["SecurityGroups"]),
        "clusters": sorted(aws("ecs").list_clusters()["clusterArns"]),
        "parameters": sorted((p["Name"], p["Version"]) for p in aws("ssm").describe_parameters()["Parameters"]),
    }


def test_a_prod_step_names_the_account_and_asks_first(rehearsal, aws):
    before = state(aws)
    endpoint = f"http://127.0.0.1:{rehearsal}"
    for step in ("secrets", "switch", "rollback"):  # cleanup acts only with CONFIRM=yes, in every environment
        asked = tool("wm", "migrate", "prod", "--step", step, cwd=ROOT, endpoint=endpoint, stdin="")
        assert asked.returncode == 9 and "not confirmed (nothing was changed)" in asked.stderr, asked.stderr
        assert "account 123456789012, region us-east-1" in asked.stdout
    assert state(aws) == before


def test_seeding_again_changes_nothing(rehearsal):
    again = make("emulator-handbuilt", port=rehearsal)
    assert again.returncode == 0 and "already (nothing to do)" in again.stdout, again.stdout + again.stderr


def test_report_shows_every_planted_difference_and_changes_nothing(rehearsal, aws):
    before = state(aws)
    result = migrate(rehearsal)
    assert result.returncode != 0 and "exit 20" in result.stdout, result.stdout[-2000:] + result.stderr
    out = result.stdout
    summary = out.split("## Summary", 1)[1].split("\n## ", 1)[0]
    for model in planted("planted_variables"):
        d = model.replace("-", "_")
        for var in FACTS["models"][d]["planted_variables"]:
            (line,) = [x for x in summary.splitlines() if x.startswith(f"- **{var} is only in the old setup**, in ")]
            assert model in line
    for model in planted("planted_env_file_missing"):
        assert f"could not read s3://{FACTS['bucket']}/{model.replace('-', '_')}.env (NoSuchKey" in summary
    for model in planted("planted_schedule"):
        assert f"- run times DIFFERS in {model}: they part at run" in summary
    for d, m in FACTS["models"].items():
        model = model_of(d)
        if ENV.model(model) and m["image"] != ENV.model(model).image:
            assert f"- image DIFFERS in {model} (old {m['image']}, new {ENV.model(model).image})" in summary
    for name in FACTS["planted_parameters"]:  # the rotated token differs: shown as a note, never the value
        assert f"| {name} | plain text in" in out and "the values differ" in out
    # The next three runs are shown side by side for every model with an old schedule.
    assert out.count("| next runs | old | new |") == len([d for d in FACTS["models"] if ENV.model(model_of(d))])
    # Another lab's task shares the cluster and the execution role: both are kept.
    (cluster,) = [line for line in out.splitlines() if line.startswith(f"- ECS cluster {FACTS['cluster']}: ")]
    assert "kept: cleanup never removes it" in cluster and f"schedule default/{FACTS['other_lab_task']['family']}" in cluster
    assert f"IAM role {FACTS['execution_role']}: kept" in out
    assert (ROOT / "build" / "migrate-local.md").read_text() in out
    assert state(aws) == before
    assert_no_secret(out + result.stderr + files_and_logs(rehearsal))


def test_secrets_are_copied_once_never_shown_and_never_overwritten_unasked(rehearsal, aws):
    ssm = aws("ssm")
    first = migrate(rehearsal, "STEP=secrets")
    assert first.returncode == 0, first.stdout + first.stderr
    secrets = sorted({s for m in ENV.models for s in m.secrets})
    for name in secrets:
        value = ssm.get_parameter(Name=names.secret_parameter("dev", name), WithDecryption=True)["Parameter"]
        assert value["Type"] == "SecureString"
        expected = FACTS["planted_parameters"].get(name, FACTS["secrets"].get(name))
        assert value["Value"] == expected, f"{name}: kept when planted, else copied from the .env files"
    for name in FACTS["planted_parameters"]:
        assert f"{name}: /weekly-models/dev/{name} exists and differs from the old files: kept" in first.stdout
    assert "The old tokens are still readable in plain text in S3" in first.stdout
    again = migrate(rehearsal, "STEP=secrets")
    assert again.returncode == 0
    copied = [s for s in secrets if s not in FACTS["planted_parameters"]]
    assert all(f"{s}: /weekly-models/dev/{s} already holds the old value; nothing to do" in again.stdout for s in copied)
    overwrite = migrate(rehearsal, "STEP=secrets", "OVERWRITE=yes")
    assert overwrite.returncode == 0
    for name in FACTS["planted_parameters"]:
        assert f"{name}: replaced" in overwrite.stdout
        value = ssm.get_parameter(Name=names.secret_parameter("dev", name), WithDecryption=True)["Parameter"]["Value"]
        assert value == FACTS["secrets"][name]
    report = migrate(rehearsal)
    assert "not stored yet" not in report.stdout
    assert_no_secret(first.stdout + again.stdout + overwrite.stdout + report.stdout + first.stderr
                     + files_and_logs(rehearsal))


def test_switch_refuses_before_a_successful_run_and_disables_after_one(rehearsal, aws):
    model = ENV.models[0].name
    refused = migrate(rehearsal, "STEP=switch", f"MODEL={model}")
    assert refused.returncode != 0 and f"{model}: REFUSED: no successful run" in refused.stdout
    assert old_schedule(aws, model)["State"] == "ENABLED"
    # The emulator runs no container: the ECS event of a successful run is sent as AWS would send it.
    e = ecs_event("exit-0", ENV.model(model))
    sent = aws("events").put_events(Entries=[{"Source": e["source"], "DetailType": e["detail-type"],
                                              "Detail": json.dumps(e["detail"]), "Resources": e["resources"]}])
    assert sent["FailedEntryCount"] == 0
    switched = migrate(rehearsal, "STEP=switch", f"MODEL={model}")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    s = old_schedule(aws, model)
    assert s["State"] == "DISABLED" and s["Description"].startswith("weekly-models cut-over: disabled")
    assert e["detail"]["taskArn"].rsplit("/", 1)[1] in s["Description"]  # which run it rests on
    others = [m.name for m in ENV.models[1:]]
    assert all(old_schedule(aws, m)["State"] == "ENABLED" for m in others)
    again = migrate(rehearsal, "STEP=switch", f"MODEL={model}")
    assert again.returncode == 0 and "disabled by an earlier STEP=switch" in again.stdout
    journal = (ROOT / "build" / "migrate-local.log").read_text()
    assert f"{model}: disabled the old schedule default/{handbuilt.family(model)}" in journal
    assert "## Steps taken (build/migrate-local.log)" in (ROOT / "build" / "migrate-local.md").read_text()


def test_rollback_enables_what_switch_disabled_and_only_that(rehearsal, aws):
    model = ENV.models[0].name
    original = f"{handbuilt.family(model)} (made in the console)"
    rolled = migrate(rehearsal, "STEP=rollback")
    assert rolled.returncode == 0 and f"{model}: enabled the old schedule" in rolled.stdout
    s = old_schedule(aws, model)
    assert s["State"] == "ENABLED" and s["Description"] == original
    again = migrate(rehearsal, "STEP=rollback")
    assert "nothing to roll back" in again.stdout


def test_cleanup_without_confirm_changes_nothing_and_with_it_keeps_what_others_use(rehearsal, aws):
    before = state(aws)
    listed = migrate(rehearsal, "STEP=cleanup")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Nothing was changed: run again with CONFIRM=yes" in listed.stdout
    assert "KEPT (its old schedule is still ENABLED" in listed.stdout
    assert state(aws) == before
    forced = migrate(rehearsal, "STEP=switch", "FORCE=yes")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    # A versioned bucket keeps older versions of a deleted object: cleanup must remove every version.
    s3, some = aws("s3"), next(d for d, m in FACTS["models"].items() if not m.get("planted_env_file_missing"))
    s3.put_bucket_versioning(Bucket=FACTS["bucket"], VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=FACTS["bucket"], Key=f"{some}.env", Body=b"GH_TOKEN=a-second-version\n")
    # A group the old setup does not use, open to anywhere: not the cut-over's to touch.
    vpc = aws("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    unrelated = aws("ec2").create_security_group(GroupName="another-team", Description="x", VpcId=vpc)["GroupId"]
    aws("ec2").authorize_security_group_ingress(GroupId=unrelated, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    done = migrate(rehearsal, "STEP=cleanup", "CONFIRM=yes")
    assert done.returncode == 0, done.stdout + done.stderr
    after = state(aws)
    other = FACTS["other_lab_task"]["family"]
    assert [n for n, _ in after["schedules"]] == [other]
    assert all(other in arn for arn in after["task definitions"] if ":task-definition/" in arn
               and not arn.split("/")[-1].startswith(names.PROJECT))
    assert all(f"{d}.env" not in after["objects"] for d in FACTS["models"])
    versions = s3.list_object_versions(Bucket=FACTS["bucket"])
    assert [v["Key"] for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
            if v["Key"].endswith(".env")] == []
    assert aws("ec2").describe_security_groups(GroupIds=[unrelated])["SecurityGroups"][0]["IpPermissions"] != []
    assert all(f"/ecs/{handbuilt.family(model_of(d))}" not in after["log groups"] for d in FACTS["models"])
    assert FACTS["execution_role"] in after["roles"] and FACTS["scheduler_role"] in after["roles"]
    assert after["clusters"] == before["clusters"]
    sg = aws("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [FACTS["security_group"]["name"]]}])["SecurityGroups"][0]
    assert sg["IpPermissions"] == []  # the SSH rule went, the group stays (other-lab-task uses it)
    # The new setup is untouched.
    for m in ENV.models:
        assert aws("scheduler").get_schedule(Name=names.schedule_name("dev", m.name),
                                             GroupName=names.schedule_group("dev"))
    again = migrate(rehearsal, "STEP=cleanup", "CONFIRM=yes")
    assert again.returncode == 0 and "done:" not in again.stdout and state(aws) == after


def test_every_output_and_file_is_free_of_secret_values(rehearsal):
    assert_no_secret(files_and_logs(rehearsal))
    assert all(not p.name.endswith(".env") for p in Path(ROOT / "build").rglob("*"))
