"""AWS check adapters and rules: what the EC2, ELB and IAM APIs enforce, and our security rules for AWS.

Adapters (read by the cross-cloud rules in `infra.checks`):
- openings: security group rules (the three ways AWS declares them) and
  load-balancer listeners of internet-facing load balancers (the internet
  reaches the target group's port through them);
- user data: instances and launch templates (EC2 accepts 16 KiB);
- replacement risk: an instance whose user data replaces it, holding a GPU or
  a data volume.

Rules:
- `alb-two-zones`: an application load balancer has subnets in at least two zones
  (the ELB API refuses fewer); a subnet the plan does not hold is reported as
  not judged, never counted as a zone.
- `imdsv2-required`: every instance and launch template requires IMDSv2 tokens.
- `iam-policy`: identity and bucket policies, inline or customer-managed, and
  the AWS-managed policies attached to roles pass parliament.
- `secret-read-scoped`: no policy attached to a role lets it read secrets
  (SSM parameters, Secrets Manager, KMS decrypt) on every resource.
- `lb-after-internet-gateway`: an internet-facing load balancer waits for its
  VPC's internet gateway (the API refuses one in a VPC without).
- `compute-after-role-policies`: an instance or launch template waits for every
  policy attached to its role, so its boot script never runs without them.

The ECS rules and the ECS services' workload adapter live in
`infra.aws.ecs_checks`, which the last line of this module imports (the
registry loads each cloud's `checks` module only).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from infra.aws import catalog
from infra.checks import Problem, problem, rule
from infra.checks.adapters import INTERNET, Opening, UserData, int_or, judged, openings, user_data
from infra.checks.replacement import ReplacementRisk, replacement_risk, routine_by_option
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

INSTANCE: Final = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
LOAD_BALANCERS: Final = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TARGET_GROUPS: Final = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
USER_DATA_LIMIT: Final = 16 * 1024  # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
ALL_PROTOCOLS: Final = {"-1", "all"}

judged("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress only: lets nothing in")
judged("aws:ec2/internetGateway:InternetGateway", "routes traffic; security groups decide what gets in")
for _lb in LOAD_BALANCERS:
    judged(_lb, "reached only through its listeners, which are read as openings")


def _protocol(value: Any) -> str:
    found = str(value or "").lower()
    return "all" if found in ALL_PROTOCOLS else found


def _cidrs(*values: Any) -> frozenset[str]:
    found: set[str] = set()
    for value in values:
        if isinstance(value, str) and value:
            found.add(value)
        elif isinstance(value, list):
            found.update(str(v) for v in value if v)
    return frozenset(found)


@openings("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
def _ingress_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = r.inputs
    yield Opening(r, _protocol(i.get("ipProtocol")), int_or(i.get("fromPort"), 0), int_or(i.get("toPort"), 65535), _cidrs(i.get("cidrIpv4"), i.get("cidrIpv6")))


@openings("aws:ec2/securityGroupRule:SecurityGroupRule")
def _legacy_rule(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = r.inputs
    if i.get("type") == "ingress":
        yield Opening(r, _protocol(i.get("protocol")), int_or(i.get("fromPort"), 0), int_or(i.get("toPort"), 65535), _cidrs(i.get("cidrBlocks"), i.get("ipv6CidrBlocks")))


@openings("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def _inline_rules(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    for block in r.inputs.get("ingress") or []:
        yield Opening(r, _protocol(block.get("protocol")), int_or(block.get("fromPort"), 0), int_or(block.get("toPort"), 65535), _cidrs(block.get("cidrBlocks"), block.get("ipv6CidrBlocks")))


def _forwarded_groups(actions: Iterable[Any]) -> Iterator[str]:
    for action in actions or []:
        if not isinstance(action, dict) or action.get("type") != "forward":
            continue
        if action.get("targetGroupArn"):
            yield str(action["targetGroupArn"])
        for group in (action.get("forward") or {}).get("targetGroups") or []:
            if group.get("arn"):
                yield str(group["arn"])


def _target_ports(group_arn: str, plan: RecordedPlan) -> set[int]:
    group = plan.producer(group_arn, *TARGET_GROUPS)
    if group is None:
        return set()
    ports = {int_or(group.inputs.get("port"), 0)}
    for attachment in plan.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment", "aws:alb/targetGroupAttachment:TargetGroupAttachment"):
        if attachment.inputs.get("targetGroupArn") in (group.id, group.state.get("arn")) and attachment.inputs.get("port"):
            ports.add(int_or(attachment.inputs.get("port"), 0))
    return {p for p in ports if p}


@openings("aws:lb/listener:Listener", "aws:alb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
def _listener(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    listener = r
    if r.class_name == "ListenerRule":
        found = plan.producer(r.inputs.get("listenerArn"), "aws:lb/listener:Listener", "aws:alb/listener:Listener")
        if found is None:
            return
        listener = found
    balancer = plan.producer(listener.inputs.get("loadBalancerArn"), *LOAD_BALANCERS)
    if balancer is None or balancer.inputs.get("internal") is True:
        return
    actions = r.inputs.get("defaultActions") if r is listener else r.inputs.get("actions")
    for group_arn in _forwarded_groups(actions or []):
        ports = _target_ports(group_arn, plan)
        if not ports:  # a target group the plan does not hold: assume the worst
            yield Opening(r, "tcp", 0, 65535, INTERNET, via=f"listener {listener.inputs.get('port')} -> a target group outside this plan")
        for port in sorted(ports):
            yield Opening(r, "tcp", port, port, INTERNET, via=f"listener {listener.inputs.get('port')} -> target port {port}")


def _decoded(value: Any, encoded: bool) -> tuple[str | None, bool]:
    secret = isinstance(value, Secret)
    value = reveal(value)
    if not isinstance(value, str):
        return None, secret
    if encoded:
        try:
            return base64.b64decode(value, validate=True).decode(), secret
        except (binascii.Error, UnicodeDecodeError):
            return value, secret
    return value, secret


@user_data(INSTANCE)
def _instance_user_data(r: RecordedResource) -> list[UserData]:
    if r.inputs.get("userDataBase64"):
        text, secret = _decoded(r.inputs["userDataBase64"], encoded=True)
    else:
        text, secret = _decoded(r.inputs.get("userData"), encoded=False)
    return [UserData(r, text, USER_DATA_LIMIT, "EC2", secret)] if text is not None else []


@user_data(LAUNCH_TEMPLATE)
def _template_user_data(r: RecordedResource) -> list[UserData]:
    text, secret = _decoded(r.inputs.get("userData"), encoded=True)  # launch templates take base64
    return [UserData(r, text, USER_DATA_LIMIT, "EC2", secret)] if text is not None else []


@replacement_risk(INSTANCE)
def _instance_risk(r: RecordedResource, plan: RecordedPlan) -> ReplacementRisk:
    routine = routine_by_option(r)
    if r.inputs.get("userDataReplaceOnChange"):
        routine = "its user data changes with every image build (userDataReplaceOnChange)"
    holds = []
    kind = str(r.inputs.get("instanceType"))
    if catalog.gpus_of(kind):
        holds.append(f"GPU quota ({kind}: accounts often have exactly one host's worth of G-family vCPUs)")
    for attachment in plan.of_type("aws:ec2/volumeAttachment:VolumeAttachment"):
        if attachment.inputs.get("instanceId") == r.id:
            holds.append(f"the volume {attachment.inputs.get('volumeId')}, which attaches to one host at a time")
    if r.inputs.get("privateIp"):
        holds.append(f"the fixed address {r.inputs['privateIp']}")
    return ReplacementRisk(routine, holds)


@rule("alb-two-zones")
def alb_two_zones(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for alb in plan.of_type(*LOAD_BALANCERS):
        if alb.inputs.get("loadBalancerType", "application") != "application":
            continue
        ids = list(alb.inputs.get("subnets") or []) + [m.get("subnetId") for m in alb.inputs.get("subnetMappings") or []]
        zones: set[str] = set()
        unjudged: list[str] = []
        for subnet_id in ids:
            subnet = plan.producer(subnet_id, "aws:ec2/subnet:Subnet")
            zone = subnet.inputs.get("availabilityZone") or subnet.inputs.get("availabilityZoneId") if subnet else None
            if zone:
                zones.add(str(zone))
            else:
                unjudged.append(str(subnet_id))
        if len(zones) >= 2:
            continue
        if unjudged:
            problems.append(problem("alb-two-zones", "warning", alb, f"has subnets in {len(zones)} known zone(s); the zones of {', '.join(unjudged)} are not in this plan, so it could not be judged whether it spans the two zones an application load balancer needs"))
        else:
            problems.append(problem("alb-two-zones", "error", alb, f"has subnets in {len(zones)} availability zone(s) ({', '.join(sorted(zones)) or 'none'}); an application load balancer needs subnets in at least two"))
    return problems


@rule("imdsv2-required")
def imdsv2_required(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for vm in plan.of_type(INSTANCE, LAUNCH_TEMPLATE):
        tokens = (vm.inputs.get("metadataOptions") or {}).get("httpTokens")
        if tokens != "required":
            problems.append(problem("imdsv2-required", "error", vm, f"metadataOptions.httpTokens is {tokens!r}; it must be 'required' (IMDSv2) so a request forged through the app cannot read the instance's credentials"))
    return problems


# Policy documents of the AWS-managed policies this project has attached, so the
# rules read what a role really gets. Source: the AWS Managed Policy Reference
# (docs.aws.amazon.com/aws-managed-policy/latest/reference/), version noted.
MANAGED_POLICIES: Final = MappingProxyType(
    {
        # AmazonSSMManagedInstanceCore, v2 (2019-05-23).
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
                        "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
                        "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
                        "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
                        "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation",
                    ],
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Action": ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"],
                    "Resource": "*",
                },
            ],
        },
    }
)

POLICY_INPUTS: Final = MappingProxyType(
    {
        "aws:iam/rolePolicy:RolePolicy": "policy",
        "aws:iam/policy:Policy": "policy",
        "aws:iam/userPolicy:UserPolicy": "policy",
        "aws:iam/groupPolicy:GroupPolicy": "policy",
        "aws:s3/bucketPolicy:BucketPolicy": "policy",
        "aws:kms/key:Key": "policy",
    }
)
ATTACHMENTS: Final = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")


def policy_documents(plan: RecordedPlan) -> Iterator[tuple[RecordedResource, str, Any]]:
    """(resource, where, document) for every policy the plan creates or attaches.

    `document` is the JSON text, a parsed document (AWS-managed policies), or
    whatever else the input held (the rules report it as unreadable).
    """
    for r in plan.resources:
        key = POLICY_INPUTS.get(r.type)
        if key and key in r.inputs:
            yield r, key, reveal(r.inputs[key])
        if r.type == "aws:iam/role:Role":
            for inline in r.inputs.get("inlinePolicies") or []:
                yield r, f"inline policy {inline.get('name')!r}", reveal(inline.get("policy"))
            for arn in r.inputs.get("managedPolicyArns") or []:
                yield r, str(arn), MANAGED_POLICIES.get(str(arn), arn)
        if r.type in ATTACHMENTS:
            arn = str(reveal(r.inputs.get("policyArn")))
            if arn.startswith("arn:aws:iam::aws:policy/"):
                yield r, arn, MANAGED_POLICIES.get(arn, arn)


def _parsed(document: Any) -> dict[str, Any] | str:
    """A policy document as a dict, or a sentence saying why it could not be read."""
    if isinstance(document, dict):
        return document
    if isinstance(document, str) and document.startswith("arn:aws:iam::aws:policy/"):
        return f"is the AWS-managed policy {document}, whose document this check does not hold (add it to MANAGED_POLICIES in infra/aws/checks.py)"
    if not isinstance(document, str):
        return f"is not a policy document the plan can read ({type(document).__name__})"
    try:
        loaded = json.loads(document)
    except json.JSONDecodeError as error:
        return f"is not JSON: {error}"
    return loaded if isinstance(loaded, dict) else "is not a JSON object"


@rule("iam-policy")
def iam_policy(plan: RecordedPlan, root: Path) -> list[Problem]:
    documents = list(policy_documents(plan))
    if not documents:
        return []
    try:
        from parliament import analyze_policy_string
    except ImportError:
        return [problem("iam-policy", "warning", r, f"{where}: parliament is not installed here, so this policy was not linted (pip install parliament)") for r, where, _ in documents]
    problems = []
    for resource, where, document in documents:
        parsed = _parsed(document)
        if isinstance(parsed, str):
            unknown = "does not hold" in parsed
            problems.append(problem("iam-policy", "warning" if unknown else "error", resource, f"{where} {parsed}"))
            continue
        if resource.type == "aws:kms/key:Key":
            continue  # key policies name principals in every statement; parliament reads identity policies
        for finding in analyze_policy_string(json.dumps(parsed)).findings:
            problems.append(problem("iam-policy", "error", resource, f"{where}: parliament {finding.issue}: {finding.detail}"))
    return problems


# Actions that read a secret's value, and the wildcards that include them.
SECRET_READS: Final = ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory", "secretsmanager:GetSecretValue", "kms:Decrypt")


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def broad_secret_reads(document: dict[str, Any]) -> list[str]:
    """The secret-reading actions a document allows on every resource."""
    found: set[str] = set()
    statements = document.get("Statement") or []
    for statement in [statements] if isinstance(statements, dict) else statements:
        if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
            continue
        for pattern in _as_list(statement.get("Action")):
            found.update(a for a in SECRET_READS if fnmatch.fnmatchcase(a.lower(), pattern.lower()))
    return sorted(found)


@rule("secret-read-scoped")
def secret_read_scoped(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for resource, where, document in policy_documents(plan):
        if resource.type in ("aws:s3/bucketPolicy:BucketPolicy", "aws:kms/key:Key"):
            continue  # resource policies: their Resource is the bucket or key itself
        parsed = _parsed(document)
        if isinstance(parsed, str):
            continue  # iam-policy reports it
        broad = broad_secret_reads(parsed)
        if broad:
            problems.append(
                problem("secret-read-scoped", "error", resource, f"{where} allows {', '.join(broad)} on every resource: whoever holds it reads every secret in the account; scope it to the stack's own parameters and key")
            )
    return problems


def _vpc_of_subnets(plan: RecordedPlan, subnet_ids: Iterable[Any]) -> set[str]:
    vpcs = set()
    for subnet_id in subnet_ids:
        subnet = plan.producer(subnet_id, "aws:ec2/subnet:Subnet")
        if subnet is not None and subnet.inputs.get("vpcId"):
            vpcs.add(str(subnet.inputs["vpcId"]))
    return vpcs


@rule("lb-after-internet-gateway")
def lb_after_internet_gateway(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for lb in plan.of_type(*LOAD_BALANCERS):
        if lb.inputs.get("internal") is True:
            continue
        subnets = list(lb.inputs.get("subnets") or []) + [m.get("subnetId") for m in lb.inputs.get("subnetMappings") or []]
        vpcs = _vpc_of_subnets(plan, subnets)
        gateways = [
            g for g in plan.of_type("aws:ec2/internetGateway:InternetGateway", "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment")
            if g.inputs.get("vpcId") in vpcs
        ]
        if not gateways:
            problems.append(problem("lb-after-internet-gateway", "warning", lb, "is internet-facing, but its VPC's internet gateway is not in this plan, so the order could not be judged"))
            continue
        waits_for = plan.depends_transitively(lb)
        if not any(g.key in waits_for for g in gateways):
            problems.append(
                problem("lb-after-internet-gateway", "error", lb, f"is internet-facing but does not wait for the internet gateway {gateways[0].name}; ELB refuses it in a VPC without one (InvalidSubnet), so add dependsOn")
            )
    return problems


def _role_of(vm: RecordedResource, plan: RecordedPlan) -> RecordedResource | str | None:
    """The role behind a VM's instance profile; None without a profile, a sentence when it cannot be followed."""
    profile_ref = vm.inputs.get("iamInstanceProfile")
    if isinstance(profile_ref, dict):
        profile_ref = profile_ref.get("name") or profile_ref.get("arn")
    if not profile_ref:
        return None
    profile = plan.producer(profile_ref, "aws:iam/instanceProfile:InstanceProfile")
    if profile is None:
        return f"its instance profile {profile_ref} is not in this plan"
    role = plan.producer(profile.inputs.get("role"), "aws:iam/role:Role")
    return role if role is not None else f"the role of {profile.name} is not in this plan"


@rule("compute-after-role-policies")
def compute_after_role_policies(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for vm in plan.of_type(INSTANCE, LAUNCH_TEMPLATE):
        role = _role_of(vm, plan)
        if role is None:
            continue
        if isinstance(role, str):
            problems.append(problem("compute-after-role-policies", "warning", vm, f"{role}, so whether it waits for the role's policies could not be judged"))
            continue
        names = {role.id, str(role.state.get("name")), str(role.state.get("arn"))}
        policies = [
            p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if str(p.inputs.get("role")) in names
        ]
        waits_for = plan.depends_transitively(vm)
        for policy in policies:
            if policy.key not in waits_for:
                problems.append(
                    problem("compute-after-role-policies", "error", vm, f"does not wait for {policy.type.rsplit(':', 1)[-1]} {policy.name} of its role, so its boot script can run before the role may do what it needs; add dependsOn")
                )
    return problems


from infra.aws import ecs_checks as _ecs_checks  # noqa: E402,F401  (registers the ECS rules and the ECS workload adapter)
