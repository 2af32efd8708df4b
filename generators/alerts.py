"""alerts: who hears of a failed run, and the permanent record of every run.

Creates
- AlertTopic `weekly-models-<env>-alerts` (SNS), with one email subscription per
  address in `environment.alerts.emails`, and a topic policy that lets only
  EventBridge rules and CloudWatch alarms of this environment, in this account, publish.
  The per-model failure rules and failed-start alarms (model stacks) and the two
  Scheduler alarms here notify it.
- SchedulerTargetErrorsAlarm / SchedulerDeadLetterFailuresAlarm: EventBridge
  Scheduler's AWS/Scheduler metrics for this environment's schedule group (a RunTask
  call that failed; a failed start that could not even reach its dead-letter queue).
- RunHistoryLogGroup `/weekly-models/<env>/runs` and RunHistoryRule: every ECS Task
  State Change of this environment's cluster, kept `alerts.run_history_retention_days`
  (ECS forgets stopped tasks within hours); `make status` reads it. RunHistoryLogPolicy
  lets that rule, and only it, write there.
- With `environment.alerts.slack` set: AWS Chatbot delivers the topic to a Slack
  channel, through a role that may do nothing and a guardrail that allows only
  reading this environment's alarms.

Takes: ClusterArn and ScheduleGroupName (cluster stack).
Outputs: AlertTopicArn, RunHistoryLogGroupName.
"""

from __future__ import annotations

import hashlib
import json

from awacs import cloudwatch as acw
from awacs import logs as alogs
from awacs import sns as asns
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import AccountId, GetAtt, Output, Parameter, Ref, Sub, chatbot, cloudwatch, events, iam, logs, sns

from . import naming
from .common import arn, checkov_skip, env_tags, new_template, stateful, why
from .iam import assume_role
from .spec import EnvStack


def task_state_pattern(cluster_arn) -> dict:
    """Every ECS task state change of one cluster."""
    return {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"clusterArn": [cluster_arn]}}


def _email_id(address: str) -> str:
    # Stable per address: adding or removing one never replaces the others.
    return "EmailSubscription" + hashlib.sha256(address.lower().encode()).hexdigest()[:8]


def build(spec: EnvStack):
    env, alerts = spec.env, spec.environment.alerts
    t = new_template(f"weekly-models {env}: alert topic, Scheduler alarms and run history")
    p_cluster = t.add_parameter(Parameter("ClusterArn", Type="String", Description="ECS cluster (cluster stack)"))
    p_group = t.add_parameter(Parameter(
        "ScheduleGroupName", Type="String", Description="Scheduler schedule group (cluster stack)"))

    topic = t.add_resource(sns.Topic(
        "AlertTopic", TopicName=naming.alert_topic(env), DisplayName=f"weekly-models {env}", Tags=env_tags(env),
        Metadata=why("Where every alert of this environment goes: failed runs, failed starts, Scheduler errors.")
        | checkov_skip(("CKV_AWS_26", "EventBridge and CloudWatch alarms cannot publish to a topic encrypted "
                        "with the AWS managed SNS key; alerts carry run metadata only, never secrets."))))
    t.add_resource(sns.TopicPolicy(
        "AlertTopicPolicy", Topics=[Ref(topic)],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            Statement(Sid="FailureRulesOfThisEnvironment", Effect=Allow,
                      Principal=Principal("Service", ["events.amazonaws.com"]), Action=[asns.Publish],
                      Resource=[Ref(topic)],
                      Condition=Condition([StringEquals({"aws:SourceAccount": AccountId}),
                                           ArnLike({"aws:SourceArn": arn("events", f"rule/{naming.env_prefix(env)}-*")})])),
            Statement(Sid="AlarmsOfThisEnvironment", Effect=Allow,
                      Principal=Principal("Service", ["cloudwatch.amazonaws.com"]), Action=[asns.Publish],
                      Resource=[Ref(topic)],
                      Condition=Condition([StringEquals({"aws:SourceAccount": AccountId}),
                                           ArnLike({"aws:SourceArn": arn("cloudwatch",
                                                                         f"alarm:{naming.env_prefix(env)}-*")})])),
        ]),
        Metadata=why("Only this environment's rules and alarms, in this account, may publish alerts.")))
    for address in sorted(alerts.emails):
        t.add_resource(sns.SubscriptionResource(
            _email_id(address), TopicArn=Ref(topic), Protocol="email", Endpoint=address,
            Metadata=why(f"Sends alerts to {address} (confirmed once by email).")))

    for logical, metric, what in (
            ("SchedulerTargetErrorsAlarm", "TargetErrorCount", "a schedule's RunTask call failed"),
            ("SchedulerDeadLetterFailuresAlarm", "InvocationsFailedToBeSentToDeadLetterCount",
             "a failed start could not be sent to its dead-letter queue")):
        t.add_resource(cloudwatch.Alarm(
            logical, AlarmName=f"{naming.env_prefix(env)}-scheduler-{metric}",
            AlarmDescription=f"weekly-models {env}: {what}; see the schedule's dead-letter queue and CloudTrail",
            Namespace="AWS/Scheduler", MetricName=metric,
            Dimensions=[cloudwatch.MetricDimension(Name="ScheduleGroup", Value=Ref(p_group))],
            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=0,
            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
            AlarmActions=[Ref(topic)], Tags=env_tags(env),
            Metadata=why(f"Tells the lab when {what}.")))

    history = t.add_resource(logs.LogGroup(
        "RunHistoryLogGroup", LogGroupName=naming.run_history_log_group(env),
        RetentionInDays=alerts.run_history_retention_days, Tags=env_tags(env),
        Metadata=why("The lab's permanent record of runs: ECS forgets stopped tasks within hours.")
        | checkov_skip(("CKV_AWS_158", "Encrypted at rest by CloudWatch Logs' own keys; task state changes "
                        "hold no secrets (secret values are never in a task's description).")),
        **stateful(spec.environment.deletion_policy)))
    rule_name = naming.run_history_rule(env)
    history_arn = arn("logs", f"log-group:{naming.run_history_log_group(env)}")
    t.add_resource(logs.ResourcePolicy(
        "RunHistoryLogPolicy", PolicyName=f"{naming.env_prefix(env)}-run-history",
        PolicyDocument=Sub(json.dumps(PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Sid="RunHistoryRuleWrites", Effect=Allow,
            Principal=Principal("Service", ["events.amazonaws.com", "delivery.logs.amazonaws.com"]),
            Action=[alogs.CreateLogStream, alogs.PutLogEvents],
            Resource=[f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:"
                      f"{naming.run_history_log_group(env)}:*"],
            Condition=Condition(ArnLike({"aws:SourceArn": f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:"
                                                          f"${{AWS::AccountId}}:rule/{rule_name}"})))]).JSONrepr(),
            sort_keys=True, default=lambda o: o.JSONrepr())),
        Metadata=why("Lets the run-history rule, and only it, write to the run history.")))
    t.add_resource(events.Rule(
        "RunHistoryRule", Name=rule_name, State="ENABLED",
        Description=f"weekly-models {env}: every task state change of the cluster, to the run history",
        EventPattern=task_state_pattern(Ref(p_cluster)),
        Targets=[events.Target(Id="run-history", Arn=history_arn)],
        DependsOn=["RunHistoryLogPolicy"],
        Metadata=why("Copies every start and stop of a model task into the run history.")))

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
            AssumeRolePolicyDocument=assume_role("chatbot.amazonaws.com", arn("chatbot", "*", region=False)),
            Tags=env_tags(env),
            Metadata=why("Chatbot's own role: no permissions, it only relays the topic to Slack.")))
        t.add_resource(chatbot.SlackChannelConfiguration(
            "SlackChannel", ConfigurationName=f"{naming.env_prefix(env)}-alerts",
            SlackWorkspaceId=alerts.slack.workspace_id, SlackChannelId=alerts.slack.channel_id,
            IamRoleArn=GetAtt(role, "Arn"), SnsTopicArns=[Ref(topic)], GuardrailPolicies=[Ref(guardrail)],
            LoggingLevel="ERROR",
            Metadata=why("Posts every alert of this environment to the lab's Slack channel.")))

    t.add_output(Output("AlertTopicArn", Value=Ref(topic), Description="SNS topic of this environment's alerts"))
    t.add_output(Output("RunHistoryLogGroupName", Value=Ref(history), Description="Every run's state changes"))
    return t
