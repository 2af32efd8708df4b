"""`make smoke` on the emulator: every step it can model passes, the others are skipped with their reason,
and it leaves nothing of its own behind."""

from __future__ import annotations

import boto3
import pytest
from conftest import a_model, environment, free_port, make

from wm.config import names

pytestmark = pytest.mark.emulator

CAN_MODEL = ["deploy the environment", "start one model (dry run)", "temporary queue subscribed to the alert topic",
             "silence check alerts on a missed run", "silence checks deployed with every model",
             "remove what smoke added"]
CANNOT = {"the container's secrets exist": "starts no container",
          "run history shows it start and stop": "emits no ECS task state change",
          "a run that cannot start alerts": "pulls no image",
          "silence check finds a recorded run": "records no task state change",
          "a job's children succeed and write results": "runs no container, so no child wrote a result",
          "run history records the job's submission": "needs: a job's children succeed and write results"}


@pytest.fixture(scope="module")
def smoke():
    port = free_port()
    result = make("smoke", port=port, timeout=600)
    yield port, result
    make("emulator-stop", port=port)


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    table = stdout.split("make smoke on the local emulator:\n", 1)[1].splitlines()[1:]
    out = {}
    for line in table:
        for result in ("PASS", "FAIL", "SKIP"):
            if f"  {result}  " in line:
                name, rest = line.split(f"  {result}  ", 1)
                out[name.strip()] = (result, rest.split(None, 1)[1])
    return out


def test_smoke_passes_what_the_emulator_models_and_skips_the_rest_with_the_reason(smoke):
    _, result = smoke
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    table = rows(result.stdout)
    assert {name for name, (r, _) in table.items() if r == "PASS"} == set(CAN_MODEL)
    for name, why in CANNOT.items():
        assert table[name][0] == "SKIP" and why in table[name][1], (name, table[name])
    assert f"{len(CAN_MODEL)} passed, 0 failed, {len(CANNOT)} skipped" in result.stdout
    # make smoke runs the first model and checks every model's silence check.
    assert f"with model {a_model('dev').name}" in result.stdout
    assert f"{len(environment('dev').models)} silence checks match their schedules" in \
        table["silence checks deployed with every model"][1]


def test_smoke_leaves_nothing_of_its_own(smoke):
    port, _ = smoke
    aws = lambda s: boto3.client(s, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",  # noqa: E731
                                 aws_access_key_id="testing", aws_secret_access_key="testing")
    assert [q for q in aws("sqs").list_queues().get("QueueUrls", []) if "-smoke-" in q] == []
    account = aws("sts").get_caller_identity()["Account"]
    topic = f"arn:aws:sns:{environment('dev').region}:{account}:{names.alert_topic('dev')}"
    assert aws("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    model = a_model("dev")  # the one smoke ran
    active = aws("ecs").list_task_definitions(familyPrefix=model.family, status="ACTIVE")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in active] == ["1"]  # the one-off revision is gone, the deployed one kept


def test_smoke_refuses_prod():
    result = make("smoke", "ENV=prod", port=free_port(), timeout=60)
    assert result.returncode != 0 and "in prod those runs would be real" in result.stderr
