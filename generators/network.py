"""network: where the model containers run, with no way in.

Creates a VPC with a public subnet in each of two availability zones, an internet
gateway and its route (no NAT gateway: it would cost more than every model run
together; tasks get a public IP instead, per run, or on launch for Batch EC2 instances when a
job has `platform: EC2`), and a security group with no inbound rule and outbound HTTPS only. With `network.existing_vpc_id` set it creates only the
security group, in that VPC.

Takes: nothing from other stacks.
Outputs: VpcId, SubnetIds (comma-separated), SecurityGroupId.
"""

from __future__ import annotations

import ipaddress

from troposphere import GetAtt, GetAZs, Join, Output, Ref, Select, Tags, ec2

from wm.config.model import Stack
from wm.render import checkov_skip, env_tags, new_template, why

ZONES = 2


def build(stack: Stack):
    env, net = stack.env.name, stack.env.settings.network
    t = new_template(f"weekly-models {env}: network (egress-only security group"
                     f"{'' if net.existing_vpc_id else ', VPC, public subnets'})")
    tags = env_tags(env)

    if net.existing_vpc_id:
        vpc_id, subnet_ids = net.existing_vpc_id, list(net.existing_subnet_ids)
    else:
        vpc = t.add_resource(ec2.VPC(
            "Vpc", CidrBlock=net.vpc_cidr, EnableDnsSupport=True, EnableDnsHostnames=True,
            Tags=tags + Tags(Name=f"weekly-models-{env}"),
            Metadata=why("Private network of this environment's model tasks.")))
        igw = t.add_resource(ec2.InternetGateway(
            "InternetGateway", Tags=tags,
            Metadata=why("Outbound internet for the tasks (Docker Hub, GitHub, Slack) without a NAT gateway.")))
        attach = t.add_resource(ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw),
            Metadata=why("Connects the internet gateway to the VPC.")))
        table = t.add_resource(ec2.RouteTable(
            "PublicRouteTable", VpcId=Ref(vpc), Tags=tags,
            Metadata=why("Routes the public subnets' traffic.")))
        t.add_resource(ec2.Route(
            "DefaultRoute", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(igw), DependsOn=attach.title,
            Metadata=why("Sends all non-local traffic to the internet gateway.")))
        blocks = list(ipaddress.ip_network(net.vpc_cidr).subnets(new_prefix=24))
        subnet_ids = []
        # Batch's EC2 instances (an environment with an EC2 job) reach ECS and their images only with a
        # public IP, and Batch takes it from the subnet, which it launches them in (AWS Batch user guide,
        # "Compute resource networking": a public IP, an interface endpoint or NAT); tasks on Fargate ask
        # for theirs per run (AssignPublicIp) either way. The security group lets nothing in.
        on_launch = any(j.platform == "EC2" for j in stack.env.jobs)
        for i in range(ZONES):
            subnet = t.add_resource(ec2.Subnet(
                f"PublicSubnet{i + 1}", VpcId=Ref(vpc), CidrBlock=str(blocks[i]),
                AvailabilityZone=Select(i, GetAZs("")), MapPublicIpOnLaunch=on_launch,
                Tags=tags + Tags(Name=f"weekly-models-{env}-public-{i + 1}"),
                Metadata=why(f"Public subnet in availability zone {i + 1} of {ZONES}; " + (
                    "Batch EC2 instances get a public IP on launch, tasks per run (AssignPublicIp)." if on_launch else
                    "tasks ask for a public IP per run (AssignPublicIp) instead of on launch."))
                | (checkov_skip(("CKV_AWS_130", "Batch EC2 instances need a public IP to reach ECS without a NAT "
                                 "gateway; the egress-only security group lets nothing in.")) if on_launch else {})))
            t.add_resource(ec2.SubnetRouteTableAssociation(
                f"PublicSubnet{i + 1}RouteTable", SubnetId=Ref(subnet), RouteTableId=Ref(table),
                Metadata=why(f"Puts public subnet {i + 1} on the public route table.")))
            subnet_ids.append(Ref(subnet))
        vpc_id = Ref(vpc)

    sg = t.add_resource(ec2.SecurityGroup(
        "TaskSecurityGroup",
        GroupDescription=f"weekly-models {env} tasks: no inbound, outbound HTTPS only",
        VpcId=vpc_id,
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0",
            Description="HTTPS to Docker Hub, GitHub, Slack and public data")],
        Tags=tags,
        Metadata=why("Replaces the hand-built group that allowed SSH from anywhere: nothing may connect in.")))

    t.add_output(Output("VpcId", Value=vpc_id, Description="VPC of the tasks"))
    t.add_output(Output("SubnetIds", Value=Join(",", subnet_ids), Description="Public subnets of the tasks"))
    t.add_output(Output("SecurityGroupId", Value=GetAtt(sg, "GroupId"), Description="Egress-only group of the tasks"))
    return t
