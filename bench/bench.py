"""weekly-models benchmark: prints how long rendering, linting and a local deploy take.

What it measures (figures are printed, never asserted):

1. Render time of every stack of the dev environment -- `wm.config.resolve.load(root, "dev")`
   plus `generators.render` of each stack, with the files written as `wm render`
   (wm.cli.render_env) writes them -- for the five real models and for 50 and
   200 models. The larger sizes copy config/ and models/ into a temporary directory
   (config/<env>/models stay symlinks to ../../models) and add synthetic models shaped
   like models/flu-ar2.yaml. Best of 3 runs. Targets: the five under 0.5 s, 200 under 3 s.
2. `make render` as a person runs it: `wm render dev prod` in a new process (both
   environments in one process), with Python's bytecode cache kept as CPython keeps it by
   default (render_command says why that is set explicitly). Beside it, CDK's synth of the
   equivalent app (bench/cdk/app.js: the same stacks, parameters, resources and outputs
   declared as CDK constructs), in a new process too; and the render's imports alone (a new
   process importing, in the same order, every module the render imports but the project's
   own: the part that no change to this repository's code makes faster). After one untimed
   run of each, the three are taken in turn 10 times, so a busy moment of the machine slows
   all; best of each. The target is make render at least 10 times faster than CDK synth; when
   it is missed, a note says how much of that budget the imports leave. Needs Node.js; npm
   installs the pinned aws-cdk-lib into bench/cdk/node_modules on first use.
3. cfn-lint as `make lint` runs it (`wm.lint.cfn`: the I rules and the project's rules, the
   templates split between one worker per CPU, each distinct template once) over the
   templates rendered for each size, cold (no cache), best of 3 per size; then for 200 models
   again with nothing changed (its cache). Target: 200 models within 10 s.
4. Five models only: a deploy of dev to a fresh local emulator (moto server, on a free
   port) from nothing, then a no-op redeploy, both with `sceptre launch -y dev`.
   Sceptre polls stack status every 4 s, so each level of the dependency chain costs
   about 4 s even on an instant backend.

Run it from anywhere (it finds the repository from its own path):

    make bench                              # everything
    .venv/bin/python bench/bench.py         # the same
    .venv/bin/python bench/bench.py --quick # no cfn-lint for 200 models, no emulator

Exits non-zero, with the failing step's output, when a step fails.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
EMU_PYTHON = REPO / ".venv-emulator" / "bin" / "python"
ENV = "dev"
SIZES = (5, 50, 200)
REPEATS = 3
TARGETS = {5: 0.5, 200: 3.0}
SCEPTRE_POLL_SECONDS = 4

SYNTHETIC_MODEL = """\
# Synthetic model {n:03d} for bench/bench.py, shaped like models/flu-ar2.yaml.
sceptre_user_data:
  model:
    image: example/synthetic:1.0
    hub: flusight
    variables:
      MODEL_NAME: Synthetic-{n:03d}
"""


class StepFailed(Exception):
    """A benchmark step failed; the message says which and shows its output."""


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(f"    | {line}" for line in text.rstrip().splitlines()[-lines:])


# --- 1. render ---------------------------------------------------------------------------------

JOBS = 50  # synthetic jobs rendered beside the real models

SYNTHETIC_JOB = """sceptre_user_data:
  job:
    image: public.ecr.aws/docker/library/python:3.12-slim
    command: [python, -c, "print({n})"]
    array_size: {n}
"""


def make_root(tmp: Path, models: int, jobs: int | None = None) -> Path:
    """A copy of config/, models/ and jobs/ with synthetic models added up to `models` (and jobs up
    to `jobs`); returns its root."""
    root = tmp / (f"root-{models}" if jobs is None else f"root-{models}-jobs-{jobs}")  # bench_cfn_lint runs in root-<n>
    root.mkdir()
    shutil.copytree(REPO / "models", root / "models")
    shutil.copytree(REPO / "jobs", root / "jobs")
    # symlinks=True keeps config/<env>/models as links (they point at ../../models, i.e. the copy).
    shutil.copytree(REPO / "config", root / "config", symlinks=True)
    for env_dir in (root / "config").iterdir():
        for folder in ("models", "jobs"):
            link = env_dir / folder
            if env_dir.is_dir() and (REPO / "config" / env_dir.name / folder).is_symlink() and not link.is_symlink():
                if link.exists():  # recreate, whatever copytree made of it
                    shutil.rmtree(link)
                link.symlink_to(Path("..") / ".." / folder)
    real = sorted(p for p in (root / "models").glob("*.yaml") if p.name != "config.yaml")
    for n in range(1, models - len(real) + 1):
        (root / "models" / f"synthetic-{n:03d}.yaml").write_text(SYNTHETIC_MODEL.format(n=n))
    real_jobs = sorted(p for p in (root / "jobs").glob("*.yaml") if p.name != "config.yaml")
    for n in range(1, (jobs or 0) - len(real_jobs) + 1):
        (root / "jobs" / f"synthetic-{n:03d}.yaml").write_text(SYNTHETIC_JOB.format(n=n))
    return root


def render_once(root: Path, out: Path) -> list[Path]:
    """Exactly what `wm render` does for one environment, for `root` instead of the repository."""
    from wm.cli import render_env
    from wm.config import resolve

    return render_env(resolve.load(root, ENV, graph=False), out)


def render_command(out: Path, pycache: Path) -> tuple[list[str], dict]:
    """`wm render dev prod` as `make render` runs it, with Python's bytecode cache as a person's
    machine keeps it: CPython writes it on the first run unless PYTHONDONTWRITEBYTECODE is set
    (some sandboxes and CI images set it; then every run compiles the project's modules again).
    The cache goes to `pycache` (PYTHONPYCACHEPREFIX), not into the repository."""
    return [str(BIN / "wm"), "render", "dev", "prod", "--out", str(out)], bytecode_cached(pycache)


def bytecode_cached(pycache: Path) -> dict:
    """This process's environment, with Python's bytecode cache kept in `pycache` (render_command)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


PROJECT_PACKAGES = ("wm", "generators")


def render_imports(out: Path, pycache: Path) -> list[str]:
    """Every module render_command's process imports, in the order it first imported them, but
    the project's own (wm, generators): the libraries (pydantic, troposphere, awacs, PyYAML) and
    the standard library. Modules without an import spec (made by extension modules, or typing's
    typing.io) are left out: importing their parent made them."""
    cmd, env = render_command(out, pycache)
    listing = out.parent / "render-modules.txt"
    probe = ("import sys\n"
             "from wm.__main__ import main\n"
             "listing, sys.argv = sys.argv[1], sys.argv[2:]\n"
             "failed = main()\n"
             "open(listing, 'w').write('\\n'.join(n for n, m in sys.modules.items()\n"
             "                                     if getattr(m, '__spec__', None) is not None))\n"
             "sys.exit(failed)\n")
    proc = subprocess.run([str(BIN / "python"), "-c", probe, str(listing), *cmd], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise StepFailed("listing the modules wm render dev prod imports failed:\n" + tail(proc.stdout + proc.stderr))
    return [n for n in listing.read_text().split("\n") if n.split(".")[0] not in PROJECT_PACKAGES]


def import_floor_command(names: list[str], pycache: Path) -> tuple[list[str], dict]:
    """A new process that only imports `names` (render_imports), in their order, with the
    collector settings of the `wm` command (wm/__main__.py: its thresholds, and its objects frozen
    before shutdown) and render_command's bytecode cache: Python's start and the libraries'
    imports, the part of `make render` that no change to this repository's code makes faster
    while it uses those libraries."""
    from wm.__main__ import GC_THRESHOLDS

    code = f"import gc, importlib\ngc.set_threshold(*{GC_THRESHOLDS!r})\nfor name in {names!r}:\n" \
           "    importlib.import_module(name)\ngc.freeze()\n"
    return [str(BIN / "python"), "-c", code], bytecode_cached(pycache)


def bench_render(root: Path, out: Path, models: int) -> tuple[float, list[float], list[Path]]:
    from wm.cli import Failure

    times, files = [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        try:
            files = render_once(root, out)
        except Failure as err:
            raise StepFailed(f"render of {models} models: {err}") from None
        times.append(time.perf_counter() - start)
    stacks = len(files)
    shared = len([p for p in (root / "config" / ENV).glob("*.yaml") if p.name != "config.yaml"])
    jobs = len([p for p in (root / "config" / ENV / "jobs").glob("*.yaml") if p.name != "config.yaml"])
    if stacks != models + jobs + shared:
        raise StepFailed(f"render of {models} models and {jobs} jobs wrote {stacks} templates, expected "
                         f"{models + jobs + shared}")
    return min(times), times, files


CDK_DIR = REPO / "bench" / "cdk"
CDK_TARGET = 10  # make render at least this many times faster than CDK synth


ROUNDS = 10  # make render, its imports alone and CDK synth, taken in turn


Timing = tuple[float, list[float]]  # the best, and every run


def bench_render_vs_cdk(tmp: Path) -> tuple[Timing, Timing, Timing | str]:
    """`wm render dev prod` (render_command), its imports alone (import_floor_command) and CDK's
    synth of the equivalent app, each in a new process, taken in turn ROUNDS times after one
    untimed run of each (which writes the bytecode cache and warms the file cache), so that all
    see the machine in the same state; the best of each, and for CDK why it was skipped if it was."""
    import json

    from generators import build
    from wm.config import resolve

    render_cmd, render_vars = render_command(tmp / "make-render", tmp / "pycache")
    floor_cmd, floor_vars = import_floor_command(render_imports(tmp / "make-render", tmp / "pycache"),
                                                 tmp / "pycache")
    cdk_cmd: list[str] | None = None
    skipped = ""
    if not shutil.which("node") or not shutil.which("npm"):
        skipped = "skipped: Node.js (node and npm) is not installed"
    elif not (CDK_DIR / "node_modules" / "aws-cdk-lib").is_dir():
        print("  installing the pinned aws-cdk-lib (npm ci in bench/cdk) ...", flush=True)
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CDK_DIR,
                              capture_output=True, text=True)
        if proc.returncode:
            skipped = "skipped: npm ci in bench/cdk failed: " + (proc.stderr or proc.stdout).strip()[-300:]
    definition: dict = {}
    if not skipped:
        definition = {s.name: build(s).to_dict() for env in ("dev", "prod")
                      for s in resolve.load(REPO, env, graph=False).stacks.values()}
        (tmp / "cdk.json").write_text(json.dumps(definition))
        cdk_cmd = ["node", str(CDK_DIR / "app.js"), str(tmp / "cdk.json"), str(tmp / "cdk.out")]

    def timed(cmd: list[str], env: dict | None, what: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode:
            raise StepFailed(f"{what} failed:\n" + tail(proc.stdout + proc.stderr))
        return elapsed

    renders, floors, synths = [], [], []
    timed(render_cmd, render_vars, "wm render dev prod")
    timed(floor_cmd, floor_vars, "importing what wm render imports")
    if cdk_cmd:
        timed(cdk_cmd, None, "CDK synth of the equivalent app")
    for _ in range(ROUNDS):
        renders.append(timed(render_cmd, render_vars, "wm render dev prod"))
        floors.append(timed(floor_cmd, floor_vars, "importing what wm render imports"))
        if cdk_cmd:
            synths.append(timed(cdk_cmd, None, "CDK synth of the equivalent app"))
    if cdk_cmd:
        synthesized = len(list((tmp / "cdk.out").glob("*.template.json")))
        if synthesized != len(definition):
            raise StepFailed(f"CDK synthesized {synthesized} templates, expected {len(definition)}")
    return (min(renders), renders), (min(floors), floors), ((min(synths), synths) if cdk_cmd else skipped)


# --- 2. cfn-lint -------------------------------------------------------------------------------

def bench_cfn_lint(folder: Path, models: int, cached: bool = False) -> float:
    """`wm cfn-lint <folder>` in a fresh process: what `make lint` runs, start-up included; cold (every
    template linted) unless `cached` (what a second make lint with nothing changed costs)."""
    cmd = [str(BIN / "wm"), "cfn-lint", str(folder), *([] if cached else ["--no-cache"])]
    start = time.perf_counter()
    # Run in the synthetic copy (folder's sibling root-<n>), so its cache is the copy's, not the repository's.
    proc = subprocess.run(cmd, cwd=folder.parent / f"root-{models}", capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise StepFailed(f"cfn-lint over the templates of {models} models exited "
                         f"{proc.returncode} after {elapsed:.1f} s; its last 30 lines:\n"
                         + tail(proc.stdout + proc.stderr))
    return elapsed


# --- 3. emulator deploy ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_emulator(proc: subprocess.Popen, endpoint: str, log: Path, timeout: float = 60) -> float:
    start = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise StepFailed(f"the emulator exited with {proc.returncode} before answering; its log:\n"
                             + tail(log.read_text()))
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return time.perf_counter() - start
        except OSError:
            if time.perf_counter() - start > timeout:
                raise StepFailed(f"the emulator at {endpoint} did not answer within {timeout:.0f} s; its log:\n"
                                 + tail(log.read_text())) from None
            time.sleep(0.1)


def sceptre_launch(env: dict, what: str) -> float:
    cmd = [str(BIN / "sceptre"), "--no-colour", "launch", "-y", ENV]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise StepFailed(f"{what}: `sceptre {' '.join(cmd[1:])}` exited {proc.returncode} after {elapsed:.1f} s; "
                         "its last 30 lines:\n" + tail(proc.stdout + proc.stderr))
    return elapsed


def deployed_stacks(endpoint: str) -> dict[str, str]:
    """Stack name -> status of this environment's stacks on the emulator."""
    import boto3

    cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    out = {}
    for page in cfn.get_paginator("describe_stacks").paginate():
        for s in page["Stacks"]:
            if s["StackName"].startswith(f"weekly-models-{ENV}-"):
                out[s["StackName"]] = s["StackStatus"]
    return out


def bench_emulator(tmp: Path, expected: int) -> dict:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp / "emulator.log"
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    with open(log, "w") as log_file:
        proc = subprocess.Popen([str(EMU_PYTHON), "emulator/server.py", "--port", str(port)],
                                cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        print(f"  emulator pid {proc.pid} on {endpoint}", flush=True)
        startup = wait_for_emulator(proc, endpoint, log)
        first = sceptre_launch(env, "deploy from nothing")
        stacks = deployed_stacks(endpoint)
        bad = {n: s for n, s in stacks.items() if not s.endswith("_COMPLETE") or "ROLLBACK" in s}
        if len(stacks) != expected or bad:
            raise StepFailed(f"after the deploy the emulator holds {len(stacks)} {ENV} stacks (expected "
                             f"{expected}); not complete: {bad or 'none'}")
        again = sceptre_launch(env, "no-op redeploy")
        return {"startup": startup, "first": first, "again": again, "stacks": len(stacks)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dependency_levels() -> int:
    """Depth of the dev stacks' dependency chain: the batches of Sceptre's launch order."""
    from wm.config import resolve

    return len(resolve.load(REPO, ENV).batches)


# --- main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="skip cfn-lint for 200 models and the emulator deploys")
    args = parser.parse_args()
    wall = time.perf_counter()
    rows: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wm-bench-") as tmp_name:
            tmp = Path(tmp_name)
            rendered: dict[int, list[Path]] = {}
            for models in SIZES:
                root = make_root(tmp, models)
                best, times, files = bench_render(root, tmp / f"build-{models}", models)
                rendered[models] = files
                runs = ", ".join(f"{t:.3f}" for t in times)
                print(f"render {ENV}, {models} models ({len(files)} stacks): best {best:.3f} s of [{runs}]",
                      flush=True)
                target = f"  (target < {TARGETS[models]:g} s{'' if best < TARGETS[models] else ', MISSED'})" \
                    if models in TARGETS else ""
                rows.append((f"render {ENV}, {models} models:", f"{best:6.2f} s{target}"))
            root = make_root(tmp, SIZES[0], jobs=JOBS)
            best, times, files = bench_render(root, tmp / f"build-jobs-{JOBS}", SIZES[0])
            runs = ", ".join(f"{t:.3f}" for t in times)
            print(f"render {ENV}, {SIZES[0]} models and {JOBS} jobs ({len(files)} stacks): best {best:.3f} s of "
                  f"[{runs}]", flush=True)
            rows.append((f"render {ENV}, {SIZES[0]} models and {JOBS} jobs:", f"{best:6.2f} s"))
            (best, times), (floor, floors), cdk = bench_render_vs_cdk(tmp)
            runs = ", ".join(f"{t:.3f}" for t in times)
            print(f"wm render dev prod (a new process, bytecode cached): best {best:.3f} s of [{runs}]", flush=True)
            rows.append(("make render, dev and prod (one process):", f"{best:6.2f} s"))
            runs = ", ".join(f"{t:.3f}" for t in floors)
            print(f"its imports alone (a new process importing what it imports, in turn with it): best {floor:.3f} s "
                  f"of [{runs}]", flush=True)
            rows.append(("  of which starting Python and importing:", f"{floor:6.2f} s  ({floor / best:.0%}; "
                         "pydantic, troposphere, awacs, PyYAML)"))
            if isinstance(cdk, str):
                rows.append(("CDK synth of the equivalent app:", f"  {cdk}"))
            else:
                runs = ", ".join(f"{t:.3f}" for t in cdk[1])
                print(f"CDK synth of the equivalent app (a new process, in turn with it): best {cdk[0]:.3f} s of "
                      f"[{runs}]", flush=True)
                ratio = cdk[0] / best
                met = ratio >= CDK_TARGET
                shown = math.floor(ratio * 10) / 10  # 9.97 shows as 9.9, not as a missed 10.0
                rows.append(("CDK synth of the equivalent app:", f"{cdk[0]:6.2f} s  (make render {shown:.1f} times "
                             f"faster; target >= {CDK_TARGET}{'' if met else ', MISSED'})"))
                if not met:
                    budget = cdk[0] / CDK_TARGET
                    notes.append(f"note: {CDK_TARGET} times faster than CDK synth means make render within "
                                 f"{budget:.2f} s. Starting Python and importing the libraries it uses take "
                                 f"{floor:.2f} s of that, which leaves {budget - floor:.2f} s for reading, checking, "
                                 f"building and writing the templates; they took {best - floor:.2f} s.")
            for models in SIZES:
                if args.quick and models == 200:
                    rows.append((f"cfn-lint, {models} models:", "  skipped (--quick)"))
                    continue
                print(f"cfn-lint over {len(rendered[models])} templates ({models} models) ...", flush=True)
                times = [bench_cfn_lint(tmp / f"build-{models}", models) for _ in range(REPEATS)]
                elapsed = min(times)
                print(f"  best {elapsed:.2f} s of [{', '.join(f'{t:.2f}' for t in times)}]", flush=True)
                target = "  (target <= 10 s" + ("" if elapsed <= 10 else ", MISSED") + ")" if models == 200 else ""
                rows.append((f"cfn-lint, {models} models:", f"{elapsed:6.2f} s{target}"))
            if not args.quick:
                bench_cfn_lint(tmp / "build-200", 200, cached=True)  # fills the cache
                warm = bench_cfn_lint(tmp / "build-200", 200, cached=True)
                rows.append(("cfn-lint, 200 models, again (nothing changed):", f"{warm:6.2f} s"))
            if args.quick:
                rows.append(("emulator deploys:", "  skipped (--quick)"))
            else:
                expected = len(rendered[5])
                print(f"emulator: sceptre launch -y {ENV} ({expected} stacks), from nothing then again ...",
                      flush=True)
                r = bench_emulator(tmp, expected)
                print(f"  emulator answered after {r['startup']:.2f} s; deploy {r['first']:.2f} s; "
                      f"no-op redeploy {r['again']:.2f} s", flush=True)
                rows.append((f"emulator deploy from nothing ({r['stacks']} stacks):", f"{r['first']:6.2f} s"))
                rows.append(("emulator no-op redeploy:", f"{r['again']:6.2f} s"))
                levels = dependency_levels()
                notes.append(f"note: Sceptre polls stack status every {SCEPTRE_POLL_SECONDS} s, so each level of "
                             f"the dependency chain ({levels} levels here) costs "
                             f"~{SCEPTRE_POLL_SECONDS} s even on an instant backend "
                             f"(~{levels * SCEPTRE_POLL_SECONDS} s for a launch that changes every level).")
    except StepFailed as err:
        print(f"\nbench FAILED: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    total = time.perf_counter() - wall
    width = max(len(label) for label, _ in rows) + 1
    print(f"\nweekly-models benchmark (Python {platform.python_version()}, {os.cpu_count()} cores)")
    for label, value in rows:
        print(f"{label:<{width}} {value}")
    for note in notes:
        print(note)
    print(f"whole benchmark: {total:.1f} s{' (--quick)' if args.quick else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
