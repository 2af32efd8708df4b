"""`wm`: the commands behind the Makefile. Run `make help` for the front door.

Every command resolves the configuration once (wm/config/resolve.py) and prints problems
as `file: field: what is wrong; what would be right`, exiting 2 without a traceback,
before any AWS call. Deploys, plans and drift go through Sceptre (wm/deploy/). The `wm`
command starts in wm/__main__.py, which tunes the garbage collector first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from generators import render
from wm import project
from wm.config import names as naming
from wm.config import resolve
from wm.config.model import Environment
from wm.config.problems import ConfigError

ROOT = project.root()
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


def _load(env: str, root: Path | None = None, now=None, graph: bool = False) -> Environment:
    try:
        return resolve.load(root or ROOT, _config_env(env), now=now, graph=graph)
    except ConfigError as err:
        lines = "\n".join(f"  {p}" for p in err.problems)
        raise Failure(f"configuration problems ({len(err.problems)}), nothing was rendered or deployed:\n{lines}", 2) from None


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _warn(e: Environment) -> None:
    for w in e.warnings:
        print(f"  warning: {w}")


def cmd_validate(args) -> None:
    e = _load(args.env, graph=True)  # Sceptre's reading of the same files must agree
    names = f": {', '.join(m.name for m in e.models)}" if e.models else ""
    jobs = f"; {_count(len(e.jobs), 'job')}: {', '.join(j.name for j in e.jobs)}" if e.jobs else ""
    print(f"{e.name}: {_count(len(e.stacks), 'stack')} valid ({_count(len(e.models), 'model')}{names}{jobs})")
    for p in e.placeholders:
        print(f"  still to set before deploying to AWS: {p}")
    _warn(e)
    for note in e.notes:
        print(f"  note: {note}")


def templates(e: Environment) -> list[tuple[str, str]]:
    """Every stack of `e` rendered: (stack path, template) pairs, in the environment's order."""
    return [(path, render(stack)) for path, stack in e.stacks.items()]


def render_env(e: Environment, out: Path) -> list[Path]:
    """Write every stack's template to out/<env>/<stack path>.yaml; returns the files written."""
    return write_env(e.name, templates(e), out)


def write_env(name: str, pairs: list[tuple[str, str]], out: Path) -> list[Path]:
    """Write (stack path, template) pairs of environment `name` under out/; returns the files."""
    target = out / name
    if target.exists():
        shutil.rmtree(target)  # no stale template of a removed model survives
    written = []
    for path, text in pairs:
        file = out / f"{path}.yaml"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        written.append(file)
    return written


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def cmd_render(args) -> None:
    """Every environment named, in one process (the imports paid once), each read and checked
    once; nothing is written unless every one of them is valid."""
    root = Path(args.root).resolve()
    now = resolve.docs_moment(root) if args.as_of_docs else None
    out = Path(args.out)
    rendered = [(e, templates(e)) for e in (_load(env, root, now) for env in args.env)]
    for e, texts in rendered:
        files = write_env(e.name, texts, out)
        _warn(e)
        print(f"rendered {_count(len(files), 'template')} to {_shown(out / e.name)}/")


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

    return boto3.client(service, region_name=resolve.project_region(root),
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
        raise Failure(f"AWS did not accept the credentials: {err}. {how}", 4) from None
    print(f"ENV={args.env} on AWS as {who['Arn']} (account {who['Account']}, region {resolve.project_region(ROOT)})")


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
                              f"Start it with: make emulator-start (its log: .emulator/server-{port}.log)", 5) from None
            time.sleep(0.2)


def _require_endpoint(endpoint: str | None) -> None:
    if endpoint:
        args = argparse.Namespace(endpoint=endpoint, timeout=0)
        cmd_emulator_wait(args)


def missing_resources(template: str, created: set[str]) -> list[tuple[str, str]]:
    """(type, logical ID) of every resource of `template` that is not among `created`."""
    from wm.config.yaml import read_template

    resources = read_template(template)["Resources"]
    return sorted((r["Type"], logical) for logical, r in resources.items() if logical not in created)


def cmd_report(args) -> None:
    """Print each deployed stack's outputs, and the resources the emulator did not create."""
    _require_endpoint(args.endpoint)
    from botocore.exceptions import ClientError

    cfn = _boto("cloudformation")
    e = _load(args.env)
    missing_total: dict[str, list[str]] = {}
    for path, spec in e.stacks.items():
        name = spec.name
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
            for kind, logical in missing_resources(render(spec), created):
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
    from wm.config.checks import secret_name
    from wm.config.names import secret_parameter

    problem = secret_name(args.name)
    if problem:
        raise Failure(f"NAME: {problem}", 2)
    used = sorted({s for m in e.models for s in m.secrets} | {s for j in e.jobs for s in j.secrets})
    if args.name not in used:
        raise Failure(f"NAME={args.name} is not a secret any model or job of {e.name} reads; known: {', '.join(used)}", 2)
    _require_endpoint(args.endpoint)
    if sys.stdin.isatty():
        value = getpass.getpass(f"value of {args.name} for {args.env} (not echoed): ")
    else:
        value = sys.stdin.read()
    value = value.rstrip("\n")
    if not value:
        raise Failure("no value given; nothing stored", 2)
    from wm.config.names import job_secret_parameter

    # Models and jobs keep their secrets apart (a job's image is often public); a name both read is stored twice.
    parameters = ([secret_parameter(e.name, args.name)] if any(args.name in m.secrets for m in e.models) else []) + \
        ([job_secret_parameter(e.name, args.name)] if any(args.name in j.secrets for j in e.jobs) else [])
    kwargs = {}
    key = e.settings.secrets_kms_key_arn
    if key:
        kwargs["KeyId"] = key
    under = f"the KMS key {key}" if key else "the AWS managed key aws/ssm"
    for parameter in parameters:
        _boto("ssm").put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=True,
                                   Description=f"weekly-models {e.name} secret {args.name}", **kwargs)
        print(f"stored {parameter} as a SecureString encrypted with {under} ({len(value)} characters, value not shown)")


def _model(e: Environment, name: str | None):
    known = ", ".join(m.name for m in e.models)
    if not name:
        raise Failure(f"give the model, e.g. MODEL={e.models[0].name}; known: {known}", 2)
    for m in e.models:
        if m.name == name:
            return m
    raise Failure(f"MODEL={name} is not a model of {e.name}; known: {known}", 2)


def _ops(args):
    """The environment, and a client factory aimed at the emulator (local) or AWS."""
    e = _load(args.env)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    return e, _boto


def cmd_status(args) -> None:
    from wm.operations import runs

    e, aws = _ops(args)
    rows = runs.status(aws, list(e.models), e.cluster_name, e.lab_timezone)
    print(runs.table(rows, e.lab_timezone))
    print(f"\nrun history: {naming.run_history_log_group(e.name)}; a run's log: make logs MODEL=<model> ENV={args.env}")


def cmd_run(args) -> None:
    from wm.operations import runs

    e, aws = _ops(args)
    model = _model(e, args.model)
    try:
        task, started = runs.run(aws, model)
    except runs.RunError as err:
        raise Failure(str(err), 1) from None
    print(f"{'started' if started else 'already started this minute (not starting a second one)'}: {task}")
    print(f"follow it: make logs MODEL={model.name} ENV={args.env}")
    if args.env == "local":
        print("(the emulator records the task but runs no container, so it writes no log)")


def cmd_logs(args) -> None:
    from wm.operations import runs

    e, aws = _ops(args)
    model = _model(e, args.model)
    cluster = e.cluster_name
    try:
        task = args.task or runs.latest_task(aws, model, cluster, lambda: runs._history(aws, e.name))
    except runs.RunError as err:
        raise Failure(str(err), 1) from None
    if "/" not in task:
        task = runs.task_arn(task, cluster, e.region, _boto("sts").get_caller_identity()["Account"])
    follow = args.follow and args.env != "local"
    print(f"task {task}{' (following while it runs; Ctrl-C stops)' if follow else ''}")
    printed = []
    where = runs.log_lines(aws, model, cluster, task, follow, lambda line: (printed.append(line), print(line)))
    if not printed:
        print(f"no log lines (yet) in {where}" + (": the emulator runs no container" if args.env == "local" else ""))


def _job(e: Environment, name: str | None):
    known = ", ".join(j.name for j in e.jobs) or "none (add jobs/<name>.yaml)"
    if not name:
        raise Failure(f"give the job, e.g. JOB={e.jobs[0].name if e.jobs else '<name>'}; known: {known}", 2)
    job = e.job(name)
    if job is None:
        raise Failure(f"JOB={name} is not a job of {e.name}; known: {known}", 2)
    return job


def cmd_submit(args) -> None:
    import datetime as dt

    from wm.operations import jobs
    from wm.reports.cost import load_prices

    e = _load(args.env)
    job = _job(e, args.job)
    if args.size is not None and not 1 <= args.size <= 10000:
        raise Failure(f"SIZE={args.size}: a submission has 1 to 10000 children", 2)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    try:
        sub = jobs.submit(_boto, e, job, args.size, dt.datetime.now(dt.UTC))
    except jobs.JobError as err:
        raise Failure(str(err), 1) from None
    most = jobs.most_cost(load_prices(ROOT, e.region), e, job, sub["size"])
    print(f"submitted {sub['name']}: {sub['id']} ({sub['size']} child{'ren' * (sub['size'] > 1)}, "
          f"{job.vcpus:g} vCPU and {job.memory} MiB each{f', {job.gpus} GPUs' if job.gpus else ''}, capacity "
          f"{job.capacity}{' on EC2' if job.platform == 'EC2' else ''})")
    where = (f"on-demand EC2 prices ({e.settings.batch_instance_family})" if job.platform == "EC2"
             else "on-demand Fargate prices")
    print(f"at most ${most:.2f}: every child's {job.attempts} attempt{'s' * (job.attempts > 1)} running its "
          f"{job.timeout_minutes}-minute timeout after a {jobs.PULL_MINUTES}-minute image pull, at {where} "
          f"(prices/{e.region}.json)")
    print(f"follow it: make jobs ENV={args.env} (make jobs ENV={args.env} ID={sub['id']} for its failures)")
    if args.env == "local":
        print("(the emulator runs nothing: the children advance through their states on the clock)")


def cmd_jobs(args) -> None:
    import datetime as dt

    from wm.operations import jobs

    e = _load(args.env)
    job = _job(e, args.job) if args.job else None
    _require_endpoint(args.endpoint if args.env == "local" else None)
    now = dt.datetime.now(dt.UTC)
    try:
        if args.id:
            d, failed = jobs.one(_boto, e, args.id)
            c = jobs.counts(d)
            print(f"{d['jobId']} {d['jobName']}: {d['status']} {jobs.bar(c)} "
                  + ", ".join(f"{n} {s.lower()}" for s, n in c.items() if n))
            print("\n".join(jobs.failures(e, failed)) if failed else "no failed children")
            return
        scheduled = jobs.schedule_lines(_boto, e, [job] if job else list(e.jobs), now)
        print("\n".join([*scheduled, ""] if scheduled else []) + jobs.table(jobs.submissions(_boto, e, job, now),
                                                                              now, args.env))
    except jobs.JobError as err:
        raise Failure(str(err), 1) from None


def cmd_cancel(args) -> None:
    from wm.operations import jobs

    e = _load(args.env)
    if not args.id:
        raise Failure("give the submission, e.g. ID=<id> (make jobs lists them)", 2)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    try:
        d, _ = jobs.one(_boto, e, args.id)
    except jobs.JobError as err:
        raise Failure(str(err), 1) from None
    if d["status"] in jobs.DONE:
        print(f"{args.id} has already stopped ({d['status']}): nothing to cancel")
        return
    jobs.cancel(_boto, args.id)
    print(f"cancelled {args.id} ({d['jobName']}): children not started will not start, running ones stop")


def cmd_results(args) -> None:
    from wm.operations import jobs

    e = _load(args.env)
    if not args.id:
        raise Failure("give the submission, e.g. ID=<id> (make jobs lists them)", 2)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    account = _boto("sts").get_caller_identity()["Account"]
    try:
        d, _ = jobs.one(_boto, e, args.id)
        job = jobs.job_of(e, d)
        keys = jobs.results(_boto, e, job, args.id, account, Path(args.get) if args.get else None)
    except jobs.JobError as err:
        raise Failure(str(err), 1) from None
    where = f"s3://{jobs.results_bucket(e, account)}/{naming.slug(job.name)}/{args.id}"
    for k in keys:
        print(k)
    print(f"{len(keys)} output{'s' * (len(keys) != 1)} under {where}"
          + (f", downloaded into {args.get}" if args.get and keys else "")
          + (" (the emulator runs nothing, so no job writes any)" if args.env == "local" and not keys else ""))


def cmd_refresh(args) -> None:
    """Write (or with --check, compare) everything generated from the code: snapshots, docs, diagrams."""
    from wm.reports import refresh

    stale = refresh.run(ROOT, check=args.check, say=print)
    if args.check and stale:
        raise Failure(f"{len(stale)} generated files are out of date ({', '.join(stale[:6])}"
                      f"{', ...' if len(stale) > 6 else ''}): run make refresh, review git diff, and commit", 6)


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
    prices = cost.load_prices(ROOT, e.region)
    as_of = e.docs_as_of or dt.date.today()
    print(cost.report(prices, e, as_of, only=args.model, minutes=minutes))


# --- deploying: every environment through Sceptre --------------------------------------------

def _refuse_dirty(env: str, commit: str) -> None:
    if env == "prod" and commit.endswith("-dirty"):
        raise Failure("the work tree has uncommitted changes: prod is planned and deployed only from a commit "
                      "(commit or stash them, then try again)", 7)


def cmd_plan(args) -> None:
    from wm.deploy import plan

    commit = project.commit(ROOT)
    _refuse_dirty(args.env, commit)
    e, _ = _ops(args)
    try:
        plans = plan.make(ROOT, e.name)
    except plan.PlanError as err:
        raise Failure(str(err), 1) from None
    for p in plans:  # what the season dates mean today, beside the changes
        stack = e.stacks.get(p.path)
        note = stack.model.season.note if stack is not None and stack.model is not None else ""
        if note:
            p.note = f"{p.note}; {note}" if p.note else note
    md, _ = plan.save(plans, args.env, commit, ROOT / "build")
    print(plan.to_table(plans, args.env))
    how = (f"deploy exactly this with: make deploy ENV={args.env}" if args.env == "prod" else
           f"make deploy ENV={args.env} deploys it (sceptre launch {e.name})")
    print(f"\nwritten to {_shown(md)}; {how}")
    if any(c.risks_data for p in plans for c in p.changes):
        raise Failure("the plan removes or replaces resources that hold data (listed above); "
                      "make sure that is intended before deploying", plan.EXIT_STATEFUL)


def _confirm(question: str, yes: bool, unchanged: str = "nothing was deployed") -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise Failure(f"not confirmed ({unchanged}): run again with CONFIRM=yes", 9)
    if input(f"{question} type yes: ").strip() != "yes":
        raise Failure(f"not confirmed; {unchanged}", 9)


def _failed_stacks(e: Environment) -> list[str]:
    """A recovery hint for each stack the launch left in a failed state."""
    from botocore.exceptions import ClientError

    from wm.deploy.plan import FAILED_STATES, recover_hint

    hints = []
    for stack in e.stacks.values():
        try:
            status = _boto("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]["StackStatus"]
        except ClientError:
            continue
        if status in FAILED_STATES or status.endswith("ROLLBACK_COMPLETE"):
            hints.append(recover_hint(stack.name, status))
    return hints


def cmd_deploy(args) -> None:
    """`sceptre launch` of the environment: the one way every environment is deployed."""
    from wm.deploy import guard, plan

    e = _load(args.env)
    if args.env != "local":
        cmd_deployable(args)
    if e.name == "prod":
        try:
            saved = guard.check_environment(ROOT, "prod")
        except guard.Refused as err:
            raise Failure(str(err), 8) from None
        print(plan.to_table(saved["stacks"], "prod"))
        _confirm("\ndeploy exactly this plan to prod?", args.yes)
    elif e.name == "account":
        _confirm("deploy the account's deployer stack (GitHub OIDC roles, CloudFormation's service role)?", args.yes)
    project.export_commit(ROOT)
    sceptre = Path(sys.executable).with_name("sceptre")
    result = subprocess.run([str(sceptre), "--no-colour", "launch", "-y", e.name], cwd=ROOT)
    if result.returncode:
        hints = "".join(f"\n  {h}" for h in _failed_stacks(e))
        raise Failure(f"sceptre launch {e.name} failed (its messages are above){hints}", 1)
    if e.name == "prod":
        guard.plan_file(ROOT, "prod").unlink(missing_ok=True)  # executed: it can never run twice
    cmd_report(args)


def cmd_drift(args) -> None:
    from wm.deploy import drift, stacks

    e = _load(args.env)
    if args.env == "local":
        print("the local emulator has no drift detection (moto does not implement it): nothing to compare; "
              "run make drift ENV=dev or ENV=prod against AWS")
        return
    drifted = drift.detect(stacks.in_order(stacks.plan(ROOT, e.name)))
    if drifted:
        raise Failure(f"{drifted} resources differ from the code: make deploy puts the code back, or change the "
                      "code to what the account should be", 11)


def cmd_confirm_destroy(args) -> None:
    """Ask before destroying prod; then lift termination protection so sceptre delete can go on."""
    if args.env != "prod":
        return
    if args.confirm != "prod":
        if not sys.stdin.isatty():
            raise Failure("refusing to destroy prod: run with CONFIRM=prod (the environment's name typed back)", 9)
        if input("this deletes every prod stack (retained logs and queues stay). Type prod to go on: ").strip() != "prod":
            raise Failure("not confirmed; nothing was deleted", 9)
    from wm.deploy import protect, stacks

    for stack in stacks.in_order(stacks.plan(ROOT, "prod")):
        protect.unprotect(stack)


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
    smoke = Smoke(aws, e.name, e.models, model, emulator=args.env == "local", wait_minutes=args.wait,
                  environment=e, job=e.jobs[0] if e.jobs else None)
    steps = smoke.run_all_and_clean_up(shlex.split(args.deploy))
    print()
    print(table(steps, where))
    if any(s.result == FAIL for s in steps):
        raise Failure("make smoke: a step failed (above)", 12)


def cmd_migrate(args) -> None:
    """The cut-over from the hand-built setup (wm/cutover/): a read-only report, or one STEP."""
    import datetime as dt

    from wm.cutover import handbuilt, report, steps

    e = _load(args.env)
    if args.model:
        _model(e, args.model)
    if args.model and args.step not in ("switch", "rollback"):
        raise Failure(f"MODEL= is for STEP=switch and STEP=rollback; STEP={args.step} covers every model", 2)
    if args.env == "dev" and args.step in ("switch", "rollback", "cleanup"):
        # The hand-built setup makes the real weekly runs: only prod replaces it (a dev run is a dry run).
        raise Failure(f"STEP={args.step} changes the hand-built setup, which makes the real weekly runs: only "
                      "ENV=prod replaces it (rehearse with ENV=local on the emulator); ENV=dev can report and copy "
                      "secrets only", 2)
    _require_endpoint(args.endpoint if args.env == "local" else None)
    who = _boto("sts").get_caller_identity()
    where = f"the local emulator at {args.endpoint}" if args.env == "local" else "AWS"
    print(f"make migrate ENV={args.env} STEP={args.step}: account {who['Account']}, region {e.region} ({where}), "
          f"compared with the {e.name} configuration")
    setup = handbuilt.scan(_boto, e)
    now = dt.datetime.now(dt.UTC)
    acts = args.step != "report" and not (args.step == "cleanup" and not args.yes)
    if acts and args.env != "local":  # a real account: every step that changes something asks first
        _confirm(f"STEP={args.step} changes account {who['Account']} in {e.region}; go on?", args.yes,
                 "nothing was changed")
    out = ROOT / "build" / f"migrate-{args.env}.md"
    journal = out.with_suffix(".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    lines, code = [], 0
    try:
        if args.step == "secrets":
            lines, complete = steps.secrets(_boto, e, setup, args.overwrite, args.env)
            code = 0 if complete else 1
        elif args.step == "switch":
            lines, refused = steps.switch(_boto, e, setup, args.model, args.force, now, args.env)
            code = 1 if refused else 0
        elif args.step == "rollback":
            lines, failed = steps.rollback(_boto, e, setup, args.model)
            code = 1 if failed else 0
        elif args.step == "cleanup":
            lines, done = steps.cleanup(steps.cleanup_actions(_boto, e, setup, args.env), args.yes)
            code = 0 if done else 1
    except Exception as err:
        lines.append(f"STEP={args.step} stopped: {type(err).__name__}")
        raise
    finally:
        for line in lines:
            print(line)
        if acts:  # the record of what was done, even when the step stopped half-way
            with journal.open("a") as f:
                f.write(f"{now:%Y-%m-%d %H:%M} UTC STEP={args.step} (account {who['Account']}):\n"
                        + "".join(f"    {line}\n" for line in lines))
    if acts:
        setup = handbuilt.scan(_boto, e)  # the report shows the account as the step left it
    r = report.compare(_boto, e, setup, now, where, args.env)
    if journal.exists():
        r.done = journal.read_text().splitlines()
    text = report.markdown(r)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    if args.step == "report":
        print(text, end="")
    print(f"report: {out.relative_to(ROOT)}")
    if args.step == "report" and r.fails:
        raise Failure("the report found differences that change what a model does, or could not read something "
                      "(the Summary above); nothing was changed", report.EXIT_DIFFERENCES)
    if code:
        raise Failure(f"STEP={args.step}: not everything could be done (above)", code)


def cmd_cfn_lint(args) -> None:
    from wm.lint import cfn

    folder = Path(args.folder)
    files = cfn.templates(folder)
    if not files:
        raise Failure(f"no templates under {folder}: render them first (make lint does)", 2)
    t0 = time.monotonic()
    cache = None if args.no_cache else ROOT / "build" / "cfn-lint-cache.json"
    findings, distinct, linted = cfn.lint(files, resolve.project_region(ROOT), cache=cache)
    for line in findings:
        print(line)
    print(f"cfn-lint: {_count(len(files), 'template')} ({distinct} distinct, {linted} linted now, the others "
          f"unchanged since they were) in {time.monotonic() - t0:.1f} s, {len(findings)} findings")
    if findings:
        raise Failure("cfn-lint found problems (above)", 1)


def cmd_lint_iam(args) -> None:
    from wm.lint import iam

    if iam.main():
        raise Failure("IAM lint found problems (above): grant or remove the permission in generators/, or record "
                      "why not in wm/lint/permissions.py (NOT_GRANTED) or wm/lint/policies.py (SUPPRESSED)", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check every setting of an environment")
    p.add_argument("env")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("render", help="write every stack's template to build/<env>/ (several environments at once)")
    p.add_argument("env", nargs="+")
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
                                 ("deploy", cmd_deploy, "sceptre launch of the environment (prod: the reviewed plan)"),
                                 ("drift", cmd_drift, "what differs between the account and the code"),
                                 ("confirm-destroy", cmd_confirm_destroy, "ask before destroying prod")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("env")
        p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
        p.add_argument("--yes", action="store_true", help="deploy without asking (CONFIRM=yes)")
        p.add_argument("--confirm", default="", help="the environment's name, to destroy prod")
        p.set_defaults(func=func)
    p = sub.add_parser("smoke", help="acceptance run: deploy, a dry run, a failed start, the alerts")
    p.add_argument("env")
    p.add_argument("--model", help="the model to run (default: the first)")
    p.add_argument("--deploy", required=True, help="the command that deploys the environment")
    p.add_argument("--wait", type=float, default=90, help="minutes to wait for the dry run to stop")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.set_defaults(func=cmd_smoke)
    p = sub.add_parser("migrate", help="cut over from the hand-built setup: a report, or one step")
    p.add_argument("env")
    p.add_argument("--step", default="report", choices=("report", "secrets", "switch", "rollback", "cleanup"))
    p.add_argument("--model", help="switch or roll back only this model")
    p.add_argument("--overwrite", action="store_true", help="secrets: replace a parameter that exists")
    p.add_argument("--force", action="store_true", help="switch without a successful run of the new setup")
    p.add_argument("--yes", action="store_true", help="confirmed (CONFIRM=yes); cleanup acts only with it")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p.set_defaults(func=cmd_migrate)
    for name, func, helptext in (("submit", cmd_submit, "submit a fan-out job (AWS Batch)"),
                                 ("jobs", cmd_jobs, "recent submissions, or one submission's failures"),
                                 ("cancel", cmd_cancel, "cancel a submission"),
                                 ("results", cmd_results, "list (or download) a submission's outputs")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("env")
        p.add_argument("--job")
        p.add_argument("--id")
        p.add_argument("--size", type=int)
        p.add_argument("--get", help="download the outputs into this folder")
        p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
        p.set_defaults(func=func)
    p = sub.add_parser("cfn-lint", help="cfn-lint (I rules and the project's rules) over rendered templates, in parallel")
    p.add_argument("folder")
    p.add_argument("--no-cache", action="store_true", help="lint every template, even one linted before")
    p.set_defaults(func=cmd_cfn_lint)
    p = sub.add_parser("lint-iam", help="service role permissions and parliament over every policy (offline)")
    p.set_defaults(func=cmd_lint_iam)
    p = sub.add_parser("refresh", help="write the snapshots, docs/ and the diagrams from the code")
    p.add_argument("--check", action="store_true", help="fail when any of them is out of date")
    p.set_defaults(func=cmd_refresh)
    p = sub.add_parser("cost", help="monthly cost per model and for the environment")
    p.add_argument("env")
    p.add_argument("--model")
    p.add_argument("--duration", help="minutes per run, instead of each model's expected_duration_minutes")
    p.set_defaults(func=cmd_cost)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except Failure as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except ConfigError as err:
        lines = "\n".join(f"  {p}" for p in err.problems)
        print(f"error: configuration problems ({len(err.problems)}):\n{lines}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head: not an error
        return 0
    except Exception as err:
        if type(err).__module__.split(".")[0] != "botocore":
            raise
        return _aws_error(err)
    return 0


def _aws_error(err: Exception) -> int:
    """An error of botocore's, in words and without the request (botocore is imported only when
    one happens: `make render` and the other offline commands start without it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(err, ClientError):  # AWS said no: its own words
        print(f"error: AWS refused: {err.response['Error'].get('Code')}: "
              f"{err.response['Error'].get('Message')}", file=sys.stderr)
    elif isinstance(err, BotoCoreError):
        print(f"error: could not reach AWS: {err}", file=sys.stderr)
    else:  # botocore's parser errors are not BotoCoreErrors; their text quotes the answer, which may hold a secret
        print(f"error: AWS (or the emulator) gave an answer that could not be read ({type(err).__name__})",
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
