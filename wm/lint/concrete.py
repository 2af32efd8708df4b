"""An environment's templates with every intrinsic function filled in, as they would deploy.

Offline checks of IAM need concrete values: the ARN a handler acts on, the role a
schedule passes, the resource a policy names. This resolves Ref, Fn::GetAtt, Fn::Sub,
Fn::Join, Fn::Select, Fn::Split and Fn::GetAZs for one environment, in an example account
(123456789012) and the project's region, with cross-stack Parameters taken from the
outputs of the stacks Sceptre feeds them from (`!stack_output`). Physical IDs that AWS
makes up at creation (a VPC's vpc-..., a queue URL) are stable stand-ins of the right
shape, so the same input gives the same answer every time.

Each supported resource type says what Ref and Fn::GetAtt return and what its own ARN
is (CloudFormation's resource reference, "Return values"); a type missing here is an
error, so a new resource type cannot slip past the checks built on this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT = "123456789012"
PARTITION = "aws"


class Unresolvable(Exception):
    """A value this module cannot work out offline; the message says which and where."""


@dataclass(frozen=True)
class Kind:
    """What one resource type returns: Ref, its attributes, and its own ARN (None: it has none)."""
    ref: Callable[[dict, Context], str]
    attributes: dict[str, Callable[[dict, Context], str]]
    arn: Callable[[dict, Context], str | None]


@dataclass(frozen=True)
class Context:
    region: str
    stack: str      # the CloudFormation stack name
    logical: str    # the resource's logical ID

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{PARTITION}:{service}:{self.region if regional else ''}:{ACCOUNT}:{resource}"

    def made_up(self, prefix: str) -> str:
        """A physical ID AWS would invent (vpc-..., sg-...), stable for the same resource."""
        return f"{prefix}-{hashlib.sha256(f'{self.stack}/{self.logical}'.encode()).hexdigest()[:17]}"

    def generated_name(self) -> str:
        return f"{self.stack}-{self.logical}"[:64]


def _name(prop: str):
    return lambda p, c: p.get(prop) or c.generated_name()


def _role_arn(p, c):
    return c.arn("iam", f"role{p.get('Path', '/')}{_name('RoleName')(p, c)}", regional=False)


def _policy_arn(p, c):
    return c.arn("iam", f"policy{p.get('Path', '/')}{_name('ManagedPolicyName')(p, c)}", regional=False)


def _profile_arn(p, c):
    return c.arn("iam", f"instance-profile{p.get('Path', '/')}{_name('InstanceProfileName')(p, c)}", regional=False)


def _topic_arn(p, c):
    return c.arn("sns", _name("TopicName")(p, c))


def _queue_arn(p, c):
    return c.arn("sqs", _name("QueueName")(p, c))


def _log_group_arn(p, c):
    return c.arn("logs", f"log-group:{_name('LogGroupName')(p, c)}")


def _schedule_arn(p, c):
    return c.arn("scheduler", f"schedule/{p.get('GroupName') or 'default'}/{_name('Name')(p, c)}")


def _machine_arn(p, c):
    return c.arn("states", f"stateMachine:{_name('StateMachineName')(p, c)}")


def _ec2(prefix: str, sar_type: str, **attributes):
    ident = lambda p, c: c.made_up(prefix)  # noqa: E731
    return Kind(ident, {k: (v if callable(v) else ident) for k, v in attributes.items()},
                lambda p, c: c.arn("ec2", f"{sar_type}/{c.made_up(prefix)}"))


def _none(p, c):
    return None


def _arn_kind(arn_of: Callable[[dict, Context], str], attribute: str) -> Kind:
    """A type whose Ref and `attribute` are both its own ARN."""
    return Kind(arn_of, {attribute: arn_of}, arn_of)


KINDS: dict[str, Kind] = {
    "AWS::IAM::Role": Kind(_name("RoleName"), {"Arn": _role_arn, "RoleId": lambda p, c: c.made_up("AROA")}, _role_arn),
    "AWS::IAM::ManagedPolicy": Kind(_policy_arn, {"PolicyArn": _policy_arn}, _policy_arn),
    "AWS::IAM::InstanceProfile": Kind(_name("InstanceProfileName"), {"Arn": _profile_arn}, _profile_arn),
    "AWS::IAM::OIDCProvider": Kind(
        lambda p, c: c.arn("iam", f"oidc-provider/{p['Url'].removeprefix('https://')}", regional=False),
        {"Arn": lambda p, c: c.arn("iam", f"oidc-provider/{p['Url'].removeprefix('https://')}", regional=False)},
        lambda p, c: c.arn("iam", f"oidc-provider/{p['Url'].removeprefix('https://')}", regional=False)),
    "AWS::SNS::Topic": Kind(_topic_arn, {"TopicArn": _topic_arn, "TopicName": _name("TopicName")}, _topic_arn),
    "AWS::SNS::TopicPolicy": Kind(lambda p, c: c.made_up("policy"), {}, _none),
    "AWS::SNS::Subscription": Kind(lambda p, c: f"{p['TopicArn']}:{c.made_up('sub')}", {}, _none),
    "AWS::SQS::Queue": Kind(
        lambda p, c: f"https://sqs.{c.region}.amazonaws.com/{ACCOUNT}/{_name('QueueName')(p, c)}",
        {"Arn": _queue_arn, "QueueName": _name("QueueName"),
         "QueueUrl": lambda p, c: f"https://sqs.{c.region}.amazonaws.com/{ACCOUNT}/{_name('QueueName')(p, c)}"},
        _queue_arn),
    # A log group's Arn attribute ends in ":*"; its ARN as IAM's resource type does not.
    "AWS::Logs::LogGroup": Kind(_name("LogGroupName"), {"Arn": lambda p, c: _log_group_arn(p, c) + ":*"},
                                _log_group_arn),
    "AWS::Logs::ResourcePolicy": Kind(_name("PolicyName"), {}, _none),
    "AWS::Logs::MetricFilter": Kind(_name("FilterName"), {}, _none),
    "AWS::Events::Rule": Kind(_name("Name"), {"Arn": lambda p, c: c.arn("events", f"rule/{_name('Name')(p, c)}")},
                              lambda p, c: c.arn("events", f"rule/{_name('Name')(p, c)}")),
    "AWS::CloudWatch::Alarm": Kind(
        _name("AlarmName"), {"Arn": lambda p, c: c.arn("cloudwatch", f"alarm:{_name('AlarmName')(p, c)}")},
        lambda p, c: c.arn("cloudwatch", f"alarm:{_name('AlarmName')(p, c)}")),
    "AWS::Scheduler::Schedule": Kind(_name("Name"), {"Arn": _schedule_arn}, _schedule_arn),
    "AWS::Scheduler::ScheduleGroup": Kind(
        _name("Name"), {"Arn": lambda p, c: c.arn("scheduler", f"schedule-group/{_name('Name')(p, c)}")},
        lambda p, c: c.arn("scheduler", f"schedule-group/{_name('Name')(p, c)}")),
    "AWS::ECS::Cluster": Kind(_name("ClusterName"),
                              {"Arn": lambda p, c: c.arn("ecs", f"cluster/{_name('ClusterName')(p, c)}")},
                              lambda p, c: c.arn("ecs", f"cluster/{_name('ClusterName')(p, c)}")),
    # Ref is the new revision's ARN; the first revision stands in for it.
    "AWS::ECS::TaskDefinition": _arn_kind(
        lambda p, c: c.arn("ecs", f"task-definition/{_name('Family')(p, c)}:1"), "TaskDefinitionArn"),
    "AWS::StepFunctions::StateMachine": Kind(_machine_arn, {"Arn": _machine_arn,
                                                            "Name": _name("StateMachineName")}, _machine_arn),
    "AWS::Chatbot::SlackChannelConfiguration": _arn_kind(
        lambda p, c: c.arn("chatbot", f"chat-configuration/slack-channel/{p['ConfigurationName']}", regional=False),
        "Arn"),
    "AWS::S3::Bucket": Kind(_name("BucketName"), {"Arn": lambda p, c: f"arn:{PARTITION}:s3:::{_name('BucketName')(p, c)}"},
                            lambda p, c: f"arn:{PARTITION}:s3:::{_name('BucketName')(p, c)}"),
    "AWS::S3::BucketPolicy": Kind(lambda p, c: p["Bucket"], {}, _none),
    # Batch: Ref is the resource's ARN (CloudFormation resource reference, AWS::Batch::*, return values).
    "AWS::Batch::ComputeEnvironment": _arn_kind(
        lambda p, c: c.arn("batch", f"compute-environment/{_name('ComputeEnvironmentName')(p, c)}"),
        "ComputeEnvironmentArn"),
    "AWS::Batch::JobQueue": _arn_kind(
        lambda p, c: c.arn("batch", f"job-queue/{_name('JobQueueName')(p, c)}"), "JobQueueArn"),
    # Ref is the new revision's ARN; the first revision stands in for it.
    "AWS::Batch::JobDefinition": Kind(
        lambda p, c: c.arn("batch", f"job-definition/{_name('JobDefinitionName')(p, c)}:1"), {},
        lambda p, c: c.arn("batch", f"job-definition/{_name('JobDefinitionName')(p, c)}:1")),
    "AWS::EC2::VPC": _ec2("vpc", "vpc", VpcId=None),
    "AWS::EC2::Subnet": _ec2("subnet", "subnet", SubnetId=None),
    "AWS::EC2::InternetGateway": _ec2("igw", "internet-gateway", InternetGatewayId=None),
    "AWS::EC2::RouteTable": _ec2("rtb", "route-table", RouteTableId=None),
    "AWS::EC2::SecurityGroup": _ec2("sg", "security-group", GroupId=None),
    # Ref is the launch template's ID; a new template's first version is 1.
    "AWS::EC2::LaunchTemplate": _ec2("lt", "launch-template", LaunchTemplateId=None,
                                     LatestVersionNumber=lambda p, c: "1", DefaultVersionNumber=lambda p, c: "1"),
    "AWS::EC2::VPCGatewayAttachment": Kind(lambda p, c: c.made_up("attach"), {}, _none),
    "AWS::EC2::Route": Kind(lambda p, c: c.made_up("route"), {}, _none),
    "AWS::EC2::SubnetRouteTableAssociation": Kind(lambda p, c: c.made_up("rtbassoc"), {}, _none),
}

# Fn::GetAZs "" in the example region.
ZONES = ("a", "b", "c")


@dataclass
class Resource:
    stack: str          # Sceptre stack path, e.g. prod/models/flu-ar2
    logical: str
    type: str
    properties: dict    # resolved
    arn: str | None     # its own ARN as IAM knows it, or None


class Environment:
    """Every stack of one environment, resolved. `templates`: stack path -> template (JSON form);
    `inputs`: stack path -> parameter -> (source stack path, output name)."""

    def __init__(self, templates: dict[str, dict], inputs: dict[str, dict[str, tuple[str, str]]],
                 region: str, stack_name: Callable[[str], str]):
        self.templates, self.inputs, self.region, self._stack_name = templates, inputs, region, stack_name
        self._props: dict[tuple[str, str], dict] = {}
        self._busy: set[tuple[str, str]] = set()

    # --- public --------------------------------------------------------------------------------

    def resources(self) -> list[Resource]:
        out = []
        for path, template in self.templates.items():
            for logical, r in template.get("Resources", {}).items():
                props = self.properties(path, logical)
                out.append(Resource(path, logical, r["Type"], props,
                                    self._kind(path, logical).arn(props, self._context(path, logical))))
        return out

    def properties(self, path: str, logical: str) -> dict:
        key = (path, logical)
        if key not in self._props:
            if key in self._busy:
                raise Unresolvable(f"{path}:{logical} refers to itself")
            self._busy.add(key)
            try:
                raw = self.templates[path]["Resources"][logical].get("Properties", {})
                self._props[key] = self.value(path, raw, logical)
            finally:
                self._busy.discard(key)
        return self._props[key]

    def output(self, path: str, name: str):
        outputs = self.templates[path].get("Outputs", {})
        if name not in outputs:
            raise Unresolvable(f"{path} has no output {name}")
        return self.value(path, outputs[name]["Value"], f"Outputs.{name}")

    # --- resolution ------------------------------------------------------------------------------

    def _context(self, path: str, logical: str) -> Context:
        return Context(self.region, self._stack_name(path), logical)

    def _kind(self, path: str, logical: str) -> Kind:
        kind = self.templates[path]["Resources"][logical]["Type"]
        if kind not in KINDS:
            raise Unresolvable(f"{path}:{logical}: {kind} is not known to wm/lint/concrete.py (KINDS); "
                               "say what its Ref, attributes and ARN are there")
        return KINDS[kind]

    def ref(self, path: str, name: str, where: str):
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
                  "AWS::StackName": self._stack_name(path), "AWS::URLSuffix": "amazonaws.com",
                  "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{ACCOUNT}:stack/"
                                  f"{self._stack_name(path)}/00000000-0000-0000-0000-000000000000"}
        if name in pseudo:
            return pseudo[name]
        template = self.templates[path]
        if name in template.get("Parameters", {}):
            if name not in self.inputs.get(path, {}):
                raise Unresolvable(f"{path}: parameter {name} has no !stack_output in the Sceptre config")
            source, output = self.inputs[path][name]
            value = self.output(source, output)
            if template["Parameters"][name]["Type"] in ("CommaDelimitedList",) or \
                    template["Parameters"][name]["Type"].startswith("List<"):
                return value.split(",") if isinstance(value, str) else value
            return value
        if name in template.get("Resources", {}):
            return self._kind(path, name).ref(self.properties(path, name), self._context(path, name))
        raise Unresolvable(f"{path}:{where}: Ref to unknown {name}")

    def getatt(self, path: str, logical: str, attribute: str, where: str):
        if logical not in self.templates[path].get("Resources", {}):
            raise Unresolvable(f"{path}:{where}: GetAtt of unknown {logical}")
        kind = self._kind(path, logical)
        if attribute not in kind.attributes:
            raise Unresolvable(f"{path}:{where}: {logical}.{attribute} is not modelled in wm/lint/concrete.py")
        return kind.attributes[attribute](self.properties(path, logical), self._context(path, logical))

    def _sub(self, path: str, text: str, variables: dict, where: str) -> str:
        import re

        def fill(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.templates[path].get("Resources", {}):
                return str(self.getatt(path, *name.split(".", 1), where))
            return str(self.ref(path, name, where))

        return re.sub(r"\$\{([^}]+)\}", fill, text)

    def value(self, path: str, node, where: str):
        if isinstance(node, list):
            return [self.value(path, v, where) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(path, arg, where)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(path, logical, attribute, where)
            if fn == "Fn::Sub":
                text, variables = (arg[0], self.value(path, arg[1], where)) if isinstance(arg, list) else (arg, {})
                return self._sub(path, text, variables, where)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(v) for v in self.value(path, items, where))
            if fn == "Fn::Select":
                index, items = self.value(path, arg, where)
                return items[int(index)]
            if fn == "Fn::Split":
                sep, text = self.value(path, arg, where)
                return text.split(sep)
            if fn == "Fn::GetAZs":
                return [f"{self.region}{z}" for z in ZONES]
            if fn.startswith("Fn::"):
                raise Unresolvable(f"{path}:{where}: {fn} is not supported by wm/lint/concrete.py")
        return {k: self.value(path, v, where) for k, v in node.items()}
