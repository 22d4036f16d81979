"""How the cross-cloud rules read each cloud's resources: adapters registered per type token.

A cloud's `checks.py` registers, for each of its types that matters:
- `@openings(type, ...)`: the ways in the resource declares (a firewall rule,
  a security group, a load-balancer listener, a Kubernetes Service), as
  `Opening`s: protocol, ports, sources and, where the resource says, which
  app service the traffic reaches;
- `@user_data(type, ...)`: the boot documents a VM or VM template carries
  (some clouds take two, e.g. user data and a startup script), each with the
  size its cloud accepts and whether anyone but the VM can read it back
  (`readable_outside_host`, with the source that says so);
- `@workloads(type, ...)`: the sets of identical containers a resource runs
  (a Kubernetes Deployment), as `Workload`s: the app service, the most
  replicas it can run (autoscaling maximums included where the plan says
  them) and the env var names its container gets;
- `judged(type, why)`: a type that looks like an entry point or a VM but
  opens nothing and boots nothing by itself (an egress rule, a target group).

Workloads a VM boots are read from its user data, on every cloud at once:
`@user_data_workloads` registers a reader of boot documents (the compose file
of `infra.checks.userdata`), so a VM target with a `@user_data` adapter needs
no workload adapter of its own.

`checks-cover-entry-points` turns every VM, firewall or load-balancer-like
type in a plan that none of these cover into an error, so a new target can
never pass the security rules by being unreadable. A rule on workloads that
finds none of the service it judges in a plan that runs containers
(`runs_containers`) says it could not judge, rather than nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from infra.checks import Problem, problem, rule
from infra.plan.model import RecordedPlan, RecordedResource

INTERNET: Final = frozenset({"0.0.0.0/0", "::/0"})
ALL_PORTS: Final = (0, 65535)


@dataclass(frozen=True)
class Opening:
    """Traffic a resource lets in: from `sources` to ports `from_port`..`to_port`.

    `sources` are CIDRs (the internet is 0.0.0.0/0 or ::/0); `services` names
    the app services the traffic reaches when the resource says so (a
    Kubernetes Service's selector, an Ingress backend), empty when only the
    port tells.
    """

    resource: RecordedResource
    protocol: str
    from_port: int
    to_port: int
    sources: frozenset[str]
    services: frozenset[str] = field(default_factory=frozenset)
    via: str = ""  # how, for the message: "listener 443 -> target port 11434"

    @property
    def from_internet(self) -> frozenset[str]:
        return self.sources & INTERNET

    def covers(self, port: int) -> bool:
        return self.protocol in ("tcp", "all") and self.from_port <= port <= self.to_port


@dataclass(frozen=True)
class UserData:
    """The boot document of a VM: its text as the VM receives it, and the most its cloud accepts.

    `readable_outside_host` says whether anyone but the VM can read the
    document back once it is created: True where the cloud's API returns it
    to whoever may describe the VM (EC2 DescribeInstanceAttribute, Compute
    Engine metadata), False where only the VM itself is served it; the
    adapter that says False cites why in `reader_source`.
    """

    resource: RecordedResource
    text: str
    limit_bytes: int
    limit_source: str
    marked_secret: bool = False  # the program sent it as a secret: a secret value flowed into it
    readable_outside_host: bool = True
    reader_source: str = ""  # where the cloud says who can read it back (required when not readable outside the host)


@dataclass(frozen=True)
class Workload:
    """Identical containers a resource runs: which app service, at most how many at once, and their env.

    `service` is the app service the resource says it runs (a compose
    service's key, a pod's `app` label), or the container's own name.
    `max_replicas` counts every replica the resource can run, autoscaling
    included; None when the plan does not say (a VM template: how many hosts
    are made from it is not read). `env` holds the names of the env vars the
    container gets, however their values are delivered (plain, from a secret,
    from an env file); `unread_env` names the sources of env whose names the
    plan does not hold (a Secret created outside the program).
    """

    resource: RecordedResource
    service: str
    max_replicas: int | None
    env: frozenset[str]
    unread_env: tuple[str, ...] = ()
    via: str = ""  # how the replicas were counted, for the message: "spec.replicas 3"


OpeningsFn = Callable[[RecordedResource, RecordedPlan], Iterable[Opening]]
UserDataFn = Callable[[RecordedResource], list[UserData]]
WorkloadsFn = Callable[[RecordedResource, RecordedPlan], Iterable[Workload]]
UserDataWorkloadsFn = Callable[[UserData], Iterable[Workload]]

OPENINGS: dict[str, OpeningsFn] = {}
USER_DATA: dict[str, UserDataFn] = {}
WORKLOADS: dict[str, WorkloadsFn] = {}
USER_DATA_WORKLOADS: list[UserDataWorkloadsFn] = []
JUDGED: dict[str, str] = {}

# What makes a type an entry point or a VM, by the last part of its type token.
# A type that matches and that no adapter covers is an error: the rules cannot
# say what it exposes or boots.
_KINDS: Final = (
    ("VM or VM template", re.compile(r"^(Instance|\w*InstanceTemplate|LaunchTemplate|LaunchConfiguration|Droplet|VirtualMachine\w*|\w*ScaleSet|SpotInstanceRequest|SpotFleetRequest|\w*InstanceGroupManager|InstanceFrom\w+)$", re.I)),
    ("firewall", re.compile(r"(Firewall\w*|SecurityGroup\w*|SecurityRule|NetworkSecurityGroup|NetworkAcl\w*|NetworkPolicy)$", re.I)),
    ("load balancer or exposed service", re.compile(r"(LoadBalancer|Listener\w*|ForwardingRule|Target(Https?|Tcp|Ssl|Grpc)Proxy|Ingress|HTTPRoute|GRPCRoute|TCPRoute|TLSRoute|UDPRoute|Gateway)$", re.I)),
)
# VM types that stand for any number of hosts: what they boot runs once per host made from them.
_TEMPLATES: Final = re.compile(r"(Template|LaunchConfiguration|ScaleSet\w*|InstanceGroupManager|SpotFleetRequest)$", re.I)
# Kubernetes Services and Cloud Run services are reachable by themselves.
_SERVICE_TYPES: Final = re.compile(r"^(kubernetes:core/v1:Service|gcp:cloudrunv2/service:Service|gcp:cloudrun/service:Service)$")
# Packages whose types are the program's own components or the engine's.
_NOT_CLOUD: Final = ("dixi", "pulumi", "random", "docker-build")
# Types that run containers by themselves, besides VMs: Kubernetes workloads
# and Helm releases, ECS, Cloud Run, Azure Container Apps and Container
# Instances, DigitalOcean App Platform. Whether a workload adapter reads them
# or not, a plan that holds one runs the app somewhere.
_RUNS_CONTAINERS: Final = re.compile(
    r"^(kubernetes:(apps/v1\w*:(Deployment|StatefulSet|DaemonSet|ReplicaSet)|core/v1:Pod|batch/v1\w*:(Job|CronJob)|helm\.sh/v\d:(Release|Chart))"
    r"|aws:ecs/(taskDefinition:TaskDefinition|service:Service)|gcp:cloudrun(v2)?/(service:Service|job:Job)"
    r"|azure-native:(app:ContainerApp|containerinstance:ContainerGroup)|digitalocean:index/app:App)$"
)


def openings(*types: str) -> Callable[[OpeningsFn], OpeningsFn]:
    def register(fn: OpeningsFn) -> OpeningsFn:
        for type_ in types:
            OPENINGS[type_] = fn
        return fn

    return register


def user_data(*types: str) -> Callable[[UserDataFn], UserDataFn]:
    def register(fn: UserDataFn) -> UserDataFn:
        for type_ in types:
            USER_DATA[type_] = fn
        return fn

    return register


def workloads(*types: str) -> Callable[[WorkloadsFn], WorkloadsFn]:
    def register(fn: WorkloadsFn) -> WorkloadsFn:
        for type_ in types:
            WORKLOADS[type_] = fn
        return fn

    return register


def user_data_workloads(fn: UserDataWorkloadsFn) -> UserDataWorkloadsFn:
    """Register a reader of the workloads a VM boots from its user data (any cloud's)."""
    if fn not in USER_DATA_WORKLOADS:
        USER_DATA_WORKLOADS.append(fn)
    return fn


def judged(type_: str, why: str) -> None:
    JUDGED[type_] = why


def kind_of(type_: str) -> str | None:
    """What a type looks like (VM, firewall, load balancer), or None when it is none of those."""
    if type_.split(":", 1)[0] in _NOT_CLOUD:
        return None
    if _SERVICE_TYPES.match(type_):
        return "load balancer or exposed service"
    name = type_.rsplit(":", 1)[-1]
    for label, pattern in _KINDS:
        if pattern.search(name):
            return label
    return None


def all_openings(plan: RecordedPlan) -> list[Opening]:
    found: list[Opening] = []
    for resource in plan.resources:
        adapter = OPENINGS.get(resource.type)
        if adapter is not None:
            found.extend(adapter(resource, plan))
    return found


def all_user_data(plan: RecordedPlan) -> list[UserData]:
    found: list[UserData] = []
    for resource in plan.resources:
        adapter = USER_DATA.get(resource.type)
        if adapter is not None:
            found.extend(adapter(resource))
    return found


def all_workloads(plan: RecordedPlan) -> list[Workload]:
    """Every workload the adapters find: those resources run themselves, then those VMs boot."""
    found: list[Workload] = []
    for resource in plan.resources:
        adapter = WORKLOADS.get(resource.type)
        if adapter is not None:
            found.extend(adapter(resource, plan))
    for document in all_user_data(plan):
        for reader in USER_DATA_WORKLOADS:
            found.extend(reader(document))
    return found


def is_vm_template(type_: str) -> bool:
    """Whether VMs of `type_` stand for many hosts (a launch template, a scale set), not one."""
    return bool(_TEMPLATES.search(type_.rsplit(":", 1)[-1]))


def runs_containers(resource: RecordedResource) -> bool:
    """Whether `resource` runs the app's containers: a VM or VM template, or a type that runs them by itself."""
    if not resource.custom and not resource.type.startswith("kubernetes:helm.sh/"):
        return False
    return (
        resource.type in WORKLOADS
        or resource.type in USER_DATA
        or kind_of(resource.type) == "VM or VM template"
        or bool(_RUNS_CONTAINERS.match(resource.type))
    )


def int_or(value: object, default: int) -> int:
    """A port or count as an int (the engine sends numbers as floats), or `default` when it is not one."""
    if isinstance(value, bool):
        return default
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return default


def port_range(text: object) -> tuple[int, int]:
    """`"80"`, `"8000-8100"`, `"all"` or `"1-65535"` as (from, to); unreadable means every port."""
    found = str(text or "").strip().lower()
    if found in ("", "all", "*"):
        return ALL_PORTS
    low, _, high = found.partition("-")
    return int_or(low, 0), int_or(high or low, 65535)


@rule("checks-cover-entry-points")
def checks_cover_entry_points(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for resource in plan.resources:
        if not resource.custom:
            continue
        kind = kind_of(resource.type)
        if kind is None or resource.type in OPENINGS or resource.type in USER_DATA or resource.type in JUDGED:
            continue
        problems.append(
            problem(
                "checks-cover-entry-points",
                "error",
                resource,
                f"looks like a {kind}, but no check adapter reads {resource.type}, so the plan cannot say what it "
                "exposes or boots; register one in the cloud's infra/<cloud>/checks.py (openings, user_data or judged)",
            )
        )
    return problems
