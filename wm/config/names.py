"""Every AWS name this project builds, in one place.

Names built from a model's name go through `slug`, the one sanitising function
(model file names are already in its form: lower-case letters, digits, '-'). All names
of an environment start with `weekly-models-<env>-` so that IAM policies can be scoped
to exactly this environment's resources, and so that nothing here collides with
the hand-built setup (families like `flu-ar2-model`) while both exist.
"""

from __future__ import annotations

import re

PROJECT = "weekly-models"

# AWS length limits of the names we build (service quotas pages / API references).
LIMITS = {
    "schedule name": 64,
    "task definition family": 255,
    "container name": 255,
    "log group name": 512,
    "dead-letter queue name": 80,
    "task role name": 64,
    "cluster name": 255,
    "failure rule name": 64,
    "silence check schedule name": 64,
    "job definition name": 128,
    "job role name": 64,
    "scheduler role name": 64,
}


def slug(name: str) -> str:
    """Lower-case, runs of anything but [a-z0-9] become one '-', no leading/trailing '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def env_prefix(env: str) -> str:
    return f"{PROJECT}-{env}"


def cluster_name(env: str) -> str:
    return env_prefix(env)


def stack_name(stack_path: str) -> str:
    """The CloudFormation stack Sceptre makes for a stack path (project_code + path), e.g.
    dev/models/flu-ar2 -> weekly-models-dev-models-flu-ar2."""
    return f"{PROJECT}-{stack_path.replace('/', '-')}"


def schedule_group(env: str) -> str:
    """The environment's own schedule group: Scheduler's metrics and the trust policy name it."""
    return env_prefix(env)


def alert_topic(env: str) -> str:
    return f"{env_prefix(env)}-alerts"


def run_history_log_group(env: str) -> str:
    return f"/{PROJECT}/{env}/runs"


def run_history_rule(env: str) -> str:
    return f"{env_prefix(env)}-runs"


def alert_machine(env: str) -> str:
    """The state machine that words failure alerts as Chatbot custom notifications."""
    return f"{env_prefix(env)}-alert"


def silence_check_machine(env: str) -> str:
    """The state machine that checks a due run was recorded."""
    return f"{env_prefix(env)}-silence-check"


def run_metric_namespace(env: str) -> str:
    """CloudWatch namespace of the run-history metric (task state changes per task family)."""
    return f"{PROJECT}/{env}"


def alert_rules_role_name(env: str) -> str:
    return f"{env_prefix(env)}-alert-rules"


def execution_role_name(env: str) -> str:
    return f"{env_prefix(env)}-task-execution"


def scheduler_role_name(env: str) -> str:
    return f"{env_prefix(env)}-scheduler"


def task_role_path(env: str) -> str:
    """IAM path of per-model task roles: lets the scheduler's PassRole name them all."""
    return f"/{PROJECT}/{env}/tasks/"


def secrets_prefix(env: str) -> str:
    return f"/{PROJECT}/{env}"


def secret_parameter(env: str, secret: str) -> str:
    return f"{secrets_prefix(env)}/{secret}"


def family(env: str, model: str) -> str:
    """Task definition family: the hand-built `<model>-model`, prefixed by the environment."""
    return f"{env_prefix(env)}-{slug(model)}-model"


def container_name(env: str, model: str) -> str:
    return f"{family(env, model)}-container"


def log_group(env: str, model: str) -> str:
    return f"/ecs/{family(env, model)}"


def schedule_name(env: str, model: str) -> str:
    return family(env, model)


def silence_check_schedule(env: str, model: str) -> str:
    return f"{family(env, model)}-silence-check"


def dead_letter_queue(env: str, model: str) -> str:
    return f"{family(env, model)}-dlq"


def task_role_name(env: str, model: str) -> str:
    return f"{family(env, model)}-task"


def failure_rule(env: str, model: str) -> str:
    return f"{family(env, model)}-failed"


def failed_starts_alarm(env: str, model: str) -> str:
    return f"{family(env, model)}-failed-starts"


# --- jobs (AWS Batch) -------------------------------------------------------------------------

def job_definition(env: str, job: str) -> str:
    return f"{env_prefix(env)}-{slug(job)}-job"


def job_queue(env: str, capacity: str, platform: str = "FARGATE") -> str:
    """SPOT: the platform's Spot capacity first, its on-demand capacity behind it; ON_DEMAND: on-demand
    only. FARGATE queues keep their first names; EC2 queues are weekly-models-<env>-ec2-<capacity>."""
    kind = "spot" if capacity == "SPOT" else "on-demand"
    return f"{env_prefix(env)}-{kind}" if platform == "FARGATE" else f"{env_prefix(env)}-ec2-{kind}"


def compute_environment(env: str, kind: str) -> str:
    return f"{env_prefix(env)}-{kind}"


def job_log_group(env: str) -> str:
    return f"/{PROJECT}/{env}/jobs"


def job_secret_parameter(env: str, secret: str) -> str:
    """A job's secret: apart from the models' (a job's public image never gets their tokens)."""
    return f"{secrets_prefix(env)}/jobs/{secret}"


def job_role_path(env: str) -> str:
    """IAM path of per-job roles: apart from the models' task roles, which the scheduler may pass."""
    return f"/{PROJECT}/{env}/jobs/"


def results_bucket(env: str, account: str) -> str:
    """The environment's results bucket (S3 names are global: the account makes it unique)."""
    return f"{env_prefix(env)}-results-{account}"


def job_role_name(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-role"


def batch_instance_role_name(env: str) -> str:
    """The EC2 instances' role, and its instance profile of the same name."""
    return f"{env_prefix(env)}-batch-instance"


def batch_launch_template(env: str) -> str:
    return f"{env_prefix(env)}-batch-ec2"


def batch_execution_role_name(env: str) -> str:
    return f"{env_prefix(env)}-job-execution"


def job_failure_rule(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-failed"


def job_history_rule(env: str) -> str:
    return f"{env_prefix(env)}-job-history"


def job_schedule(env: str, job: str) -> str:
    """A scheduled job's schedule, in the environment's schedule group beside the models'."""
    return job_definition(env, job)


def job_silence_check_schedule(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-silence-check"


def job_dead_letter_queue(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-dlq"


def job_failed_starts_alarm(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-failed-starts"


def job_scheduler_role_name(env: str, job: str) -> str:
    return f"{job_definition(env, job)}-scheduler"


def scheduled_submission(job: str) -> str:
    """The Batch job name of a scheduled submission (make submit's are `<job>-<timestamp>`): the
    run history counts submissions whose name starts with `scheduled-`, the silence check by this name."""
    return f"{SCHEDULED_PREFIX}{job}"


SCHEDULED_PREFIX = "scheduled-"


def job_names(env: str, job: str, scheduled: bool = True) -> dict[str, str]:
    """The length-limited names of one job, keyed as in LIMITS; its schedule's only when it has one."""
    out = {"job definition name": job_definition(env, job), "job role name": job_role_name(env, job),
           "failure rule name": job_failure_rule(env, job)}
    if scheduled:
        out |= {"schedule name": job_schedule(env, job),
                "silence check schedule name": job_silence_check_schedule(env, job),
                "dead-letter queue name": job_dead_letter_queue(env, job),
                "scheduler role name": job_scheduler_role_name(env, job)}
    return out


def model_names(env: str, model: str) -> dict[str, str]:
    """The length-limited names of one model, keyed as in LIMITS."""
    return {
        "schedule name": schedule_name(env, model),
        "task definition family": family(env, model),
        "container name": container_name(env, model),
        "log group name": log_group(env, model),
        "dead-letter queue name": dead_letter_queue(env, model),
        "task role name": task_role_name(env, model),
        "failure rule name": failure_rule(env, model),
        "silence check schedule name": silence_check_schedule(env, model),
    }
