"""This project's extensions of moto, the local AWS emulator.

moto's CloudFormation skips resource types it does not model with only a log
warning (the stack still says CREATE_COMPLETE), and for some types it models it drops
properties, ignores updates or cannot delete. Each module here fixes one service on
top of the moto backend that serves its API, so what a stack creates or updates can be
read back through the ordinary API, and nothing answers success without doing the work:

- base.py: the shared plumbing of the types below (type, name property, Ref, GetAtt).
  Each type lists the PROPERTIES it passes to moto's backend and refuses any other
  with a ValidationError instead of dropping it; each applies every one of them on
  update as CloudFormation would (tests/test_emulator_updates.py proves each)
- scheduler.py: AWS::Scheduler::Schedule and ScheduleGroup (EventBridge Scheduler), not
  modelled by moto; a StartDate more than 5 minutes past is refused, with AWS's message,
  on update too
- ecs.py: AWS::ECS::Cluster and AWS::ECS::TaskDefinition with all their properties
  (moto's own CloudFormation path keeps only a few, e.g. not cpu or Container Insights)
- cloudwatch.py: AWS::CloudWatch::Alarm into moto's CloudWatch backend (not modelled;
  the emulator never evaluates metrics, so these alarms never fire)
- sns.py: AWS::SNS::TopicPolicy (set as the topic's Policy) and AWS::SNS::Subscription
  (a real Subscribe, with its attributes), both skipped by moto; topic policies are
  not enforced
- ec2.py: AWS::EC2::InternetGateway, VPCGatewayAttachment, Route, RouteTable and
  SubnetRouteTableAssociation can be deleted (moto cannot, so deleting the network
  stack failed with DependencyViolation), and RunTask works in a VPC without DNS hostnames
- events.py: EventBridge rules deliver to SNS topics through moto's SNS backend and
  start state machines (moto has neither target: PutEvents failed)
- stepfunctions.py: AWS::StepFunctions::StateMachine in moto's backend that executes
  state machines (its interpreter, turned on here), not the one that only records them
- logs.py: AWS::Logs::MetricFilter (not modelled), and metric filters that turn
  matching log events into CloudWatch data points (moto never evaluated them)
- cloudformation.py: an UpdateStack that changes nothing is refused with "No updates are
  to be performed", as CloudFormation does, for stacks without parameters too; an
  executed change set leaves the stack's template, parameters and outputs in place;
  termination protection can be set and blocks DeleteStack; a resource whose resolved
  properties change (a new task definition revision it refers to) is updated too

- s3.py: AWS::S3::BucketPolicy (not modelled): set as the bucket's policy, which moto
  evaluates for object requests; its TLS-only statement is left out (the emulator is HTTP)
- batch.py: AWS Batch jobs advance through their states on the clock without running
  anything (moto would run them in Docker, which the emulator does not have); a compute
  environment without ServiceRole gets Batch's service-linked role, as on AWS

Everything else moto does not model stays absent, and `make deploy` lists it.
"""

from moto.cloudformation import parsing

from . import batch, cloudformation, ec2, events, logs, stepfunctions
from .cloudwatch import CloudWatchAlarm
from .ecs import EcsCluster, EcsTaskDefinition
from .logs import LogsMetricFilter
from .s3 import S3BucketPolicy
from .scheduler import SchedulerSchedule, SchedulerScheduleGroup
from .sns import SnsSubscription, SnsTopicPolicy
from .stepfunctions import StepFunctionsStateMachine

EXTENDED_TYPES = (SchedulerSchedule, SchedulerScheduleGroup, EcsCluster, EcsTaskDefinition, CloudWatchAlarm,
                  SnsTopicPolicy, SnsSubscription, StepFunctionsStateMachine, LogsMetricFilter, S3BucketPolicy)


def install() -> list[str]:
    """Make moto's CloudFormation see the extension types; returns their type names."""
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    for cls in EXTENDED_TYPES:  # the map keeps the last class of a type: ours come after moto's
        # Only DIRECT subclasses of CloudFormationModel are registered: Extension is a mixin.
        assert cls in parsing.get_model_list(), cls
        assert parsing.get_model_map()[cls.cloudformation_type()] is cls, cls
    cloudformation.install()
    events.install()
    logs.install()
    stepfunctions.install()
    return [cls.cloudformation_type() for cls in EXTENDED_TYPES] + ec2.install() + batch.install()
