"""This project's extensions of moto, the local AWS emulator.

moto's CloudFormation skips resource types it does not model with only a log
warning (the stack still says CREATE_COMPLETE), and for some types it models it drops
properties or cannot delete. Each module here fixes one type on top of the moto
backend that serves that type's API, so what a stack creates can be read back through
the ordinary API, and nothing answers success without doing the work:

- scheduler.py: AWS::Scheduler::Schedule and ScheduleGroup (EventBridge Scheduler), not
  modelled by moto
- ecs.py: AWS::ECS::Cluster and AWS::ECS::TaskDefinition with all their properties
  (moto's own CloudFormation path keeps only a few, e.g. not cpu or Container Insights)
- ec2.py: AWS::EC2::InternetGateway, VPCGatewayAttachment, Route, RouteTable and
  SubnetRouteTableAssociation can be deleted (moto cannot, so deleting the network
  stack failed with DependencyViolation)
- cloudwatch.py: AWS::CloudWatch::Alarm into moto's CloudWatch backend (not modelled;
  the emulator never evaluates metrics, so these alarms never fire)
- sns.py: AWS::SNS::TopicPolicy (set as the topic's Policy) and AWS::SNS::Subscription
  (a real Subscribe), both skipped by moto; topic policies are not enforced
- events.py: EventBridge rules deliver to SNS topics through moto's SNS backend (moto
  has no SNS target: PutEvents failed)
- cloudformation.py: an UpdateStack that changes nothing is refused with "No updates are
  to be performed", as CloudFormation does, for stacks without parameters too; an
  executed change set leaves the stack's template, parameters and outputs in place;
  termination protection can be set and blocks DeleteStack

Everything else moto does not model stays absent, and `make deploy` lists it.
"""

from moto.cloudformation import parsing

from . import cloudformation, ec2, events
from .cloudwatch import CloudWatchAlarm
from .ecs import EcsCluster, EcsTaskDefinition
from .scheduler import SchedulerSchedule, SchedulerScheduleGroup
from .sns import SnsSubscription, SnsTopicPolicy

EXTENDED_TYPES = (SchedulerSchedule, SchedulerScheduleGroup, EcsCluster, EcsTaskDefinition, CloudWatchAlarm,
                  SnsTopicPolicy, SnsSubscription)


def install() -> list[str]:
    """Make moto's CloudFormation see the extension types; returns their type names."""
    for cache in (parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    for cls in EXTENDED_TYPES:  # the map keeps the last class of a type: ours come after moto's
        assert parsing.get_model_map()[cls.cloudformation_type()] is cls, cls
    cloudformation.install()
    events.install()
    return [cls.cloudformation_type() for cls in EXTENDED_TYPES] + ec2.install()
