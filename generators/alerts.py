"""alerts: who hears of a failed run, and the permanent record of every run.

Creates
- AlertTopic `weekly-models-<env>-alerts` (SNS), with one email subscription per
  address in `environment.alerts.emails`, and a topic policy that lets only
  EventBridge rules and CloudWatch alarms of this environment, in this account, publish.
  The per-model failure rules and failed-start alarms (model stacks) and the two
  Scheduler alarms here notify it.
- SchedulerTargetErrorsAlarm / SchedulerDeadLetterFailuresAlarm: EventBridge
  Scheduler's AWS/Scheduler metrics for this environment's schedule group (a target a
  schedule could not start; a failed start that could not even reach its dead-letter
  queue). AlertMachineFailedAlarm / SilenceCheckMachineFailedAlarm: an execution of
  either state machine failed.
- RunHistoryLogGroup `/weekly-models/<env>/runs` and RunHistoryRule: every ECS Task
  State Change of this environment's cluster, kept `alerts.run_history_retention_days`
  (ECS forgets stopped tasks within hours); `make status` reads it. RunHistoryLogPolicy
  lets that rule write there. RunHistoryMetric counts those state changes per task
  family (CloudWatch metric `weekly-models/<env>` TaskStateChanges, dimension Group).
- AlertMachine `weekly-models-<env>-alert` (Step Functions): each model's failure rule
  hands it the stopped task's event; it words the alert (never started, exit code,
  Spot interruption) as an AWS Chatbot custom notification, JSON-escaped by
  States.JsonToString, and publishes it on the topic.
- SilenceCheckMachine `weekly-models-<env>-silence-check`: each model's silence check
  schedule starts it when the model is due; it waits for the flexible window and an
  hour, then, when the run-history metric shows no task of the model since the due
  time, reads the model's schedule (disabled or deleted by hand?) and alerts in words.
- With `environment.alerts.slack` set: AWS Chatbot delivers the topic to a Slack
  channel, through a role that may do nothing and a guardrail that allows only
  reading this environment's alarms.

Takes: ClusterArn and ScheduleGroupName (cluster stack).
Outputs: AlertTopicArn, RunHistoryLogGroupName, AlertMachineArn, SilenceCheckArn.
"""

from __future__ import annotations

import hashlib
import json

from awacs import cloudwatch as acw
from awacs import logs as alogs
from awacs import scheduler as ascheduler
from awacs import sns as asns
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import (
    AccountId,
    GetAtt,
    Output,
    Parameter,
    Ref,
    Sub,
    chatbot,
    events,
    iam,
    logs,
    sns,
    stepfunctions,
)

from generators.iam import assume_role
from wm.config import names as naming
from wm.config.model import Stack
from wm.render import alarm_on_any, arn, checkov_skip, env_tags, new_template, stateful, why

RUN_METRIC = "TaskStateChanges"


def _machine(t, env, logical, name, definition: dict, statements, topic, what):
    """A standard Step Functions state machine with its own least-privilege role."""
    role = t.add_resource(iam.Role(
        f"{logical}Role", RoleName=name,
        # Step Functions documents both source keys for its roles (developer guide, "Creating an
        # IAM role for your state machine": prevent cross-service confused deputy).
        AssumeRolePolicyDocument=assume_role("states.amazonaws.com", arn("states", f"stateMachine:{name}")),
        Policies=[iam.Policy(PolicyName="alert", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=statements))],
        Tags=env_tags(env), Metadata=why(f"What {name} may do, and nothing else.")))
    return t.add_resource(stepfunctions.StateMachine(
        logical, StateMachineName=name, StateMachineType="STANDARD", RoleArn=GetAtt(role, "Arn"),
        # Values go in through DefinitionSubstitutions, Step Functions' own ${...} (the `$$.` context
        # paths of the definition must reach Step Functions as written).
        DefinitionString=json.dumps(definition, indent=1, sort_keys=True),
        DefinitionSubstitutions={"AlertTopic": topic},
        Tags=env_tags(env),
        Metadata=why(what) | checkov_skip(
            ("CKV_AWS_284", "A few executions a week; Step Functions keeps each one's history, every step's "
             "input and output, for 90 days, which is where a failed alert is investigated."),
            ("CKV_AWS_285", "As above: execution history instead of X-Ray traces, which would add a role "
             "with unscoped xray:Put* permissions."))))


def _format(template: str, *paths: str) -> str:
    """A States.Format call; `template` must not contain quotes or braces other than {}."""
    return f"States.Format('{template}', {', '.join(paths)})"


def _publish(next_state: str | None = None) -> dict:
    # Step Functions' integration ARNs name the aws partition: the project deploys to us-east-1 only.
    state = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
             "Parameters": {"TopicArn": "${AlertTopic}", "Message.$": "States.JsonToString($.message)"},
             "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 4,
                        "BackoffRate": 2}]}
    return state | ({"Next": next_state} if next_state else {"End": True})


def _notification(description: str) -> dict:
    """An AWS Chatbot custom notification: version and source fixed, content.description required
    (Chatbot administrator guide, "Custom notifications"); anything else Chatbot drops."""
    return {"Type": "Pass", "ResultPath": "$.message", "Next": "Publish", "Parameters": {
        "version": "1.0", "source": "custom",
        "content": {"textType": "client-markdown", "title.$": "$.title", "description.$": description,
                    "nextSteps.$": "States.Array($.next)",
                    "keywords.$": "States.Array($.environment, $.model)"},
        "metadata": {"summary.$": "$.title", "eventType": "weekly-models alert",
                     "additionalContext": {"model.$": "$.model", "environment.$": "$.environment"}}}}


def _says(text: str, *paths: str, then: str = "Notify") -> dict:
    """A Pass state that puts one sentence at $.why.text."""
    return {"Type": "Pass", "ResultPath": "$.why", "Next": then,
            "Parameters": {"text.$": _format(text, *paths)} if paths else {"text": text}}


def alert_definition() -> dict:
    """A failed run's event (with the model's fixed facts, see model.alert_input) -> one alert."""
    detail = "$.task.detail"
    return {
        "Comment": "weekly-models: word a failed run as an AWS Chatbot custom notification and publish it",
        "StartAt": "Defaults",
        "States": {
            # Missing fields become words instead of failing the execution (a path that is not
            # there is an error in Step Functions).
            "Defaults": {"Type": "Pass", "ResultPath": "$.defaults", "Next": "Normalize",
                         "Parameters": {"stopCode": "(no stop code)", "stoppedReason": "no reason given",
                                        "taskArn": "(no task ARN)", "statusReason": "no reason given",
                                        "jobId": "(no job ID)"}},
            "Normalize": {"Type": "Pass", "ResultPath": "$.task", "Next": "WhatHappened",
                          "Parameters": {"detail.$": "States.JsonMerge($.defaults, $.event.detail, false)"}},
            "WhatHappened": {"Type": "Choice", "Default": "Stopped", "Choices": [
                # A fan-out job's failure (job stacks): a single job out of retries, or an array job
                # with a failed child.
                {"Variable": "$.event.source", "StringEquals": "aws.batch", "Next": "JobFailed"},
                {"Variable": f"{detail}.stopCode", "StringEquals": "TaskFailedToStart", "Next": "NeverStarted"},
                {"Variable": f"{detail}.stopCode", "StringEquals": "SpotInterruption", "Next": "Interrupted"},
                {"Variable": f"{detail}.containers[0].exitCode", "IsPresent": True, "Next": "Exited"}]},
            "NeverStarted": _says("It never started: {}", f"{detail}.stoppedReason"),
            "Interrupted": _says("Fargate Spot took its capacity back while it ran: {}",
                                 f"{detail}.stoppedReason"),
            # The container first: a path through an array index may come back as a list.
            "Exited": {"Type": "Pass", "ResultPath": "$.container", "Next": "ExitCode",
                       "Parameters": {"first.$": f"{detail}.containers[0]"}},
            "ExitCode": _says("Its container exited with code {}.", "$.container.first.exitCode"),
            "Stopped": _says("It stopped without finishing ({}): {}", f"{detail}.stopCode",
                             f"{detail}.stoppedReason"),
            "JobFailed": _says("Submission {} failed: {}.", f"{detail}.jobId", f"{detail}.statusReason",
                               then="NotifyJob"),
            "NotifyJob": _notification(_format("{} Its logs: {} (one stream per child).", "$.why.text", "$.logs")),
            "Notify": _notification(_format("{} Task: {}. Its log: {} (stream {} and the task ID).",
                                            "$.why.text", f"{detail}.taskArn", "$.logs",
                                            "$.logStreamPrefix")),
            "Publish": _publish(),
        }}


def silence_definition(env: str) -> dict:
    """A model that was due (see model.silence_input) -> nothing, or one alert saying why it may not have run."""
    return {
        "Comment": "weekly-models: alert when a model was due and no run of it was recorded",
        "StartAt": "WaitForTheRun",
        "States": {
            "WaitForTheRun": {"Type": "Wait", "SecondsPath": "$.waitSeconds", "Next": "CountRuns"},
            "CountRuns": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:cloudwatch:getMetricStatistics",
                "Parameters": {"Namespace": naming.run_metric_namespace(env), "MetricName": RUN_METRIC,
                               "Dimensions": [{"Name": "Group", "Value.$": "$.group"}],
                               "StartTime.$": "$.expectedAt", "EndTime.$": "$$.State.EnteredTime",
                               "Period": 300, "Statistics": ["Sum"]},
                "ResultPath": "$.runs",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 60, "MaxAttempts": 3, "BackoffRate": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CouldNotCount"}],
                "Next": "DidItRun"},
            # IsPresent: an SDK answer may leave an empty list out, and a missing path is an error
            # that no Catch can take.
            "DidItRun": {"Type": "Choice", "Default": "ReadSchedule", "Choices": [
                {"Variable": "$.runs.Datapoints[0]", "IsPresent": True, "Next": "ItRan"}]},
            "ItRan": {"Type": "Succeed"},
            "ReadSchedule": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:scheduler:getSchedule",
                "Parameters": {"Name.$": "$.schedule", "GroupName.$": "$.scheduleGroup"},
                "ResultSelector": {"state.$": "$.State"}, "ResultPath": "$.deployed",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ScheduleUnreadable"}],
                "Next": "WhySilent"},
            "WhySilent": {"Type": "Choice", "Default": "ScheduleEnabled", "Choices": [
                {"And": [{"Variable": "$.deployed.state", "StringEquals": "DISABLED"},
                         {"Variable": "$.configuredState", "StringEquals": "ENABLED"}], "Next": "ScheduleDisabled"},
                {"Variable": "$.deployed.state", "StringEquals": "DISABLED", "Next": "DisabledAsConfigured"}]},
            "ScheduleDisabled": _says("Its schedule {} is DISABLED although the configuration enables it: was it "
                                      "disabled by hand? A deploy puts it back.", "$.schedule", then="Notify"),
            # Only when the check is started by hand: a disabled schedule's check never fires.
            "DisabledAsConfigured": _says("Its schedule {} is DISABLED, as the configuration says, so nothing "
                                          "starts it on schedule.", "$.schedule", then="Notify"),
            "ScheduleEnabled": _says("Its schedule {} is ENABLED, so either EventBridge Scheduler could not start "
                                     "it (see the failed-starts alarm and the dead-letter queue of the model or job) or "
                                     "the run history receives no task events.", "$.schedule", then="Notify"),
            "ScheduleUnreadable": _says("Its schedule {} could not be read ({}): was it deleted by hand? A deploy "
                                        "puts it back.", "$.schedule", "$.error.Error", then="Notify"),
            "CouldNotCount": _says("The check could not read the run metric ({}), so whether it ran is unknown.",
                                   "$.error.Error", then="Notify"),
            "Notify": _notification(_format("{} was due at {} (UTC) and no start or stop of it was recorded by {}. {}",
                                            "$.model", "$.expectedAt", "$$.State.EnteredTime", "$.why.text")),
            "Publish": _publish(),
        }}


def task_state_pattern(cluster_arn) -> dict:
    """Every ECS task state change of one cluster."""
    return {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"clusterArn": [cluster_arn]}}


def job_state_pattern(env: str) -> dict:
    """Every state change of a submission to this environment's job queues ("Batch Job State Change",
    AWS Batch user guide, "Job state change events"); children, which carry arrayProperties.index,
    are left out so a submission of ten thousand is a handful of events, not sixty thousand."""
    return {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
            "detail": {"jobQueue": [{"wildcard": f"*:job-queue/{naming.job_queue(env, c, p)}"}
                                    for p in ("FARGATE", "EC2") for c in ("SPOT", "ON_DEMAND")],
                       "arrayProperties": {"index": [{"exists": False}]}}}


def _email_id(address: str) -> str:
    # Stable per address: adding or removing one never replaces the others.
    return "EmailSubscription" + hashlib.sha256(address.lower().encode()).hexdigest()[:8]


def build(stack: Stack):
    env, settings = stack.env.name, stack.env.settings
    alerts = settings.alerts
    t = new_template(f"weekly-models {env}: alert topic, Scheduler alarms and run history")
    p_cluster = t.add_parameter(Parameter("ClusterArn", Type="String", Description="ECS cluster (cluster stack)"))
    p_group = t.add_parameter(Parameter(
        "ScheduleGroupName", Type="String", Description="Scheduler schedule group (cluster stack)"))

    topic = t.add_resource(sns.Topic(
        "AlertTopic", TopicName=naming.alert_topic(env), DisplayName=f"weekly-models {env}", Tags=env_tags(env),
        Metadata=why("Where every alert of this environment goes: failed runs, failed starts, Scheduler errors.")
        | checkov_skip(("CKV_AWS_26", "EventBridge and CloudWatch alarms cannot publish to a topic encrypted "
                        "with the AWS managed SNS key; alerts carry run metadata only, never secrets."))))
    # Only CloudWatch alarms publish to the topic by its policy; the two state machines publish
    # with their own roles (same account: an identity policy suffices).
    t.add_resource(sns.TopicPolicy(
        "AlertTopicPolicy", Topics=[Ref(topic)],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            Statement(Sid="AlarmsOfThisEnvironment", Effect=Allow,
                      Principal=Principal("Service", ["cloudwatch.amazonaws.com"]), Action=[asns.Publish],
                      Resource=[Ref(topic)],
                      Condition=Condition([StringEquals({"aws:SourceAccount": AccountId}),
                                           ArnLike({"aws:SourceArn": arn("cloudwatch",
                                                                         f"alarm:{naming.env_prefix(env)}-*")})])),
        ]),
        Metadata=why("Only this environment's alarms, in this account, may publish alerts by the topic's policy.")))
    for address in sorted(alerts.emails):
        t.add_resource(sns.SubscriptionResource(
            _email_id(address), TopicArn=Ref(topic), Protocol="email", Endpoint=address,
            Metadata=why(f"Sends alerts to {address} (confirmed once by email).")))

    for logical, metric, what in (
            ("SchedulerTargetErrorsAlarm", "TargetErrorCount",
             "a schedule could not start its target (a model's task, or its silence check)"),
            ("SchedulerDeadLetterFailuresAlarm", "InvocationsFailedToBeSentToDeadLetterCount",
             "a failed start could not be sent to its dead-letter queue")):
        t.add_resource(alarm_on_any(
            logical, name=f"{naming.env_prefix(env)}-scheduler-{metric}",
            description=f"weekly-models {env}: {what}; see the schedule's dead-letter queue and CloudTrail",
            namespace="AWS/Scheduler", metric=metric, dimension=("ScheduleGroup", Ref(p_group)), topic=topic,
            env=env, what=f"Tells the lab when {what}."))

    history = t.add_resource(logs.LogGroup(
        "RunHistoryLogGroup", LogGroupName=naming.run_history_log_group(env),
        RetentionInDays=alerts.run_history_retention_days, Tags=env_tags(env),
        Metadata=why("The lab's permanent record of runs: ECS forgets stopped tasks within hours.")
        | checkov_skip(("CKV_AWS_158", "Encrypted at rest by CloudWatch Logs' own keys; task state changes "
                        "hold no secrets (secret values are never in a task's description).")),
        **stateful(settings.deletion_policy)))
    rule_name, job_rule_name = naming.run_history_rule(env), naming.job_history_rule(env)
    history_arn = arn("logs", f"log-group:{naming.run_history_log_group(env)}")
    streams = (f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:"
               f"{naming.run_history_log_group(env)}:*")
    principal = Principal("Service", ["events.amazonaws.com", "delivery.logs.amazonaws.com"])
    t.add_resource(logs.ResourcePolicy(
        "RunHistoryLogPolicy", PolicyName=f"{naming.env_prefix(env)}-run-history",
        # EventBridge creates the log stream without the rule's ARN in the request context, so
        # aws:SourceArn may condition PutLogEvents only (AWS's own sample had to split it this
        # way: aws-samples/serverless-patterns#618; EventBridge user guide, CloudWatch Logs permissions).
        PolicyDocument=Sub(json.dumps(PolicyDocument(Version="2012-10-17", Statement=[
            Statement(Sid="EventBridgeCreatesStreams", Effect=Allow, Principal=principal,
                      Action=[alogs.CreateLogStream], Resource=[streams]),
            Statement(Sid="RunHistoryRuleWrites", Effect=Allow, Principal=principal,
                      Action=[alogs.PutLogEvents], Resource=[streams],
                      Condition=Condition(ArnLike({"aws:SourceArn": [
                          f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{r}"
                          for r in (rule_name, job_rule_name)]}))),
        ]).JSONrepr(), sort_keys=True, default=lambda o: o.JSONrepr())),
        Metadata=why("Lets EventBridge write the run-history rule's events to the run history.")))
    t.add_resource(events.Rule(
        "RunHistoryRule", Name=rule_name, State="ENABLED",
        Description=f"weekly-models {env}: every task state change of the cluster, to the run history",
        EventPattern=task_state_pattern(Ref(p_cluster)),
        Targets=[events.Target(Id="run-history", Arn=history_arn)],
        DependsOn=["RunHistoryLogPolicy"],
        Metadata=why("Copies every start and stop of a model task into the run history.")))
    t.add_resource(events.Rule(
        "JobHistoryRule", Name=job_rule_name, State="ENABLED",
        Description=f"weekly-models {env}: every state change of a submission to its job queues, to the run history",
        EventPattern=job_state_pattern(env), Targets=[events.Target(Id="run-history", Arn=history_arn)],
        DependsOn=["RunHistoryLogPolicy"],
        Metadata=why("Copies every state change of a fan-out job's submission (not of each child) into the run "
                     "history: Batch forgets finished jobs after a few days.")))

    t.add_resource(logs.MetricFilter(
        "RunHistoryMetric", LogGroupName=Ref(history), FilterPattern='{ $.source = "aws.ecs" }',
        MetricTransformations=[logs.MetricTransformation(
            MetricNamespace=naming.run_metric_namespace(env), MetricName=RUN_METRIC, MetricValue="1",
            Unit="Count", Dimensions=[logs.Dimension(Key="Group", Value="$.detail.group")])],
        Metadata=why("Counts each model's task state changes, so the silence check can ask whether a due run "
                     "started (a metric answers by time range; the log group only by epoch milliseconds).")))

    t.add_resource(logs.MetricFilter(
        "JobHistoryMetric", LogGroupName=Ref(history),
        # Scheduled submissions only, one metric per scheduled job (a trailing * is the documented
        # wildcard: CloudWatch Logs, "Using filter patterns to match terms in JSON log events"), and
        # only as they enter the queue: Batch sends no event for SUBMITTED (AWS Batch user guide, "Job
        # state change events"), and a later state of an older submission must not count as a new one.
        FilterPattern=(f'{{ $.source = "aws.batch" && $.detail.jobName = "{naming.SCHEDULED_PREFIX}*" && '
                       '($.detail.status = "PENDING" || $.detail.status = "RUNNABLE") }'),
        MetricTransformations=[logs.MetricTransformation(
            MetricNamespace=naming.run_metric_namespace(env), MetricName=RUN_METRIC, MetricValue="1",
            Unit="Count", Dimensions=[logs.Dimension(Key="Group", Value="$.detail.jobName")])],
        Metadata=why("Counts the state changes of each job's scheduled submissions (by job name), so the "
                     "silence check can ask whether a due submission was made.")))

    alert_machine = _machine(t, env, "AlertMachine", naming.alert_machine(env), alert_definition(),
                             [Statement(Sid="PublishAlerts", Effect=Allow, Action=[asns.Publish],
                                        Resource=[Ref(topic)])],
                             Ref(topic), "Words a failed run as a Chatbot custom notification and publishes it.")
    silence_machine = _machine(
        t, env, "SilenceCheckMachine", naming.silence_check_machine(env), silence_definition(env),
        [Statement(Sid="CountRuns", Effect=Allow, Action=[acw.GetMetricStatistics], Resource=["*"]),
         Statement(Sid="ReadModelSchedules", Effect=Allow, Action=[ascheduler.GetSchedule],
                   Resource=[arn("scheduler", f"schedule/{naming.schedule_group(env)}/{naming.env_prefix(env)}-*")]),
         Statement(Sid="PublishAlerts", Effect=Allow, Action=[asns.Publish], Resource=[Ref(topic)])],
        Ref(topic), "Alerts when a model was due and no run of it was recorded.")

    if alerts.slack:
        guardrail = t.add_resource(iam.ManagedPolicy(
            "ChatbotGuardrail", ManagedPolicyName=f"{naming.env_prefix(env)}-chatbot-guardrail",
            Description="The most Chatbot may ever do from Slack: read this environment's alarms",
            PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
                Effect=Allow, Action=[acw.DescribeAlarms],
                Resource=[arn("cloudwatch", f"alarm:{naming.env_prefix(env)}-*")])]),
            Metadata=why("Caps what anyone in the Slack channel can do through Chatbot.")))
        role = t.add_resource(iam.Role(
            "ChatbotRole", RoleName=f"{naming.env_prefix(env)}-chatbot",
            # Chatbot documents no source conditions for its channel role: the principal alone.
            AssumeRolePolicyDocument=assume_role("chatbot.amazonaws.com"),
            Tags=env_tags(env),
            Metadata=why("Chatbot's own role: no permissions, it only relays the topic to Slack.")))
        t.add_resource(chatbot.SlackChannelConfiguration(
            "SlackChannel", ConfigurationName=f"{naming.env_prefix(env)}-alerts",
            SlackWorkspaceId=alerts.slack.workspace_id, SlackChannelId=alerts.slack.channel_id,
            IamRoleArn=GetAtt(role, "Arn"), SnsTopicArns=[Ref(topic)], GuardrailPolicies=[Ref(guardrail)],
            LoggingLevel="ERROR",
            Metadata=why("Posts every alert of this environment to the lab's Slack channel.")))

    # Who watches the watchers: an alert or silence check that fails is itself an alert.
    for machine, what in ((alert_machine, "words failure alerts"), (silence_machine, "checks that due runs started")):
        t.add_resource(alarm_on_any(
            f"{machine.title}FailedAlarm", name=f"{machine.properties['StateMachineName']}-failed",
            description=f"weekly-models {env}: the state machine that {what} failed; its execution history "
                        "in the Step Functions console says why",
            namespace="AWS/States", metric="ExecutionsFailed", dimension=("StateMachineArn", Ref(machine)),
            topic=topic, env=env,
            what=f"Tells the lab when the state machine that {what} fails, so no alert is lost silently."))

    t.add_output(Output("AlertTopicArn", Value=Ref(topic), Description="SNS topic of this environment's alerts"))
    t.add_output(Output("RunHistoryLogGroupName", Value=Ref(history), Description="Every run's state changes"))
    t.add_output(Output("AlertMachineArn", Value=Ref(alert_machine), Description="Words failure alerts"))
    t.add_output(Output("SilenceCheckArn", Value=Ref(silence_machine), Description="Checks that due runs started"))
    return t
