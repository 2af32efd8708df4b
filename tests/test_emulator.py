"""The dev stacks on a fresh local emulator, through the same make targets a person uses.

One emulator on a free port for the module: `make deploy`, then boto3 reads back what
was declared; a second deploy changes nothing; `make secret` stores a SecureString;
`make destroy` leaves no stack; a stopped emulator gives a clear error, not a hang.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time

import pytest
from conftest import ROOT, ecs_event, environment, free_port, log_event, make, models

from wm import project
from wm.config.schedules import describe

pytestmark = pytest.mark.emulator

DEV = environment("dev")
MODELS = {m.name: m for m in models("dev")}  # what the configuration declares, deployed or not
STACKS = [s.name for s in DEV.stacks.values()]
RUN, OTHER, NEVER = sorted(MODELS)[0], sorted(MODELS)[1 % len(MODELS)], sorted(MODELS)[-1]  # roles in the tests below


@pytest.fixture(scope="module")
def deployed(emulator):
    result = make("deploy", port=emulator)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_deploy_prints_outputs_endpoint_and_what_the_emulator_lacks(deployed, emulator):
    assert f"endpoint: http://127.0.0.1:{emulator}" in deployed
    assert "ClusterArn" in deployed and "TaskDefinitionArn" in deployed and "SchedulerRoleArn" in deployed
    assert "every resource of every template was created by the emulator" in deployed


def test_every_stack_is_created_and_tagged_with_the_commit(deployed, aws):
    cfn = aws("cloudformation")
    for stack in STACKS:
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", stack
        tags = {t["Key"]: t["Value"] for t in s["Tags"]}
        assert tags["Commit"] == project.commit(ROOT) and tags["Environment"] == "dev", (stack, tags)
        assert tags["Project"] == "weekly-models" and tags["Repository"]


def test_cluster_as_declared(deployed, aws):
    cluster = aws("ecs").describe_clusters(clusters=[DEV.cluster_name], include=["SETTINGS"])["clusters"][0]
    assert cluster["clusterName"] == DEV.cluster_name and cluster["status"] == "ACTIVE"
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert set(cluster["capacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}


@pytest.mark.parametrize("model", MODELS)
def test_task_definition_as_declared(deployed, aws, model):
    m = MODELS[model]
    family = m.family
    td = aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert (td["cpu"], td["memory"], td["networkMode"]) == (str(m.cpu), str(m.memory), "awsvpc")
    assert td["executionRoleArn"].endswith(":role/weekly-models-dev-task-execution")
    (c,) = td["containerDefinitions"]
    assert c["name"] == f"{family}-container" and c["image"] == m.image
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env == dict(m.variables)  # every plain variable, merged as the configuration says, and no other
    assert env["DRY_RUN"] == "1"  # dev never pushes
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert sorted(secrets) == sorted(m.secrets) and not set(secrets) & set(env)
    assert all(v.endswith(f":parameter/weekly-models/dev/{k}") for k, v in secrets.items())
    assert c["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{family}"


@pytest.mark.parametrize("model", MODELS)
def test_log_group_queue_and_schedule_as_declared(deployed, aws, model):
    m = MODELS[model]
    family = m.family
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{family}")["logGroups"]
    assert group["retentionInDays"] == DEV.settings.log_retention_days
    url = aws("sqs").get_queue_url(QueueName=f"{family}-dlq")["QueueUrl"]
    attrs = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "1209600"
    s = aws("scheduler").get_schedule(Name=family, GroupName="weekly-models-dev")
    assert (s["State"], s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) == \
        (m.state, m.schedule.expression, m.schedule.timezone)
    ecs = s["Target"]["EcsParameters"]
    assert ecs["TaskDefinitionArn"].endswith(f"task-definition/{family}:1")
    assert ecs.get("LaunchType", "FARGATE") == "FARGATE" or ecs["CapacityProviderStrategy"]
    assert ecs["NetworkConfiguration"]["awsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert s["Target"]["RoleArn"].endswith(":role/weekly-models-dev-scheduler")
    assert s["Target"]["DeadLetterConfig"]["Arn"] == attrs["QueueArn"]


def test_roles_exist_with_their_inline_policies_only(deployed, aws):
    iam = aws("iam")
    for role in ("weekly-models-dev-task-execution", "weekly-models-dev-scheduler"):
        iam.get_role(RoleName=role)
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1


def test_second_deploy_changes_nothing(deployed, emulator, aws):
    result = make("deploy", port=emulator)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    cfn = aws("cloudformation")
    for stack in STACKS:
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", stack
    for m in MODELS.values():
        arns = aws("ecs").list_task_definitions(familyPrefix=m.family)["taskDefinitionArns"]
        assert [a.rsplit(":", 1)[1] for a in arns] == ["1"], arns


def test_secret_is_stored_encrypted_and_never_printed(deployed, emulator, aws):
    value = "xoxb-not-a-real-token-5f3c"
    result = make("secret", "ENV=local", "NAME=SLACK_API_TOKEN", port=emulator, stdin=value + "\n")
    assert result.returncode == 0, result.stderr
    assert value not in result.stdout + result.stderr
    p = aws("ssm").get_parameter(Name="/weekly-models/dev/SLACK_API_TOKEN", WithDecryption=True)["Parameter"]
    assert (p["Type"], p["Value"]) == ("SecureString", value)


def test_unknown_secret_name_is_refused(deployed, emulator):
    result = make("secret", "ENV=local", "NAME=SLACK_TOKEN", port=emulator, stdin="x\n")  # SLACK_API_TOKEN is
    assert result.returncode != 0
    assert "not a secret any model or job of dev reads" in result.stderr and "Traceback" not in result.stderr


def test_run_starts_one_task_per_press_and_status_shows_it(deployed, emulator, aws):
    m = MODELS[OTHER]
    first = make("run", f"MODEL={OTHER}", port=emulator)
    assert first.returncode == 0, first.stderr
    task = first.stdout.split("started: ", 1)[1].split()[0]
    again = make("run", f"MODEL={OTHER}", port=emulator)
    assert again.returncode == 0 and f"already started this minute (not starting a second one): {task}" in again.stdout
    started = aws("ecs").describe_tasks(cluster="weekly-models-dev", tasks=[task])["tasks"][0]
    assert started["taskDefinitionArn"].endswith(f"task-definition/{m.family}:1")
    assert started.get("launchType") == "FARGATE" or started.get("capacityProviderName") == m.capacity
    eni = {d["name"]: d.get("value") for d in started["attachments"][0]["details"]}
    subnets = aws("cloudformation").describe_stacks(StackName="weekly-models-dev-network")["Stacks"][0]["Outputs"]
    assert eni["subnetId"] in next(o["OutputValue"] for o in subnets if o["OutputKey"] == "SubnetIds")
    status = make("status", port=emulator)
    assert status.returncode == 0, status.stderr
    (row,) = [line for line in status.stdout.splitlines() if line.startswith(f"{OTHER} ")]
    assert describe(m.schedule.expression, m.schedule.timezone) in row and m.state in row and "in ECS now" in row


def test_logs_prints_the_latest_runs_log(deployed, emulator, aws):
    family = MODELS[OTHER].family
    arns = aws("ecs").list_tasks(cluster=DEV.cluster_name, family=family)["taskArns"]
    task_id = arns[0].rsplit("/", 1)[1]
    logs = aws("logs")
    stream = f"ecs/{family}-container/{task_id}"
    logs.create_log_stream(logGroupName=f"/ecs/{family}", logStreamName=stream)
    logs.put_log_events(logGroupName=f"/ecs/{family}", logStreamName=stream,
                        logEvents=[log_event(f"fitting {OTHER}")])
    result = make("logs", f"MODEL={OTHER}", port=emulator)
    assert result.returncode == 0, result.stderr
    assert task_id in result.stdout and f"fitting {OTHER}" in result.stdout
    # The bare task ID the console shows works as well as the ARN.
    bare = make("logs", f"MODEL={OTHER}", f"TASK={task_id}", port=emulator)
    assert bare.returncode == 0, bare.stderr
    assert f"task {arns[0]}" in bare.stdout and f"fitting {OTHER}" in bare.stdout


def test_logs_and_run_say_clearly_what_is_wrong(deployed, emulator):
    never = make("logs", f"MODEL={NEVER}", port=emulator)
    assert never.returncode != 0 and f"{NEVER} has never run in dev" in never.stderr
    unknown = make("run", "MODEL=no-such-model", port=emulator)
    assert unknown.returncode != 0
    assert f"MODEL=no-such-model is not a model of dev; known: {', '.join(sorted(MODELS))}" in unknown.stderr
    missing = make("run", port=emulator)
    assert missing.returncode != 0 and "give the model, e.g. MODEL=" in missing.stderr
    for result in (never, unknown, missing):
        assert "Traceback" not in result.stderr


def receive(sqs, queue: str, count: int, seconds: float = 30) -> list[dict]:
    """Up to `count` messages from the queue, waiting for them (the alert machine runs asynchronously)."""
    got, deadline = [], time.monotonic() + seconds
    while len(got) < count and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return got


def test_failure_events_reach_the_run_history_and_the_alert_topic(deployed, emulator, aws):
    """Through the emulator's EventBridge (rule patterns, input transformer), the alert state machine on
    moto's Step Functions interpreter (wm_emulator/stepfunctions.py), SNS and a subscribed SQS queue."""
    sqs, sns = aws("sqs"), aws("sns")
    queue = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = "arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    names = ["exit-1", "exit-0", "failed-to-start-cannot-pull", "user-stopped", "spot-interruption"]
    model = MODELS[RUN]
    for name in names:
        e = ecs_event(name, model)
        answer = aws("events").put_events(Entries=[{"Source": e["source"], "DetailType": e["detail-type"],
                                                   "Detail": json.dumps(e["detail"]), "Resources": e["resources"]}])
        assert answer["FailedEntryCount"] == 0
    history = aws("logs").filter_log_events(logGroupName="/weekly-models/dev/runs")["events"]
    recorded = [json.loads(h["message"])["detail"]["stopCode"] for h in history]
    assert sorted(recorded) == sorted(ecs_event(n, model)["detail"]["stopCode"] for n in names)
    messages = receive(sqs, queue, 3)
    assert all(m["version"] == "1.0" and m["source"] == "custom" for m in messages)  # Chatbot's custom shape
    said = sorted(m["content"]["description"].split(":")[0].split(".")[0] for m in messages)
    assert said == ["Fargate Spot took its capacity back while it ran", "It never started",
                    "Its container exited with code 1"]
    assert {m["content"]["title"] for m in messages} == {f"weekly-models dev: a run of {RUN} did not finish (dry run)"}
    status = make("status", port=emulator)
    (row,) = [line for line in status.stdout.splitlines() if line.startswith(f"{RUN} ")]
    # Four of the recorded runs stopped at the same moment; any of them is "the last run".
    assert "Wed 2026-11-25 14:02, 39 min" in row and "(dry run)" in row


def test_alerting_resources_are_deployed(deployed, aws):
    policy = json.loads(aws("sns").get_topic_attributes(
        TopicArn="arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts")["Attributes"]["Policy"])
    assert [p for s in policy["Statement"] for p in s["Principal"]["Service"]] == ["cloudwatch.amazonaws.com"]
    alarms = {a["AlarmName"]: a for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix="weekly-models-dev")["MetricAlarms"]}
    # Per model: its dead-letter queue and its undelivered failure alerts; then Scheduler's two, the machines' two;
    # per job its undelivered failure alerts, and a scheduled job's failed submissions.
    jobs = environment("dev").jobs
    assert len(alarms) == 2 * len(MODELS) + 4 + len(jobs) + sum(1 for j in jobs if j.schedule)
    family = MODELS[RUN].family
    dlq = alarms[f"{family}-failed-starts"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": f"{family}-dlq"}]
    assert dlq["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts"]
    group = aws("scheduler").get_schedule_group(Name="weekly-models-dev")
    assert group["Name"] == "weekly-models-dev"


def silence_check(aws, model: str, due: dt.datetime) -> dict:
    """Start the silence check exactly as the model's check schedule would, fired at `due`."""
    return start_silence_check(aws, f"weekly-models-dev-{model}-model-silence-check", due)


def start_silence_check(aws, schedule: str, due: dt.datetime) -> dict:
    """Start the silence check as the check schedule `schedule` (dev's group) would, fired at `due`; how it ended."""
    check = aws("scheduler").get_schedule(Name=schedule, GroupName="weekly-models-dev")
    given = json.loads(check["Target"]["Input"]) | {"expectedAt": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                     "waitSeconds": 1}  # not the real hour and a quarter
    sfn = aws("stepfunctions")
    run = sfn.start_execution(stateMachineArn=check["Target"]["Arn"], input=json.dumps(given))
    for _ in range(100):
        d = sfn.describe_execution(executionArn=run["executionArn"])
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.2)
    raise AssertionError("the silence check did not finish")


def test_the_silence_check_finds_recorded_runs_and_alerts_on_missing_ones(deployed, emulator, aws):
    """The run history's metric filter (wm_emulator/logs.py) counts the events put on the bus above."""
    sqs = aws("sqs")
    queue = sqs.get_queue_url(QueueName="alert-inbox")["QueueUrl"]
    receive(sqs, queue, 10, seconds=2)  # whatever is left over
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert silence_check(aws, RUN, due)["status"] == "SUCCEEDED"
    assert receive(sqs, queue, 1, seconds=3) == []  # it ran (its failures were recorded): nothing to say
    assert silence_check(aws, NEVER, due)["status"] == "SUCCEEDED"
    (alert,) = receive(sqs, queue, 1)
    assert alert["content"]["title"] == f"weekly-models dev: {NEVER} did not run when it was due"
    # dev's schedules are DISABLED, so on AWS its check never fires; started by hand it reads the
    # deployed schedule and says it is disabled as configured.
    assert f"{MODELS[NEVER].family} is DISABLED, as the configuration says" in \
        alert["content"]["description"]


def test_destroy_leaves_no_stack(deployed, emulator, aws):
    result = make("destroy", port=emulator)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    live = [s["StackName"] for s in aws("cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []
    assert aws("scheduler").list_schedules()["Schedules"] == []
    assert [g["Name"] for g in aws("scheduler").list_schedule_groups()["ScheduleGroups"]] == ["default"]


def test_a_stopped_emulator_gives_a_clear_error_not_a_hang():
    port = free_port()  # nothing listens here
    result = make("destroy", port=port, timeout=60)
    assert result.returncode != 0
    assert f"emulator at http://127.0.0.1:{port} is not answering" in result.stderr
    assert "make emulator-start" in result.stderr and "Traceback" not in result.stderr


def test_a_type_the_emulator_skips_is_reported_not_claimed(emulator, aws):
    """moto skips AWS::SQS::QueuePolicy yet says CREATE_COMPLETE; the deploy report must list it."""
    from wm.cli import missing_resources

    template = """---
Resources:
  Queue:
    Type: AWS::SQS::Queue
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Statement:
          - Effect: Deny
            Principal: {AWS: "123456789012"}
            Action: sqs:DeleteQueue
            Resource: !GetAtt Queue.Arn
"""
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="probe-unmodelled", TemplateBody=template)
    try:
        assert cfn.describe_stacks(StackName="probe-unmodelled")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        created = {r["LogicalResourceId"] for r in
                   cfn.list_stack_resources(StackName="probe-unmodelled")["StackResourceSummaries"]}
        assert missing_resources(template, created) == [("AWS::SQS::QueuePolicy", "QueuePolicy")]
    finally:
        cfn.delete_stack(StackName="probe-unmodelled")


def test_deploy_to_aws_without_credentials_stops_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")  # no ~/.aws, no instance role
    result = subprocess.run(["make", "--no-print-directory", "deploy", "ENV=dev"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no AWS credentials found" in result.stderr and "`make deploy` alone" in result.stderr
    assert "Traceback" not in result.stderr
