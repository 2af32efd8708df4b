"""`wm`: the commands behind the Makefile. Run `make help` for the front door.

Every command validates the configuration first and prints problems as
`file: field: what is wrong; what would be right`, exiting 2 without a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import os
import shutil
import sys
import time
from pathlib import Path

from generators import build, render_spec
from wm.config import files as loader
from wm.config import names as naming
from wm.config.schema import ConfigError, ModelStack
from wm.operations import runs

ROOT = Path(__file__).resolve().parents[1]
CONFIG_ENVS = {"local": "dev", "dev": "dev", "prod": "prod", "account": "account"}


class Failure(Exception):
    """An expected failure: its message is printed, exit code `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _config_env(env: str) -> str:
    if env not in CONFIG_ENVS:
        raise Failure(f"ENV={env!r} is not an environment; use local (dev on the emulator), dev or prod "
                      "(or account, for the once-per-account deployer stack)", 2)

    return CONFIG_ENVS[env]


def _load(env: str, root: Path | None = None, now=None) -> loader.Environment:
    try:
        return loader.load(root or ROOT, _config_env(env), now=now)
    except ConfigError as err:
        lines = "\n".join(f"  {p}" for p in err.problems)
        raise Failure(f"configuration problems ({len(err.problems)}), nothing was rendered or deployed:\n{lines}", 2)


def cmd_validate(args) -> None:
    e = _load(args.env)
    print(f"{e.name}: {len(e.stacks)} stacks valid ({len(e.models)} models)")
    for p in e.placeholders:
        print(f"  still to set before deploying to AWS: {p}")
    for m in e.models:
        if m.season.note:
            print(f"  note: models/{m.name}.yaml: {m.season.note}")


def render_env(env: str, out: Path, root: Path | None = None, now=None) -> list[Path]:
    """Write every stack's template to out/<env>/<stack path>.yaml, as deployed at `now` (default: the
    current time); returns the files written."""
    e = _load(env, root, now)
    target = out / e.name
    if target.exists():
        shutil.rmtree(target)  # no stale template of a removed model survives
    written = []
    for path, spec in e.stacks.items():
        file = out / f"{path}.yaml"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(render_spec(spec))
        written.append(file)
    return written


def cmd_render(args) -> None:
    root = Path(args.root).resolve()
    now = loader.docs_moment(root) if args.as_of_docs else None
    files = render_env(args.env, Path(args.out), root=root, now=now)
    target = Path(args.out).resolve() / _config_env(args.env)
    shown = target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target
    print(f"rendered {len(files)} templates to {shown}/")


def cmd_deployable(args) -> None:
    """Refuse a deploy to a real account while a placeholder is left."""
    e = _load(args.env)
    if args.env != "local" and e.placeholders:
        lines = "\n".join(f"  {p}" for p in e.placeholders)
        raise Failure(f"refusing to deploy {args.env} to AWS: these values are still placeholders:\n{lines}\n"
                      "Set them in the files named (make validate ENV=... lists them), or try "
                      "everything locally with: make deploy", 3)
    print(f"{args.env}: configuration valid, nothing left to set")


def _boto(service: str):
    """A client in the project's region (config/config.yaml), whatever the local AWS profile says;
    one per service, endpoint and project for the whole command."""
    return _client(service, ROOT, os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def _client(service: str, root: Path, endpoint: str | None):
    import boto3
    from botocore.config import Config

    return boto3.client(service, region_name=loader.project_region(root),
                        config=Config(connect_timeout=3, read_timeout=30,
                                      retries={"max_attempts": 2, "mode": "standard"}))


def _endpoint_overrides() -> list[str]:
    return sorted(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))


def cmd_aws_check(args) -> None:
    """Stop at once, with the way out, when there are no usable AWS credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    overrides = _endpoint_overrides()
    if overrides:
        raise Failure(f"{', '.join(overrides)} is set, so AWS calls would go to {os.environ[overrides[0]]} "
                      f"instead of AWS; for ENV={args.env} run: unset {' '.join(overrides)}", 4)
    how = ("Configure credentials (aws configure sso, or AWS_PROFILE=<profile>, or "
           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and try again; "
           "`make deploy` alone deploys everything to the local emulator with no account.")
    if boto3.Session().get_credentials() is None:
        raise Failure(f"no AWS credentials found. {how}", 4)
    try:
        who = _boto("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as err:
        raise Failure(f"AWS did not accept the credentials: {err}. {how}", 4)
    print(f"deploying {args.env} as {who['Arn']} (account {who['Account']})")


def cmd_emulator_wait(args) -> None:
    """Wait until the emulator answers, or fail clearly."""
    import urllib.request

    url = f"{args.endpoint}/moto-api/"
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as err:
            if time.monotonic() > deadline:
                port = args.endpoint.rsplit(":", 1)[-1]
                raise Failure(f"the local AWS emulator at {args.endpoint} is not answering ({err}). "
                              f"Start it with: make emulator-start (its log: .emulator/server-{port}.log)", 5)
            time.sleep(0.2)


def _require_endpoint(endpoint: str | None) -> None:
    if endpoint:
        args = argparse.Namespace(endpoint=endpoint, timeout=0)
        cmd_emulator_wait(args)


def missing_resources(template: str, created: set[str]) -> list[tuple[str, str]]:
    """(type, logical ID) of every resource of `template` that is not among `created`."""
    resources = loader.read_template(template)["Resources"]
    return sorted((r["Type"], logical) for logical, r in resources.items() if logical not in created)


def cmd_report(args) -> None:
    """Print each deployed stack's outputs, and the resources the emulator did not create."""
    _require_endpoint(args.endpoint)
    from botocore.exceptions import ClientError

    cfn = _boto("cloudformation")
    e = _load(args.env)
    missing_total: dict[str, list[str]] = {}
    for path, spec in e.stacks.items():
        name = naming.stack_name(path)
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError:
            print(f"{path}: not deployed")
            continue
        print(f"{path} ({name}): {stack['StackStatus']}")
        for o in sorted(stack.get("Outputs", []), key=lambda o: o["OutputKey"]):
            print(f"    {o['OutputKey']:20} {o['OutputValue']}")
        if args.endpoint:
            created = {r["LogicalResourceId"]
                       for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]}
            for kind, logical in missing_resources(render_spec(spec), created):
                missing_total.setdefault(kind, []).append(f"{path}:{logical}")
    if args.endpoint:
        print(f"\nendpoint: {args.endpoint} (export AWS_ENDPOINT_URL={args.endpoint} to use the AWS CLI or boto3 on it)")
        if missing_total:
            print("not created: the emulator cannot model these resource types, so they exist only in the templates:")
            for kind, where in sorted(missing_total.items()):
                print(f"    {kind}: {len(where)} ({', '.join(where[:3])}{', ...' if len(where) > 3 else ''})")
        else:
            print("every resource of every template was created by the emulator")


def cmd_secret(args) -> None:
    """Store a secret as a SecureString, read from stdin without echo; never print it."""
    e = _load(args.env)
    from wm.config.names import secret_parameter
    from wm.config.checks import secret_name

    problem = secret_name(args.name)
    if problem:
        raise Failure(f"NAME: {problem}", 2)
    used = sorted({s for m in e.models for s in m.secrets})
    if args.name not in used:
        raise Failure(f"NAME={args.name} is not a secret any model of {e.name} reads; known: {', '.join(used)}", 2)
    _require_endpoint(args.endpoint)
    if sys.stdin.isatty():
        value = getpass.getpass(f"value of {args.name} for {args.env} (not echoed): ")
    else:
        value = sys.stdin.read()
    value = value.rstrip("\n")
    if not value:
        raise Failure("no value given; nothing stored", 2)
    parameter = secret_parameter(e.name, args.name)
    kwargs = {}
    key = _env_stack(e).environment.secrets_kms_key_arn
    if key:
        kwargs["KeyId"] = key
    _boto("ssm").put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=True,
                               Description=f"weekly-models {e.name} secret {args.name}", **kwargs)
    print(f"stored {parameter} as a SecureString ({len(value)} characters, value not shown)")


def _model(e: loader.Environment, name: str | None):
    known = ", ".join(m.name for m in e.models)
    if not name:
        raise Failure(f"give the model, e.g. MODEL={e.models[0].name}; known: {known}", 2)
    for m in e.models:
        if m.name == name:
            return m
    raise Failure(f"MODEL={name} is not a model of {e.name}; known: {known}", 2)


def _env_stack(e: loader.Environment):
    return next(s for s in e.stacks.values() if not isinstance(s, ModelStack))


def _ops(args):
    """The environment, and a client factory aimed at the emulator (local) or AWS."""
    e = _load(args.env)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    return e, _boto


def cmd_status(args) -> None:
    e, aws = _ops(args)
    envstack = _env_stack(e)
    rows = runs.status(aws, e.models, envstack.cluster_name, envstack.lab_timezone)
    print(runs.table(rows, envstack.lab_timezone))
    print(f"\nrun history: {naming.run_history_log_group(e.name)}; a run's log: make logs MODEL=<model> ENV={args.env}")


def cmd_run(args) -> None:
    e, aws = _ops(args)
    model = _model(e, args.model)
    try:
        task, started = runs.run(aws, model)
    except runs.RunError as err:
        raise Failure(str(err), 1)
    print(f"{'started' if started else 'already started this minute (not starting a second one)'}: {task}")
    print(f"follow it: make logs MODEL={model.name} ENV={args.env}")
    if args.env == "local":
        print("(the emulator records the task but runs no container, so it writes no log)")


def cmd_logs(args) -> None:
    e, aws = _ops(args)
    model = _model(e, args.model)
    cluster = _env_stack(e).cluster_name
    try:
        task = args.task or runs.latest_task(aws, model, cluster, lambda: runs._history(aws, e.name))
    except runs.RunError as err:
        raise Failure(str(err), 1)
    if "/" not in task:
        task = f"arn:aws:ecs:{loader.project_region(ROOT)}:{_boto('sts').get_caller_identity()['Account']}:task/{cluster}/{task}"
    follow = args.follow and args.env != "local"
    print(f"task {task}{' (following while it runs; Ctrl-C stops)' if follow else ''}")
    printed = []
    where = runs.log_lines(aws, model, cluster, task, follow, lambda line: (printed.append(line), print(line)))
    if not printed:
        print(f"no log lines (yet) in {where}" + (": the emulator runs no container" if args.env == "local" else ""))


def cmd_docs(args) -> None:
    from wm.reports import inventory as docs

    files = docs.generated(ROOT, [_load(env, now=loader.docs_moment(ROOT)) for env in ("dev", "prod")])
    target = ROOT / "docs"
    stale = sorted(name for name, text in files.items()
                   if not (target / name).exists() or (target / name).read_text() != text)
    if args.check:
        if stale:
            raise Failure(f"docs/ is out of date ({', '.join(stale)}): run make docs and commit the result", 6)
        print("docs/ is up to date")
        return
    target.mkdir(exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text)
    print(f"wrote {len(files)} files to docs/ ({len(stale)} changed)")


def cmd_cost(args) -> None:
    from wm.reports import cost

    e = _load(args.env)
    if args.model:
        _model(e, args.model)  # an unknown model is an error, before anything is priced
    if args.duration is not None:
        try:
            minutes = float(args.duration)
        except ValueError:
            minutes = -1.0
        if not 0 < minutes <= 24 * 60:
            raise Failure(f"DURATION={args.duration} is not a number of minutes between 0 and 1440 "
                          "(e.g. DURATION=45)", 2)
    else:
        minutes = None
    envstack = _env_stack(e)
    prices = cost.load_prices(ROOT, loader.project_region(ROOT))
    as_of = envstack.docs_as_of or dt.date.today()
    print(cost.report(prices, envstack, e.models, as_of, only=args.model, minutes=minutes))


def git_commit() -> str:
    """HEAD's commit, with -dirty when the work tree has uncommitted changes."""
    import subprocess

    def git(*a):
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "HEAD") or "no-commit"
    return head + ("-dirty" if git("status", "--porcelain") else "")


def stack_tags(env: str, commit: str) -> list[dict]:
    import subprocess

    repo = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                          capture_output=True, text=True).stdout.strip() or "not recorded"
    return [{"Key": "Project", "Value": naming.PROJECT}, {"Key": "Environment", "Value": _config_env(env)},
            {"Key": "Commit", "Value": commit}, {"Key": "Repository", "Value": repo}]


def _refuse_dirty(env: str, commit: str) -> None:
    if env == "prod" and commit.endswith("-dirty"):
        raise Failure("the work tree has uncommitted changes: prod is planned and deployed only from a commit "
                      "(commit or stash them, then try again)", 7)


def _plan_inputs(e: loader.Environment):
    inputs = loader.stack_inputs(ROOT, e.name, e.stacks)
    return inputs, loader.deploy_order(inputs)


def _cloudformation_role(e: loader.Environment) -> str | None:
    role = _env_stack(e).environment.cloudformation_role
    if not role:
        return None
    account = _boto("sts").get_caller_identity()["Account"]
    return f"arn:aws:iam::{account}:role/{role}"


def cmd_plan(args) -> None:
    from wm.deploy import plan

    commit = git_commit()
    _refuse_dirty(args.env, commit)
    e, _ = _ops(args)
    inputs, order = _plan_inputs(e)
    try:
        plans = plan.make(_boto("cloudformation"), args.env, e.stacks, inputs, order, render_spec, stack_tags(args.env, commit),
                          _cloudformation_role(e))
    except plan.PlanError as err:
        raise Failure(str(err), 1)
    for p in plans:  # what the season dates mean today, beside the changes
        note = getattr(e.stacks[p.path], "season", None) and e.stacks[p.path].season.note
        if note:
            p.note = f"{p.note}; {note}" if p.note else note
    md, _ = plan.save(plans, args.env, commit, ROOT / "build")
    print(plan.to_table(plans, args.env))
    how = (f"deploy exactly this with: make deploy ENV={args.env}" if args.env == "prod" else
           f"make deploy ENV={args.env} plans and applies at once; to apply exactly this plan: "
           f"wm apply {args.env}")
    print(f"\nwritten to {md.relative_to(ROOT)}; {how}")
    if any(c.risks_data for p in plans for c in p.changes):
        raise Failure("the plan removes or replaces resources that hold data (listed above); "
                      "make sure that is intended before deploying", plan.EXIT_STATEFUL)


def cmd_apply(args) -> None:
    from wm.deploy import plan

    commit = git_commit()
    _refuse_dirty(args.env, commit)
    e, _ = _ops(args)
    try:
        saved = plan.load(ROOT / "build" / f"plan-{args.env}.json")
    except plan.PlanError as err:
        raise Failure(f"{err} ENV={args.env}", 8)
    if saved["commit"] != commit:
        raise Failure(f"the plan was made at {saved['commit']}, the work tree is now at {commit}: "
                      f"run make plan ENV={args.env} and review it again", 8)
    print(plan.to_table(saved["stacks"], args.env))
    if not args.yes:
        if not sys.stdin.isatty():
            raise Failure("not confirmed: run again with CONFIRM=yes to deploy exactly this plan", 9)
        if input(f"\ndeploy exactly this plan to {args.env}? type yes: ").strip() != "yes":
            raise Failure("not confirmed; nothing was deployed", 9)
    inputs, _ = _plan_inputs(e)
    cfn = _boto("cloudformation")
    try:
        plan.apply(cfn, args.env, saved, e.stacks, inputs, render_spec, stack_tags(args.env, commit), print,
                   _cloudformation_role(e))
    except plan.PlanError as err:
        raise Failure(str(err), 8)
    (ROOT / "build" / f"plan-{args.env}.json").unlink()  # executed: it can never run twice
    if args.env == "prod":
        cmd_protect(args)


def cmd_protect(args) -> None:
    """Termination protection and a stack policy on every existing stack of the environment."""
    from wm.deploy import plan

    e = _load(args.env)
    cfn = _boto("cloudformation")
    for path, spec in e.stacks.items():
        name = naming.stack_name(path)
        if plan.stack_status(cfn, name) in (None, "REVIEW_IN_PROGRESS"):
            continue
        cfn.update_termination_protection(EnableTerminationProtection=True, StackName=name)
        cfn.set_stack_policy(StackName=name, StackPolicyBody=plan.stack_policy(build(spec).to_dict()))
        print(f"{path}: termination protection on; stack policy denies replacing or deleting its data")


def cmd_smoke(args) -> None:
    """The acceptance run (wm/operations/smoke.py); exit 12 when a step fails."""
    import shlex

    from wm.operations.smoke import FAIL, Smoke, table

    if args.env not in ("local", "dev"):
        raise Failure(f"make smoke runs a model and makes it fail; in {args.env} those runs would be real: "
                      "run it with ENV=dev (or ENV=local on the emulator)", 2)
    if args.env != "local":
        cmd_aws_check(args)
    e, aws = _ops(args)
    model = _model(e, args.model) if args.model else e.models[0]
    where = "the local emulator" if args.env == "local" else f"AWS ({args.env})"
    print(f"make smoke on {where}, with model {model.name}; every step prints as it ends")
    smoke = Smoke(aws, e.name, e.models, model, emulator=args.env == "local", wait_minutes=args.wait)
    steps = smoke.run_all_and_clean_up(shlex.split(args.deploy))
    print()
    print(table(steps, where))
    if any(s.result == FAIL for s in steps):
        raise Failure("make smoke: a step failed (above)", 12)


def cmd_lint_iam(args) -> None:
    from wm.lint import iam

    if iam.main():
        raise Failure("IAM lint found problems (above): grant or remove the permission in generators/, or record "
                      "why not in wm/lint/permissions.py (NOT_GRANTED) or wm/lint/policies.py (SUPPRESSED)", 1)


def cmd_drift(args) -> None:
    from wm.deploy import plan

    e = _load(args.env)
    if args.env == "local":
        print("the local emulator has no drift detection (moto does not implement it): nothing to compare; "
              "run make drift ENV=dev or ENV=prod against AWS")
        return
    cfn = _boto("cloudformation")
    drifted = 0
    for path in e.stacks:
        name = naming.stack_name(path)
        if plan.stack_status(cfn, name) is None:
            print(f"{path}: not deployed")
            continue
        detection = cfn.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        while True:
            state = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if state["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            time.sleep(2)
        if state["DetectionStatus"] == "DETECTION_FAILED":
            print(f"{path}: drift detection failed: {state.get('DetectionStatusReason')}")
            continue
        resources = cfn.describe_stack_resource_drifts(
            StackName=name, StackResourceDriftStatusFilters=["MODIFIED", "DELETED"])["StackResourceDrifts"]
        if not resources:
            print(f"{path}: matches the code")
        for r in resources:
            drifted += 1
            print(f"{path}: {r['LogicalResourceId']} ({r['ResourceType']}) {r['StackResourceDriftStatus']}")
            for d in r.get("PropertyDifferences", []):
                print(f"    {d['PropertyPath']}: code says {d['ExpectedValue']!r}, AWS has {d['ActualValue']!r}")
    if drifted:
        raise Failure(f"{drifted} resources differ from the code: make deploy puts the code back, or change the "
                      "code to what the account should be", 11)


def cmd_confirm_destroy(args) -> None:
    if args.env != "prod":
        return
    if args.confirm != "prod":
        if not sys.stdin.isatty():
            raise Failure("refusing to destroy prod: run with CONFIRM=prod (the environment's name typed back)", 9)
        if input("this deletes every prod stack (retained logs and queues stay). Type prod to go on: ").strip() != "prod":
            raise Failure("not confirmed; nothing was deleted", 9)
    from wm.deploy import plan

    cfn = _boto("cloudformation")
    for path in _load(args.env).stacks:
        if plan.stack_status(cfn, naming.stack_name(path)) is not None:
            cfn.update_termination_protection(EnableTerminationProtection=False, StackName=naming.stack_name(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check every setting of an environment")
    p.add_argument("env")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("render", help="write every stack's template to build/<env>/")
    p.add_argument("env")
    p.add_argument("--out", default=str(ROOT / "build"))
    p.add_argument("--root", default=str(ROOT), help="the repository (or a fixture) whose config to render")
    p.add_argument("--as-of-docs", action="store_true",
                   help="render as of project.docs_as_of (snapshots), not as a deploy today would")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("deployable", help="refuse while a placeholder is left (real accounts)")
    p.add_argument("env")
    p.set_defaults(func=cmd_deployable)
    p = sub.add_parser("aws-check", help="check AWS credentials before a real deploy")
    p.add_argument("env")
    p.set_defaults(func=cmd_aws_check)
    p = sub.add_parser("emulator-wait", help="wait for the local emulator")
    p.add_argument("endpoint")
    p.add_argument("--timeout", type=float, default=20)
    p.set_defaults(func=cmd_emulator_wait)
    p = sub.add_parser("report", help="print deployed stacks' outputs")
    p.add_argument("env")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("secret", help="store a secret from stdin in Parameter Store")
    p.add_argument("env")
    p.add_argument("name")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.set_defaults(func=cmd_secret)
    for name, func, helptext in (("status", cmd_status, "one row per model: schedule, next and last run"),
                                 ("run", cmd_run, "start a model now as its schedule would"),
                                 ("logs", cmd_logs, "print the log of a model's latest run")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("env")
        if name != "status":
            p.add_argument("model", nargs="?")
        if name == "logs":
            p.add_argument("--task", help="a task ARN or ID (default: the latest)")
            p.add_argument("--no-follow", dest="follow", action="store_false")
        p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
        p.set_defaults(func=func)
    for name, func, helptext in (("plan", cmd_plan, "change sets for every stack, as a table and Markdown"),
                                 ("apply", cmd_apply, "execute exactly the last plan"),
                                 ("protect", cmd_protect, "termination protection and stack policies"),
                                 ("drift", cmd_drift, "what differs between the account and the code"),
                                 ("confirm-destroy", cmd_confirm_destroy, "ask before destroying prod")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("env")
        p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
        p.add_argument("--yes", action="store_true", help="apply without asking (CONFIRM=yes)")
        p.add_argument("--confirm", default="", help="the environment's name, to destroy prod")
        p.set_defaults(func=func)
    p = sub.add_parser("smoke", help="acceptance run: deploy, a dry run, a failed start, the alerts")
    p.add_argument("env")
    p.add_argument("--model", help="the model to run (default: the first)")
    p.add_argument("--deploy", required=True, help="the command that deploys the environment")
    p.add_argument("--wait", type=float, default=90, help="minutes to wait for the dry run to stop")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.set_defaults(func=cmd_smoke)
    p = sub.add_parser("lint-iam", help="service role permissions and parliament over every policy (offline)")
    p.set_defaults(func=cmd_lint_iam)
    p = sub.add_parser("docs", help="write docs/ (inventory and diagram sources)")
    p.add_argument("--check", action="store_true", help="fail when docs/ is out of date")
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser("cost", help="monthly cost per model and for the environment")
    p.add_argument("env")
    p.add_argument("--model")
    p.add_argument("--duration", help="minutes per run, instead of each model's expected_duration_minutes")
    p.set_defaults(func=cmd_cost)
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        args.func(args)
    except Failure as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except ConfigError as err:
        lines = "\n".join(f"  {p}" for p in err.problems)
        print(f"error: configuration problems ({len(err.problems)}):\n{lines}", file=sys.stderr)
        return 2
    except ClientError as err:  # AWS said no: its own words, without the request
        print(f"error: AWS refused: {err.response['Error'].get('Code')}: "
              f"{err.response['Error'].get('Message')}", file=sys.stderr)
        return 1
    except BotoCoreError as err:
        print(f"error: could not reach AWS: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # botocore's parser errors are not BotoCoreErrors
        if type(err).__module__.split(".")[0] != "botocore":
            raise
        print(f"error: AWS (or the emulator) gave an answer that could not be read: {str(err)[:300]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head: not an error
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
