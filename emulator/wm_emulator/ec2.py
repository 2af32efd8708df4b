"""EC2 in moto: delete the network stack's pieces, and run tasks in a VPC without DNS hostnames.

Deleting: moto's CloudFormation creates AWS::EC2::InternetGateway, VPCGatewayAttachment,
Route, RouteTable and SubnetRouteTableAssociation but has no delete for them, so
deleting a stack holding a VPC failed with DependencyViolation and left the VPC behind.
moto deletes a stack's resources by calling each one's `delete(account, region)`; this
gives those five classes that method, each undoing its own creation through moto's EC2
backend (the one serving DetachInternetGateway, DeleteRoute, ...).

DNS hostnames: moto's ECS RunTask reads an ENI's private DNS name, which moto sets only
when the VPC has DNS hostnames on; RunTask in such a VPC failed with a server error.
"""

from __future__ import annotations

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment


def _detach(self, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.gateway_id and self.gateway_id.startswith("igw-"):
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)
    elif self.gateway_id:
        backend.detach_vpn_gateway(self.gateway_id, self.vpc_id)


def _delete_internet_gateway(self, account_id: str, region_name: str) -> None:
    # Refused while still attached; moto's stack deletion retries after the attachment goes.
    ec2_backends[account_id][region_name].delete_internet_gateway(self.id)


def _delete_route(self, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.route_table.id in backend.route_tables:  # gone with its table: nothing left to do
        backend.delete_route(self.route_table.id, self.destination_cidr_block, self.destination_ipv6_cidr_block)


def _delete_route_table(self, account_id: str, region_name: str) -> None:
    ec2_backends[account_id][region_name].delete_route_table(self.id)


def _disassociate(self, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    table = backend.route_tables.get(self.route_table_id)
    if table is None:
        return
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == self.subnet_id:
            backend.disassociate_route_table(association_id)


PATCHED = {
    InternetGateway: _delete_internet_gateway,
    VPCGatewayAttachment: _detach,
    Route: _delete_route,
    RouteTable: _delete_route_table,
    SubnetRouteTableAssociation: _disassociate,
}


def install() -> list[str]:
    for cls, delete in PATCHED.items():
        cls.delete = delete
    # moto sets an ENI's private DNS name only when its VPC has DNS hostnames on, yet its
    # ECS RunTask always reads it: RunTask in such a VPC failed with a server error. No
    # DNS hostnames means no private DNS name, as in AWS.
    NetworkInterface.private_dns_name = None
    return [cls.cloudformation_type() for cls in PATCHED]
