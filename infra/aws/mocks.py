"""The offline engine's answers for pulumi-aws: computed outputs and the invokes the AWS stacks call.

Ids, ARNs and names are derived from the resource name, so every plan of a
stack is the same and every value is handed out once (the checks follow
references by value). Lookups answer like us-east-1 does in the ways that
matter to the program: three zones, of which only two offer the GPU types
(us-east-1e offers no g4dn at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from infra.aws import catalog
from infra.plan.mocking import InvokeAnswer, MockAnswers, MockContext, digest


def _region(ctx: MockContext) -> str:
    return str(getattr(ctx.config, "region", catalog.REGIONS[0]))


def _arn(ctx: MockContext, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{_region(ctx)}:{ctx.account_id}:{resource}"


def _every(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    module = typ.split(":")[1].split("/")[0]
    state.setdefault("arn", _arn(ctx, module, f"{typ.rsplit(':', 1)[-1].lower()}/{name}"))
    return None


def _repository(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    repo = state.get("name") or name
    state.update(
        name=repo,
        repositoryUrl=f"{ctx.account_id}.dkr.ecr.{_region(ctx)}.amazonaws.com/{repo}",
        registryId=ctx.account_id,
        arn=_arn(ctx, "ecr", f"repository/{repo}"),
    )
    return repo


def _bucket(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    bucket = state.get("bucket") or f"{name}-{digest(name)[:7]}"
    state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", id=bucket)
    return str(bucket)


def _log_group(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    group = state.get("name") or name
    state.update(name=group, arn=_arn(ctx, "logs", f"log-group:{group}"))
    return str(group)


def _iam(kind: str) -> Any:
    def answer(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
        state.setdefault("name", name)
        state["arn"] = f"arn:aws:iam::{ctx.account_id}:{kind}/{state['name']}"
        return str(state["name"])

    return answer


def _parameter(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    param = state.get("name") or name
    state.update(name=param, arn=_arn(ctx, "ssm", f"parameter{param}"))
    return str(param)


def _load_balancer(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state.update(
        dnsName=f"{name}-1234567890.{_region(ctx)}.elb.amazonaws.com",
        zoneId="Z35SXDOTRQ7X7K",
        arnSuffix=f"app/{name}/0123456789abcdef",
        arn=_arn(ctx, "elasticloadbalancing", f"loadbalancer/app/{name}/0123456789abcdef"),
    )
    return str(state["arn"])


def _volume(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "vol-" + digest(name)[:17]
    state["arn"] = _arn(ctx, "ec2", f"volume/{rid}")
    return rid


def _instance(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "i-" + digest(name)[:17]
    state.update(privateIp="10.20.0.10", publicIp="203.0.113.10", arn=_arn(ctx, "ec2", f"instance/{rid}"))
    return rid


def _prefixed(prefix: str) -> Any:
    def answer(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
        return f"{prefix}-{digest(typ, name)[:17]}"

    return answer


def _key(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    key_id = "{}-{}-{}-{}-{}".format(*(digest(name)[a:b] for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))))
    state.update(keyId=key_id, arn=_arn(ctx, "kms", f"key/{key_id}"))
    return key_id


def _certificate(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    domain = state.get("domainName", "example.com")
    state["domainValidationOptions"] = [
        {
            "domainName": domain,
            "resourceRecordName": f"_{digest(domain)[:32]}.{domain}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{digest('v', domain)[:32]}.acm-validations.aws.",
        }
    ]
    state["arn"] = _arn(ctx, "acm", f"certificate/{digest(name)[:36]}")
    return str(state["arn"])


def _record(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    state["fqdn"] = str(state.get("name", name)).rstrip(".")
    return f"{state.get('zoneId')}_{state['fqdn']}_{state.get('type')}"


def _serverless_cache(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    cache = str(state.get("name") or name)
    host = f"{cache}-{digest(name)[:6]}.serverless.{_region(ctx).replace('-', '')[:5]}.cache.amazonaws.com"
    state.update(
        endpoints=[{"address": host, "port": 6379}],
        readerEndpoints=[{"address": host, "port": 6380}],
        arn=_arn(ctx, "elasticache", f"serverlesscache:{cache}"),
    )
    return cache


def _file_system(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "fs-" + digest(name)[:17]
    state.update(arn=_arn(ctx, "elasticfilesystem", f"file-system/{rid}"), dnsName=f"{rid}.efs.{_region(ctx)}.amazonaws.com")
    return rid


def _access_point(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "fsap-" + digest(name)[:17]
    state["arn"] = _arn(ctx, "elasticfilesystem", f"access-point/{rid}")
    return rid


def _launch_template(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "lt-" + digest(name)[:17]
    state.update(latestVersion=1, defaultVersion=1, arn=_arn(ctx, "ec2", f"launch-template/{rid}"))
    return rid


def _auto_scaling_group(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    group = str(state.get("name") or f"{name}-{digest(name)[:7]}")
    state.update(name=group, arn=_arn(ctx, "autoscaling", f"autoScalingGroup:{digest('asg', name)[:36]}:autoScalingGroupName/{group}"))
    return group


def _named_arn(service: str, kind: str) -> Any:
    """Resources whose ARN ends in their (given) name: ECS clusters, services, capacity providers, Cloud Map namespaces."""

    def answer(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
        given = str(state.get("name") or name)
        state.update(name=given, arn=_arn(ctx, service, f"{kind}/{given}"))
        return None

    return answer


def _task_definition(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    family = str(state.get("family") or name)
    state.update(revision=1, arn=_arn(ctx, "ecs", f"task-definition/{family}:1"), arnWithoutRevision=_arn(ctx, "ecs", f"task-definition/{family}"))
    return family


def _ecs_service(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    service = str(state.get("name") or name)
    state["name"] = service
    return _arn(ctx, "ecs", f"service/{digest(str(state.get('cluster')))[:6]}/{service}")


def _eip(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "eipalloc-" + digest(name)[:17]
    state.update(allocationId=rid, publicIp="198.51.100." + str(int(digest(name)[:2], 16) % 250 + 1))
    return rid


def _namespace(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = "ns-" + digest(name)[:16]
    state.update(arn=_arn(ctx, "servicediscovery", f"namespace/{rid}"), httpName=state.get("name"))
    return rid


def _elasticache_user(ctx: MockContext, typ: str, name: str, state: dict[str, Any]) -> str | None:
    rid = str(state.get("userId") or state.get("userGroupId") or name)
    kind = "user" if "userId" in state else "usergroup"
    state["arn"] = _arn(ctx, "elasticache", f"{kind}:{rid}")
    return rid


def _zones(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    region = _region(ctx)
    return {"names": [f"{region}{z}" for z in "abc"], "zoneIds": [f"use1-az{i}" for i in (1, 2, 4)], "id": region}


def _offerings(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    # Like us-east-1, where not every zone offers every GPU type: only b and c here.
    kinds = [v for f in args.get("filters") or [] for v in f.get("values", [])]
    offered = [f"{_region(ctx)}{z}" for z in "bc"]
    return {
        "locations": offered * len(kinds),
        "locationTypes": ["availability-zone"] * len(offered) * len(kinds),
        "instanceTypes": [k for k in kinds for _ in offered],
        "id": _region(ctx),
    }


def _ssm_parameter(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    name = str(args.get("name", ""))
    value = "ami-" + digest(name)[:17] if "/ami" in name else "mock-value"
    return {"name": name, "value": value, "type": "String", "id": name, "arn": _arn(ctx, "ssm", f"parameter{name}")}


def _ecr_token(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "userName": "AWS",
        "password": "mock-ecr-password",
        "authorizationToken": "bW9jaw==",
        "proxyEndpoint": f"https://{ctx.account_id}.dkr.ecr.{_region(ctx)}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": _region(ctx),
    }


def _caller(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"accountId": ctx.account_id, "arn": f"arn:aws:iam::{ctx.account_id}:user/plan", "userId": "PLAN", "id": ctx.account_id}


def _region_invoke(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": _region(ctx), "region": _region(ctx), "id": _region(ctx)}


def _partition(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}


ZONES_INVOKE = "aws:index/getAvailabilityZones:getAvailabilityZones"
OFFERINGS_INVOKE = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"


def zone_answers(zones: list[str], offered: list[str]) -> dict[str, InvokeAnswer]:
    """Other answers for the zone lookups (an impaired zone, new offerings), to show what a later run would change."""

    def zones_answer(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"names": zones, "zoneIds": [f"use1-az{i}" for i, _ in enumerate(zones)], "id": _region(ctx)}

    def offerings_answer(ctx: MockContext, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"locations": offered, "locationTypes": ["availability-zone"] * len(offered), "instanceTypes": ["x"] * len(offered), "id": _region(ctx)}

    return {ZONES_INVOKE: zones_answer, OFFERINGS_INVOKE: offerings_answer}


MOCKS = MockAnswers(
    every_resource=_every,
    resources=MappingProxyType(
        {
            "aws:ecr/repository:Repository": _repository,
            "aws:s3/bucket:Bucket": _bucket,
            "aws:cloudwatch/logGroup:LogGroup": _log_group,
            "aws:iam/role:Role": _iam("role"),
            "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile"),
            "aws:iam/policy:Policy": _iam("policy"),
            "aws:ssm/parameter:Parameter": _parameter,
            "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
            "aws:ebs/volume:Volume": _volume,
            "aws:ec2/instance:Instance": _instance,
            "aws:ec2/vpc:Vpc": _prefixed("vpc"),
            "aws:ec2/subnet:Subnet": _prefixed("subnet"),
            "aws:ec2/internetGateway:InternetGateway": _prefixed("igw"),
            "aws:ec2/routeTable:RouteTable": _prefixed("rtb"),
            "aws:ec2/securityGroup:SecurityGroup": _prefixed("sg"),
            "aws:kms/key:Key": _key,
            "aws:acm/certificate:Certificate": _certificate,
            "aws:route53/record:Record": _record,
            "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache,
            "aws:elasticache/user:User": _elasticache_user,
            "aws:elasticache/userGroup:UserGroup": _elasticache_user,
            "aws:efs/fileSystem:FileSystem": _file_system,
            "aws:efs/accessPoint:AccessPoint": _access_point,
            "aws:efs/mountTarget:MountTarget": _prefixed("fsmt"),
            "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
            "aws:autoscaling/group:Group": _auto_scaling_group,
            "aws:ecs/cluster:Cluster": _named_arn("ecs", "cluster"),
            "aws:ecs/capacityProvider:CapacityProvider": _named_arn("ecs", "capacity-provider"),
            "aws:ecs/taskDefinition:TaskDefinition": _task_definition,
            "aws:ecs/service:Service": _ecs_service,
            "aws:servicediscovery/httpNamespace:HttpNamespace": _namespace,
            "aws:ec2/eip:Eip": _eip,
            "aws:ec2/natGateway:NatGateway": _prefixed("nat"),
            "aws:ec2/vpcEndpoint:VpcEndpoint": _prefixed("vpce"),
        }
    ),
    invokes=MappingProxyType(
        {
            ZONES_INVOKE: _zones,
            OFFERINGS_INVOKE: _offerings,
            "aws:ssm/getParameter:getParameter": _ssm_parameter,
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
            "aws:index/getCallerIdentity:getCallerIdentity": _caller,
            "aws:index/getRegion:getRegion": _region_invoke,
            "aws:index/getPartition:getPartition": _partition,
        }
    ),
)
