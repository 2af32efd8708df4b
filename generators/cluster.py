"""cluster: where the models run and where their schedules live.

Creates the Fargate-only ECS cluster (`weekly-models-<env>` unless the environment
names it) with Container Insights on and the FARGATE and FARGATE_SPOT capacity
providers (FARGATE by default; a model opts into Spot), and the environment's
EventBridge Scheduler schedule group `weekly-models-<env>` (Scheduler's failure
metrics and the scheduler role's trust policy name it).

Takes: nothing from other stacks.
Outputs: ClusterArn, ClusterName, ScheduleGroupName.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, ecs, scheduler

from wm.config import names as naming
from wm.config.model import Stack
from wm.render import env_tags, new_template, why


def build(stack: Stack):
    env = stack.env.name
    t = new_template(f"weekly-models {env}: ECS cluster")
    cluster = t.add_resource(ecs.Cluster(
        "Cluster",
        ClusterName=stack.env.cluster_name,
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        CapacityProviders=["FARGATE", "FARGATE_SPOT"],
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=1)],
        Tags=env_tags(env),
        Metadata=why("Groups this environment's model tasks; Container Insights records their cpu and memory.")))
    group = t.add_resource(scheduler.ScheduleGroup(
        "ScheduleGroup", Name=naming.schedule_group(env), Tags=env_tags(env),
        Metadata=why("Holds this environment's schedules, so their failure metrics can be watched apart.")))
    t.add_output(Output("ClusterArn", Value=GetAtt(cluster, "Arn"), Description="ECS cluster"))
    t.add_output(Output("ClusterName", Value=Ref(cluster), Description="ECS cluster name"))
    t.add_output(Output("ScheduleGroupName", Value=Ref(group), Description="EventBridge Scheduler schedule group"))
    return t
