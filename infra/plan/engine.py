"""The offline engine: run the real Pulumi program in-process under mocks and record it.

`record(stack, config, program)` configures Pulumi's runtime with `PlanMocks`
(which fill computed fields by type token and answer invokes) and a
`RecordingMonitor` (a `MockMonitor` that keeps every `RegisterResource`
request: type, name, parent, dependencies, protect, retainOnDelete and the
inputs as the engine receives them), runs the program the way the language
host does (`run_in_stack`), and returns a `RecordedPlan`.

Each call runs in a fresh `contextvars.Context`: Pulumi keeps its settings, its
config and its one root stack in context variables, so this is what gives
every stack a clean engine state inside one process.

What it does not do: talk to a provider, a cloud or the Pulumi CLI. Inputs a
provider would compute are the mocks' deterministic stand-ins.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import ROOT, configure
from pulumi.runtime.stack import run_in_stack

ACCOUNT_ID = "123456789012"
SECRET_PLACEHOLDER = "[secret]"


class Secret:
    """An input the program marked secret; its value is kept for checks, never printed."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return SECRET_PLACEHOLDER


@dataclass(frozen=True)
class ResourceKey:
    type: str
    name: str

    def as_json(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name}


@dataclass
class RecordedResource:
    type: str
    name: str
    custom: bool
    parent: ResourceKey | None
    inputs: dict[str, Any]
    dependencies: list[ResourceKey]
    protect: bool
    retain_on_delete: bool
    id: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.type, self.name)


@dataclass
class RecordedPlan:
    project: str
    stack: str
    config: Any
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    invokes: list[tuple[str, dict[str, Any]]]
    warnings: list[str]

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> RecordedResource:
        for resource in self.resources:
            if resource.type == type_ and resource.name == name:
                return resource
        raise KeyError(f"no {type_} named {name!r} in the plan of {self.stack}")

    def by_id(self, id_: str) -> RecordedResource | None:
        for resource in self.resources:
            if resource.custom and resource.id == id_:
                return resource
        return None

    def children_of(self, parent: ResourceKey) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent]


def _plain(value: Any) -> Any:
    """Deserialized RPC values -> JSON-able Python, with secrets wrapped in `Secret`."""
    if rpc.is_rpc_secret(value):
        return Secret(_plain(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    urn = getattr(value, "urn", None)  # a resource reference
    if urn is not None:
        return str(getattr(value, "_name", urn))
    return str(value)


def _fake_digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


class PlanMocks(pulumi_mocks.Mocks):
    """Deterministic stand-ins for what providers compute, keyed by type token."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, name = args.typ, args.name
        state: dict[str, Any] = dict(args.inputs)
        rid = f"{name}-id"
        module = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else ""
        if typ.startswith("aws:"):
            state.setdefault("arn", self._arn(module, f"{typ.rsplit(':', 1)[-1].lower()}/{name}"))
        if typ == "aws:ecr/repository:Repository":
            repo = state.get("name") or name
            state.update(
                repositoryUrl=f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{repo}",
                registryId=ACCOUNT_ID,
                arn=self._arn("ecr", f"repository/{repo}"),
            )
        elif typ == "aws:s3/bucket:Bucket":
            bucket = state.get("bucket") or f"{name}-{_fake_digest(name)[:7]}"
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", id=bucket)
            rid = bucket
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            group = state.get("name") or name
            state.update(name=group, arn=self._arn("logs", f"log-group:{group}"))
        elif typ in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"):
            kind = "role" if typ.endswith("Role") else "instance-profile"
            state.setdefault("name", name)
            state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{state['name']}"
        elif typ == "aws:ssm/parameter:Parameter":
            param = state.get("name") or name
            state.update(name=param, arn=self._arn("ssm", f"parameter{param}"))
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            state.update(
                dnsName=f"{name}-1234567890.{self.region}.elb.amazonaws.com",
                zoneId="Z35SXDOTRQ7X7K",
                arnSuffix=f"app/{name}/0123456789abcdef",
            )
        elif typ == "aws:ebs/volume:Volume":
            rid = "vol-" + _fake_digest(name)[:17]
            state["arn"] = self._arn("ec2", f"volume/{rid}")
        elif typ == "aws:ec2/instance:Instance":
            rid = "i-" + _fake_digest(name)[:17]
            state.update(privateIp="10.20.0.10", publicIp="203.0.113.10", arn=self._arn("ec2", f"instance/{rid}"))
        elif typ == "aws:acm/certificate:Certificate":
            domain = state.get("domainName", "example.com")
            state["domainValidationOptions"] = [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{_fake_digest(domain)[:32]}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{_fake_digest('v', domain)[:32]}.acm-validations.aws.",
                }
            ]
        elif typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "mock-" + _fake_digest("password", name)[:24]
        elif typ == "docker-build:index:Image":
            tags = state.get("tags") or [name]
            repo = str(tags[0]).rsplit(":", 1)[0]
            digest = "sha256:" + _fake_digest("image", name)
            state.update(digest=digest, ref=f"{repo}@{digest}")
        return rid, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.invokes.append((args.token, dict(args.args)))
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{z}" for z in "abc"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in (1, 2, 4)], "id": self.region}
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            # Like us-east-1, where not every zone offers every GPU type: only b and c here.
            kinds = [v for f in args.args.get("filters") or [] for v in f.get("values", [])]
            offered = [f"{self.region}{z}" for z in "bc"]
            return {
                "locations": offered * len(kinds),
                "locationTypes": ["availability-zone"] * len(offered) * len(kinds),
                "instanceTypes": [k for k in kinds for _ in offered],
                "id": self.region,
            }
        if token == "aws:ssm/getParameter:getParameter":
            name = str(args.args.get("name", ""))
            value = "ami-" + _fake_digest(name)[:17] if "/ami" in name else "mock-value"
            return {"name": name, "value": value, "type": "String", "id": name, "arn": self._arn("ssm", f"parameter{name}")}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "mock-ecr-password",
                "authorizationToken": "bW9jaw==",
                "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": self.region,
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan", "userId": "PLAN", "id": ACCOUNT_ID}
        if token in ("aws:index/getRegion:getRegion",):
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration request and the stack's outputs."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._by_urn: dict[str, ResourceKey] = {}
        self._by_key: dict[ResourceKey, RecordedResource] = {}
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}

    def _key(self, urn: str) -> ResourceKey | None:
        return self._by_urn.get(urn) if urn else None

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        key = ResourceKey(request.type, request.name)
        self._by_urn[response.urn] = key
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
        inputs = _plain(rpc.deserialize_properties(request.object)) if request.object else {}
        resource = RecordedResource(
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=self._key(request.parent),
            inputs=inputs,
            dependencies=[k for k in (self._key(u) for u in request.dependencies) if k is not None],
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            id=response.id,
        )
        registration = self.resources.get(response.urn)
        if registration is not None:
            resource.state = _plain(registration.state)
        self.recorded.append(resource)
        self._by_key[key] = resource
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn and request.outputs:
            self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _Warnings(logging.Handler):
    """Collects what the program logs at warning level (pulumi.log.warn) through the mock engine."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def record(
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    region: str,
    program: Callable[[], None],
    monitor: RecordingMonitor | None = None,
) -> tuple[RecordedPlan, PlanMocks]:
    """Run `program` as stack `stack` of `project` under mocks; return what it registered.

    Pass `monitor` to inspect what was registered even when the program raises.
    """
    mocks = monitor.mocks if monitor is not None and isinstance(monitor.mocks, PlanMocks) else PlanMocks(region)
    monitor = monitor if monitor is not None else RecordingMonitor(mocks)
    warnings = _Warnings()
    logger = logging.getLogger(f"dixi.plan.{stack}")
    logger.propagate = False
    logger.handlers = [warnings]

    def run() -> None:
        ROOT.set(None)
        settings = pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=pulumi_mocks.MockEngine(logger),
            project=project,
            stack=stack,
            dry_run=False,
            organization="organization",
            callbacks=None,
        )
        configure(settings)
        set_all_config(dict(config), secret_keys)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_in_stack(program))
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.close()
            asyncio.set_event_loop(None)

    contextvars.Context().run(run)
    plan = RecordedPlan(
        project=project,
        stack=stack,
        config=None,
        resources=monitor.recorded,
        outputs=monitor.stack_outputs,
        invokes=mocks.invokes,
        warnings=warnings.messages,
    )
    return plan, mocks
