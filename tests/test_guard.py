"""The reviewed-plan guard's refusals, one by one, on a throw-away git repository (no AWS).

The emulator test (test_deploy_emulator.py) shows `sceptre launch prod` refused end to end;
this table covers every reason the guard can give, and that each names what to do.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import git

from wm.deploy import guard, plan

BODIES = {"prod/network": "network template\n", "prod/models/m": "model template\n"}


def planned(kind: str = "update") -> list[plan.StackPlan]:
    return [plan.StackPlan("prod/network", "weekly-models-prod-network", "no change", plan.sha(BODIES["prod/network"]), {}),
            plan.StackPlan("prod/models/m", "weekly-models-prod-models-m", kind, plan.sha(BODIES["prod/models/m"]),
                           {"SubnetIds": "subnet-1,subnet-2"})]


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".gitignore").write_text("/build/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    guard.forget()
    yield tmp_path
    guard.forget()


def save(repo, plans=None, env="prod", commit=None):
    plan.save(plans if plans is not None else planned(), env, commit or git(repo, "rev-parse", "HEAD"), repo / "build")


def fake_stack(path: str, body: str | None = None, parameters: dict | None = None):
    return SimpleNamespace(name=path, template=SimpleNamespace(body=body if body is not None else BODIES[path]),
                           parameters=parameters if parameters is not None else {"SubnetIds": ["subnet-1", "subnet-2"]})


def refusal(repo, rendered=None) -> str:
    with pytest.raises(guard.Refused) as err:
        guard.check_environment(repo, "prod", rendered or dict(BODIES))
    return str(err.value)


def test_the_plan_as_reviewed_passes(repo, monkeypatch):
    save(repo)
    monkeypatch.setattr(guard, "_render", lambda root, env: dict(BODIES))
    assert guard.check_environment(repo, "prod", dict(BODIES))["env"] == "prod"
    guard.check_stack(fake_stack("prod/models/m"), repo, "prod")  # Sceptre resolves SubnetIds to a list


@pytest.mark.parametrize("setup,reason", [
    (lambda repo: None, "there is no plan"),
    (lambda repo: save(repo, env="dev"), "there is no plan"),  # a dev plan is not a prod plan
    (lambda repo: (save(repo), (repo / "new.txt").write_text("x")), "the work tree has uncommitted changes"),
    (lambda repo: save(repo, commit="0" * 40), "the plan was made at 000000000000"),
])
def test_the_repository_must_be_exactly_where_the_plan_was_made(repo, setup, reason):
    setup(repo)
    text = refusal(repo)
    assert reason in text
    assert "Nothing was changed" in text and "make plan ENV=prod" in text and "make deploy ENV=prod" in text


def test_a_stack_added_or_removed_since_the_plan_is_refused(repo):
    save(repo)
    assert "not planned: prod/models/new" in refusal(repo, {**BODIES, "prod/models/new": "x"})
    assert "planned but no longer configured: prod/models/m" in refusal(repo, {"prod/network": BODIES["prod/network"]})


def test_a_template_that_changed_since_the_plan_is_refused(repo):
    save(repo)
    text = refusal(repo, {**BODIES, "prod/models/m": "model template, a season later\n"})
    assert "the template of prod/models/m differs from the one planned" in text


def test_each_stack_is_checked_again_as_sceptre_renders_it(repo, monkeypatch):
    save(repo)
    monkeypatch.setattr(guard, "_render", lambda root, env: dict(BODIES))
    with pytest.raises(guard.Refused, match="the template Sceptre renders for prod/models/m differs"):
        guard.check_stack(fake_stack("prod/models/m", body="something else\n"), repo, "prod")
    with pytest.raises(guard.Refused, match="prod/models/other is not in the plan"):
        guard.check_stack(fake_stack("prod/models/other", body=""), repo, "prod")


def test_inputs_that_changed_since_the_plan_are_refused_by_name(repo, monkeypatch):
    save(repo)
    monkeypatch.setattr(guard, "_render", lambda root, env: dict(BODIES))
    with pytest.raises(guard.Refused, match=r"the inputs of prod/models/m changed since the plan was made \(SubnetIds\)"):
        guard.check_stack(fake_stack("prod/models/m", parameters={"SubnetIds": ["subnet-9"]}), repo, "prod")


def test_a_stack_planned_from_its_template_is_pinned_by_its_template_only(repo, monkeypatch):
    save(repo, planned(kind="from template"))
    monkeypatch.setattr(guard, "_render", lambda root, env: dict(BODIES))
    # Its inputs did not exist at plan time: whatever they resolve to now, the template is what was reviewed.
    guard.check_stack(fake_stack("prod/models/m", parameters={"SubnetIds": ["subnet-9"]}), repo, "prod")


def test_one_refusal_stops_every_stack_of_the_launch(repo, monkeypatch):
    save(repo)
    renders = []
    monkeypatch.setattr(guard, "_render", lambda root, env: renders.append(env) or {**BODIES, "prod/network": "changed"})
    for path in BODIES:  # Sceptre calls the hook once per stack; the whole check runs once
        with pytest.raises(guard.Refused, match="the template of prod/network differs"):
            guard.check_stack(fake_stack(path), repo, "prod")
    assert renders == ["prod"]
