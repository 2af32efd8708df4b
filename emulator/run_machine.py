"""Run one of the alerts stack's state machines on moto's Step Functions interpreter.

The render-level tests use this so that what an alert says, and whether the silence
check alerts at all, is decided by an implementation of the Amazon States Language
(moto's, ported from LocalStack) running the rendered definition, not by this project's
code. Reads JSON from stdin:

  {"definition": "<ASL, with ${AlertTopic} and ${Partition} in it>", "input": {...},
   "metrics": [{"Namespace": ..., "MetricName": ..., "Dimensions": [...], "minutes_ago": 5}],
   "schedules": [{"Name": ..., "GroupName": ..., "State": ...}]}

creates the alert topic (with an SQS queue subscribed to it, raw delivery), the metric
data points and the schedules it is given in an in-process moto, runs the machine to its
end and writes {"status": ..., "error": ..., "cause": ..., "messages": [<published>]}.
With --serve it reads one such job per line and answers each on one line, each in a fresh
in-process moto, so a test module pays for starting Python and moto once.
"""

import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
import wm_emulator
from moto import mock_aws

REGION = "us-east-1"


def run(job: dict) -> dict:
    client = lambda service: boto3.client(service, region_name=REGION)  # noqa: E731
    sns, sqs, sfn = client("sns"), client("sqs"), client("stepfunctions")
    topic = sns.create_topic(Name="weekly-models-test-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    now = dt.datetime.now(dt.UTC)
    for m in job.get("metrics", []):
        client("cloudwatch").put_metric_data(Namespace=m["Namespace"], MetricData=[{
            "MetricName": m["MetricName"], "Dimensions": m["Dimensions"], "Value": 1, "Unit": "Count",
            "Timestamp": now - dt.timedelta(minutes=m.get("minutes_ago", 1))}])
    scheduler = client("scheduler")
    for s in job.get("schedules", []):
        if s["GroupName"] != "default":
            scheduler.create_schedule_group(Name=s["GroupName"])
        scheduler.create_schedule(Name=s["Name"], GroupName=s["GroupName"], State=s["State"],
                                  ScheduleExpression="cron(0 14 ? * WED *)", FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/x",
                                          "RoleArn": "arn:aws:iam::123456789012:role/x"})
    machine = sfn.create_state_machine(
        name="machine", definition=job["definition"].replace("${AlertTopic}", topic).replace(
            "${Partition}", "aws"),  # as DefinitionSubstitutions would
        roleArn="arn:aws:iam::123456789012:role/machine")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="run", input=json.dumps(job["input"]))
    deadline = time.monotonic() + job.get("timeout", 60)
    while True:
        d = sfn.describe_execution(executionArn=execution["executionArn"])
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    messages = [m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]
    return {"status": d["status"], "error": d.get("error"), "cause": d.get("cause"), "output": d.get("output"),
            "messages": messages}


def fresh(job: dict) -> dict:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        return run(job)


if __name__ == "__main__":
    wm_emulator.install()  # the interpreter as the emulator runs it (emulator/wm_emulator/stepfunctions.py)
    if sys.argv[1:] == ["--serve"]:
        for line in sys.stdin:
            print(json.dumps(fresh(json.loads(line))), flush=True)
    else:
        json.dump(fresh(json.load(sys.stdin)), sys.stdout)
