"""The plan: its formatter, stateful-replacement detection and change-set paging on recorded answers;
stack policies; drift in words; the command-line refusals that need no AWS."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from wm.config import names as naming
from wm.deploy import drift, plan, protect

FIXTURES = ROOT / "tests" / "fixtures" / "change-sets"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def stack(changes, path="prod/models/flu-ar2") -> plan.StackPlan:
    return plan.StackPlan(path, naming.stack_name(path), "update", "sha", {}, changes, "arn:cs")


def test_rows_say_action_replacement_and_properties():
    changes = plan.changes_from_response(recorded("memory-change"), None, {"Resources": {}})
    assert [(c.logical_id, c.action, c.replacement, c.properties) for c in changes] == [
        ("Schedule", "Modify", "False", ["Target"]),
        ("TaskDefinition", "Modify", "True", ["ContainerDefinitions", "Memory"])]
    assert not any(c.risks_data for c in changes)  # a task definition holds no data


@pytest.mark.parametrize("name,risky", [
    ("log-group-renamed", ["LogGroup"]),
    ("queue-removed", ["DeadLetterQueue"]),
    ("tags-only", []),
    ("memory-change", []),
])
def test_stateful_replacement_or_removal_is_detected(name, risky):
    changes = plan.changes_from_response(recorded(name), None, {"Resources": {}})
    assert [c.logical_id for c in changes if c.risks_data] == risky


def test_tags_only_change_names_tags():
    (c,) = plan.changes_from_response(recorded("tags-only"), None, {"Resources": {}})
    assert (c.action, c.replacement, c.properties) == ("Modify", "False", ["Tags"])


def test_properties_come_from_the_templates_when_cloudformation_gives_no_details():
    answer = {"Changes": [{"ResourceChange": {"Action": "Modify", "LogicalResourceId": "TaskDefinition",
                                              "ResourceType": "AWS::ECS::TaskDefinition"}}]}
    old = {"Resources": {"TaskDefinition": {"Properties": {"Memory": "3072", "Cpu": "1024"}}}}
    new = {"Resources": {"TaskDefinition": {"Properties": {"Memory": "4096", "Cpu": "1024"}}}}
    (c,) = plan.changes_from_response(answer, old, new)
    assert (c.replacement, c.properties) == ("-", ["Memory"])


def test_table_and_markdown_carry_the_same_rows():
    plans = [stack(plan.changes_from_response(recorded("log-group-renamed"), None, {"Resources": {}})),
             plan.StackPlan("prod/network", "weekly-models-prod-network", "no change", "sha", {})]
    table = plan.to_table(plans, "prod")
    md = plan.to_markdown(plans, "prod", "abc123")
    assert "prod/network: no change" in table and "- `prod/network`: no change" in md
    table_rows = [line.split() for line in table.splitlines() if line.startswith("prod/models/")]
    md_rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in md.splitlines()
               if line.startswith("| prod/models/")]
    assert [r[:5] for r in table_rows] == [r[:5] for r in md_rows] == [
        ["prod/models/flu-ar2", "LogGroup", "AWS::Logs::LogGroup", "Modify", "True"],
        ["prod/models/flu-ar2", "TaskDefinition", "AWS::ECS::TaskDefinition", "Modify", "True"]]
    assert "WARNING: this plan removes or replaces resources that hold data: prod/models/flu-ar2:LogGroup" in table
    assert "**Removes or replaces resources that hold data:** `prod/models/flu-ar2:LogGroup`" in md


def test_plan_files_round_trip_and_are_written_whole(tmp_path):
    plans = [stack(plan.changes_from_response(recorded("memory-change"), None, {"Resources": {}}))]
    md, js = plan.save(plans, "prod", "abc123", tmp_path)
    saved = plan.load(js)
    assert saved["commit"] == "abc123" and saved["stacks"] == plans
    assert md.read_text() == plan.to_markdown(plans, "prod", "abc123")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan-prod.json", "plan-prod.md"]  # no temp file left


def test_an_interrupted_write_keeps_the_previous_plan(tmp_path, monkeypatch):
    target = tmp_path / "plan-prod.md"
    plan.write_atomically(target, "old plan\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plan.write_atomically(target, "half of a new plan")
    assert target.read_text() == "old plan\n" and [p.name for p in tmp_path.iterdir()] == ["plan-prod.md"]


def test_stack_policy_denies_replacing_or_deleting_data_only():
    template = {"Resources": {"LogGroup": {"Type": "AWS::Logs::LogGroup"}, "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
                              "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition"}}}
    policy = json.loads(protect.stack_policy(template))
    allow, deny = policy["Statement"]
    assert allow == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    assert deny["Effect"] == "Deny" and deny["Action"] == ["Update:Replace", "Update:Delete"]
    assert deny["Resource"] == ["LogicalResourceId/DeadLetterQueue", "LogicalResourceId/LogGroup"]


@pytest.mark.parametrize("status,hint", [
    ("ROLLBACK_COMPLETE", "delete it (aws cloudformation delete-stack --stack-name s)"),
    ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback --stack-name s"),
    ("DELETE_FAILED", "describe-stack-events --stack-name s"),
])
def test_a_stack_stuck_in_a_failed_state_says_how_to_recover(status, hint):
    text = plan.recover_hint("s", status)
    assert status in text and hint in text


def test_prod_is_never_planned_from_a_dirty_tree(monkeypatch, capsys):
    from wm import cli, project

    monkeypatch.setattr(project, "commit", lambda where: "0123abc-dirty")
    assert cli.main(["plan", "prod"]) == 7
    assert "uncommitted changes: prod is planned and deployed only from a commit" in capsys.readouterr().err


def test_destroying_prod_needs_its_name_typed_back(monkeypatch, capsys):
    from wm import cli

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli.main(["confirm-destroy", "prod"]) == 9
    assert "CONFIRM=prod" in capsys.readouterr().err
    assert cli.main(["confirm-destroy", "prod", "--confirm", "dev"]) == 9


# --- change sets come in pages -----------------------------------------------------------------------

class FakeStack:
    external_name = "weekly-models-prod-models-x"
    name = "prod/models/x"


def test_every_page_of_a_change_set_is_read(monkeypatch):
    """CloudFormation pages DescribeChangeSet's changes; a plan that read one page would hide the rest."""
    pages = {None: {"Status": "CREATE_COMPLETE", "Changes": [{"n": 1}], "NextToken": "a"},
             "a": {"Status": "CREATE_COMPLETE", "Changes": [{"n": 2}], "NextToken": "b"},
             "b": {"Status": "CREATE_COMPLETE", "Changes": [{"n": 3}]}}
    calls = []

    def call(stack, service, command, **kwargs):
        calls.append(kwargs.get("NextToken"))
        return {**pages[kwargs.get("NextToken")]}

    monkeypatch.setattr(plan.stacks, "call", call)
    answer = plan.describe_change_set(FakeStack(), "cs")
    assert [c["n"] for c in answer["Changes"]] == [1, 2, 3] and calls == [None, "a", "b"]


def test_a_change_set_still_being_made_is_waited_for_then_given_up(monkeypatch):
    states = iter(["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    monkeypatch.setattr(plan.stacks, "call", lambda *a, **k: {"Status": next(states), "Changes": []})
    assert plan.describe_change_set(FakeStack(), "cs", poll=0)["Status"] == "CREATE_COMPLETE"
    monkeypatch.setattr(plan.stacks, "call", lambda *a, **k: {"Status": "CREATE_IN_PROGRESS"})
    with pytest.raises(plan.PlanError, match="still CREATE_IN_PROGRESS after 0 s"):
        plan.describe_change_set(FakeStack(), "cs", timeout=0, poll=0)


def test_old_change_sets_are_found_on_every_page(monkeypatch):
    pages = {None: {"Summaries": [{"ChangeSetName": "a"}], "NextToken": "t"},
             "t": {"Summaries": [{"ChangeSetName": "wm-plan-weekly-models-prod-models-x"}]}}
    monkeypatch.setattr(plan.stacks, "call", lambda stack, service, command, **k: pages[k.get("NextToken")])
    assert plan._existing_change_sets(FakeStack()) == ["a", "wm-plan-weekly-models-prod-models-x"]


# --- drift, in words --------------------------------------------------------------------------------

def test_drift_names_each_changed_resource_and_property():
    response = {"StackResourceDrifts": [
        {"LogicalResourceId": "Schedule", "ResourceType": "AWS::Scheduler::Schedule",
         "StackResourceDriftStatus": "MODIFIED",
         "PropertyDifferences": [{"PropertyPath": "/State", "ExpectedValue": "ENABLED", "ActualValue": "DISABLED"}]},
        {"LogicalResourceId": "DeadLetterQueue", "ResourceType": "AWS::SQS::Queue",
         "StackResourceDriftStatus": "DELETED"},
        {"LogicalResourceId": "LogGroup", "ResourceType": "AWS::Logs::LogGroup", "StackResourceDriftStatus": "IN_SYNC"}]}
    lines, n = drift.lines("prod/models/x", "DETECTION_COMPLETE", response)
    assert n == 2
    assert lines == ["prod/models/x: DeadLetterQueue (AWS::SQS::Queue) DELETED",
                     "prod/models/x: Schedule (AWS::Scheduler::Schedule) MODIFIED",
                     "    /State: code says 'ENABLED', AWS has 'DISABLED'"]


@pytest.mark.parametrize("detection,words", [
    ("DETECTION_COMPLETE", "prod/x: matches the code"),
    ("STACK_DOES_NOT_EXIST", "prod/x: not deployed"),
    ("TIMED_OUT", "did not finish in five minutes"),
    ("DETECTION_FAILED", "could not check every resource"),
])
def test_drift_says_what_it_found_when_nothing_drifted(detection, words):
    lines, n = drift.lines("prod/x", detection, {"StackResourceDrifts": []})
    assert n == 0 and words in lines[0]


def test_drift_goes_through_sceptre_for_every_stack_and_counts(monkeypatch):
    answers = {"a": ("DETECTION_COMPLETE", {"StackResourceDrifts": []}),
               "b": ("DETECTION_COMPLETE", {"StackResourceDrifts": [
                   {"LogicalResourceId": "R", "ResourceType": "T", "StackResourceDriftStatus": "MODIFIED"}]})}

    class Actions:
        def __init__(self, stack):
            self.stack = stack

        def drift_show(self, drifted):
            assert drifted is True  # only what differs
            return answers[self.stack.name]

    class S:
        def __init__(self, name):
            self.name = name

    from wm.deploy import stacks

    monkeypatch.setattr(stacks, "actions", Actions)
    shown = []
    assert drift.detect([S("a"), S("b")], shown.append) == 1
    assert shown == ["a: matches the code", "b: R (T) MODIFIED"]
