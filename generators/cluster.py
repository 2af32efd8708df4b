"""cluster: the ECS cluster the models run in.

Creates the Fargate-only ECS cluster (`weekly-models-<env>` unless the environment
names it) with Container Insights on and the FARGATE and FARGATE_SPOT capacity
providers (FARGATE by default; a model opts into Spot).

Takes: nothing from other stacks.
Outputs: ClusterArn, ClusterName.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, ecs

from .common import env_tags, new_template, why
from .spec import EnvStack


def build(spec: EnvStack):
    t = new_template(f"weekly-models {spec.env}: ECS cluster")
    cluster = t.add_resource(ecs.Cluster(
        "Cluster",
        ClusterName=spec.cluster_name,
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        CapacityProviders=["FARGATE", "FARGATE_SPOT"],
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=1)],
        Tags=env_tags(spec.env),
        Metadata=why("Groups this environment's model tasks; Container Insights records their cpu and memory.")))
    t.add_output(Output("ClusterArn", Value=GetAtt(cluster, "Arn"), Description="ECS cluster"))
    t.add_output(Output("ClusterName", Value=Ref(cluster), Description="ECS cluster name"))
    return t
