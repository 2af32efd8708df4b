"""AWS::ECS::Cluster and AWS::ECS::TaskDefinition for moto's CloudFormation, every modelled property kept.

moto models both types, but its CloudFormation path passes only a few properties
(the cluster's name; the task definition's family, containers, volumes and memory)
and ignores changes on update, so Container Insights, capacity providers, cpu, network
mode, roles and tags would silently be dropped. These classes pass them to moto's own
ECS backend, the one that serves DescribeClusters and DescribeTaskDefinition, so what
a template declares can be read back, after an update too:

- a cluster is updated in place (UpdateCluster, PutClusterCapacityProviders,
  TagResource/UntagResource); a new ClusterName replaces it
- a task definition is immutable: any change but Tags registers a new revision and
  deregisters the old one (INACTIVE), as CloudFormation does; Tags are set on the
  current revision
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ecs.models import ecs_backends

from .base import Extension, changed, tag_changes

# CloudFormation keys whose API spelling is not just a lower-case first letter.
_RENAMED = {"ProxyConfigurationProperties": "properties", "EFSVolumeConfiguration": "efsVolumeConfiguration",
            "FSxWindowsFileServerVolumeConfiguration": "fsxWindowsFileServerVolumeConfiguration",
            "FilesystemId": "fileSystemId", "IAM": "iam"}
# Maps whose keys are the user's own (labels, driver and log options): kept as written.
_FREE_FORM = {"DockerLabels", "Options", "DriverOpts", "Labels"}


def _api(value: Any) -> Any:
    """CloudFormation's PascalCase keys -> the ECS API's camelCase, recursively."""
    if isinstance(value, list):
        return [_api(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {_RENAMED.get(k, k[:1].lower() + k[1:]): (v if k in _FREE_FORM else _api(v)) for k, v in value.items()}


def _api_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in tags or []]


def _sync_tags(backend, arn: str, old: list | None, new: list | None) -> None:
    put, remove = tag_changes(old, new)
    if remove:
        backend.untag_resource(arn, remove)
    if put:
        backend.tag_resource(arn, put)


class EcsCluster(Extension, CloudFormationModel):
    """Creates, updates and deletes clusters through moto's ECS backend.

    Not modelled: ServiceConnectDefaults (moto keeps the namespace as given, where ECS
    resolves it to a Cloud Map namespace ARN).
    """

    TYPE = "AWS::ECS::Cluster"
    NAME_PROPERTY = "ClusterName"
    PROPERTIES = frozenset({"ClusterName", "ClusterSettings", "Configuration", "CapacityProviders",
                            "DefaultCapacityProviderStrategy", "Tags"})
    REF = "cluster.name"
    ATTRIBUTES = {"Arn": "cluster.arn"}

    def __init__(self, cluster, props: dict[str, Any]):
        self.cluster, self.props = cluster, props

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        return cls(ecs_backends[account_id][region_name].create_cluster(
            cluster_name=cls.given_name(p, resource_name),
            tags=_api_tags(p.get("Tags")) or None,
            cluster_settings=_api(p.get("ClusterSettings")),
            configuration=_api(p.get("Configuration")),
            capacity_providers=p.get("CapacityProviders"),
            default_capacity_provider_strategy=_api(p.get("DefaultCapacityProviderStrategy")),
        ), p)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        p = cls.properties(cloudformation_json)
        backend = ecs_backends[account_id][region_name]
        cluster = original_resource.cluster
        new_resource_name = cls.kept_name(p, cluster.name)
        if cluster.name != new_resource_name:  # a new name replaces the cluster
            backend.delete_cluster(cluster.arn)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        diff = changed(original_resource.props, p)
        if diff & {"ClusterSettings", "Configuration"}:
            backend.update_cluster(cluster_name=cluster.name,
                                   cluster_settings=_api(p.get("ClusterSettings")) or
                                   [{"name": "containerInsights", "value": "disabled"}],
                                   configuration=_api(p.get("Configuration")) or {}, service_connect_defaults=None)
        if diff & {"CapacityProviders", "DefaultCapacityProviderStrategy"}:
            backend.put_cluster_capacity_providers(cluster.name, p.get("CapacityProviders") or [],
                                                   _api(p.get("DefaultCapacityProviderStrategy")) or [])
        if "Tags" in diff:
            _sync_tags(backend, cluster.arn, original_resource.props.get("Tags"), p.get("Tags"))
        return cls(cluster, p)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        ecs_backends[account_id][region_name].delete_cluster(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.cluster.name, {}, account_id, region_name)


class EcsTaskDefinition(Extension, CloudFormationModel):
    """Registers revisions through moto's ECS backend with every property it holds.

    Not modelled: EnableFaultInjection (moto's RegisterTaskDefinition has no such field).
    """

    TYPE = "AWS::ECS::TaskDefinition"
    NAME_PROPERTY = "Family"
    PROPERTIES = frozenset({"Family", "ContainerDefinitions", "Volumes", "NetworkMode", "Tags",
                            "PlacementConstraints", "RequiresCompatibilities", "Cpu", "Memory", "TaskRoleArn",
                            "ExecutionRoleArn", "ProxyConfiguration", "InferenceAccelerators", "RuntimePlatform",
                            "IpcMode", "PidMode", "EphemeralStorage"})
    REF = "task_definition.arn"
    ATTRIBUTES = {"TaskDefinitionArn": "task_definition.arn"}

    def __init__(self, task_definition, props: dict[str, Any]):
        self.task_definition, self.props = task_definition, props

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        return cls(ecs_backends[account_id][region_name].register_task_definition(
            family=cls.given_name(p, resource_name),
            container_definitions=_api(p.get("ContainerDefinitions", [])),
            volumes=_api(p.get("Volumes", [])),
            network_mode=p.get("NetworkMode"),
            tags=_api_tags(p.get("Tags")),
            placement_constraints=_api(p.get("PlacementConstraints")),
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=p.get("Cpu"),
            memory=p.get("Memory"),
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            proxy_configuration=_api(p.get("ProxyConfiguration")),
            inference_accelerators=_api(p.get("InferenceAccelerators")),
            runtime_platform=_api(p.get("RuntimePlatform")),
            ipc_mode=p.get("IpcMode"),
            pid_mode=p.get("PidMode"),
            ephemeral_storage=_api(p.get("EphemeralStorage")),
        ), p)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        p = cls.properties(cloudformation_json)
        backend = ecs_backends[account_id][region_name]
        old = original_resource.task_definition
        new_resource_name = cls.kept_name(p, old.family)
        if changed(original_resource.props, p) == {"Tags"} and old.family == new_resource_name:
            _sync_tags(backend, old.arn, original_resource.props.get("Tags"), p.get("Tags"))
            return cls(old, p)
        # As in CloudFormation: any other change registers a new revision and deregisters the old one.
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend.deregister_task_definition(old.arn)
        return new

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        ecs_backends[account_id][region_name].deregister_task_definition(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.task_definition.arn, {}, account_id, region_name)
