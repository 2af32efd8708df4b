"""AWS::ECS::Cluster and AWS::ECS::TaskDefinition for moto's CloudFormation, all properties kept.

moto models both types, but its CloudFormation path passes only a few properties
(the cluster's name; the task definition's family, containers, volumes and memory),
so Container Insights, capacity providers, cpu, network mode, runtime platform, roles
and tags would silently be dropped. These classes pass them to moto's own ECS backend,
the one that serves DescribeClusters and DescribeTaskDefinition, so what a template
declares can be read back.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import ecs_backends


def _lower_keys(items: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """CloudFormation's {Name, Value} / {CapacityProvider, Weight} -> the API's camelCase."""
    if items is None:
        return None
    return [{k[0].lower() + k[1:]: v for k, v in item.items()} for item in items]


class EcsCluster(CloudFormationModel):
    """Creates, updates and deletes clusters through moto's ECS backend; returns moto's Cluster."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClusterName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::Cluster"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        return ecs_backends[account_id][region_name].create_cluster(
            cluster_name=resource_name,
            tags=_lower_keys(p.get("Tags")),
            cluster_settings=_lower_keys(p.get("ClusterSettings")),
            capacity_providers=p.get("CapacityProviders"),
            default_capacity_provider_strategy=_lower_keys(p.get("DefaultCapacityProviderStrategy")),
        )

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        backend = ecs_backends[account_id][region_name]
        if original_resource.name != new_resource_name:  # a new name replaces the cluster
            backend.delete_cluster(original_resource.arn)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        p = cloudformation_json.get("Properties", {})
        backend.update_cluster(cluster_name=original_resource.name,
                               cluster_settings=_lower_keys(p.get("ClusterSettings")),
                               configuration=None, service_connect_defaults=None)
        return backend.put_cluster_capacity_providers(
            original_resource.name, p.get("CapacityProviders"),
            _lower_keys(p.get("DefaultCapacityProviderStrategy")))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        ecs_backends[account_id][region_name].delete_cluster(resource_name)

    def is_created(self) -> bool:
        return True


class EcsTaskDefinition(CloudFormationModel):
    """Registers revisions through moto's ECS backend with every property it holds; returns moto's TaskDefinition."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Family"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::TaskDefinition"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "TaskDefinitionArn"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        camel = lambda v: remap_nested_keys(v, pascal_to_camelcase) if v is not None else None  # noqa: E731
        return ecs_backends[account_id][region_name].register_task_definition(
            family=p.get("Family", resource_name),
            container_definitions=camel(p.get("ContainerDefinitions", [])),
            volumes=camel(p.get("Volumes", [])),
            network_mode=p.get("NetworkMode"),
            tags=_lower_keys(p.get("Tags")),
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=p.get("Cpu"),
            memory=p.get("Memory"),
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            runtime_platform=_lower_keys([p["RuntimePlatform"]])[0] if p.get("RuntimePlatform") else None,
        )

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        # As in CloudFormation: any change registers a new revision and deregisters the old one.
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return new

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        ecs_backends[account_id][region_name].deregister_task_definition(resource_name)

    def is_created(self) -> bool:
        return True
