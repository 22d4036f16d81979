"""ECS rules and check adapters: what RegisterTaskDefinition, CreateService and Fargate enforce, and the app spec.

Under mocks a task definition's `containerDefinitions` is an opaque JSON
string that nothing reads until `pulumi up` hands it to ECS. These rules read
it (inputs as the plan records them, pulumi-aws 7.x camelCase names).

Adapters (read by the cross-cloud rules in `infra.checks`):
- workloads: an ECS service runs the containers of its task definition,
  `desiredCount` of them at once, up to the `maxCapacity` of the
  application autoscaling target (`ecs:service:DesiredCount`) that names it;
  each container's env names are its `environment` and `secrets` names
  (`environmentFiles` are reported as unread);
- judged: a NAT gateway, which lets nothing in.

Rules:
- `ecs-container-definitions`: every task definition's `containerDefinitions`
  parses as a JSON list and, with the task-level members the plan holds
  (family, network mode, compatibilities, cpu, memory, roles, runtime
  platform), validates against botocore's ECS model (`RegisterTaskDefinition`
  input): required members, unknown members, types, and every enum value,
  which botocore's own validator does not check; and what ECS refuses beyond
  the model (no containers, a container without a name or image, and on EC2
  without task memory a container without memory or memoryReservation).
- `fargate-task-size`: a task definition that requires FARGATE has a cpu and
  memory pair Fargate offers (`catalog.FARGATE_SIZES`).
- `ecs-gpu-placement`: a task that asks for GPUs never requires FARGATE nor
  runs on it, and every capacity provider its service is spread over has an
  Auto Scaling group whose instance types (every mixed-instances override)
  hold the task's GPUs; a provider, group or launch template the plan does
  not hold is reported as not judged.
- `ecs-log-options`: every `awslogs` log configuration uses only the options
  ECS documents, has a group and a region, and on Fargate a stream prefix.
- `ecs-matches-spec`: every container named after an app service serves the
  spec's port, probes its liveness path, gets exactly the env names the spec
  gives it, its secrets through `secrets`, the GPUs the spec gives it, and the
  target group in front of it uses the spec's port and readiness path.

- `ecs-capacity-teardown`: `pulumi destroy` can delete every capacity
  provider of EC2 instances: nothing keeps its instances alive (managed
  termination protection off, the group does not protect new instances from
  scale in, `forceDelete` on the group), its group is deleted before the
  cluster its instances join (the group waits for the cluster), and every
  service placed on it is deleted before the cluster lets go of it (the
  service waits for the cluster's capacity providers). Without these,
  destroy stops at `ClusterContainsContainerInstancesException` or an
  Auto Scaling group that never empties (pulumi/pulumi-aws#1621,
  hashicorp/terraform-provider-aws#11409 and #18849, aws/containers-roadmap#2862).

What it leaves alone: task `volumes` (pulumi-aws's shape differs from the
API's: `hostPath`, not `host.sourcePath`), whether a capacity provider is
associated with the service's cluster, and the values (not the names) of
env vars. A rule never calls what it could not read clean: unparseable JSON,
a reference it cannot follow and a missing botocore are warnings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from infra import spec
from infra.aws import catalog
from infra.aws.checks import LAUNCH_TEMPLATE, TARGET_GROUPS
from infra.checks import Problem, problem, rule
from infra.checks.adapters import Workload, int_or, judged, workloads
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

TASK_DEFINITION: Final = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE: Final = "aws:ecs/service:Service"
CLUSTER: Final = "aws:ecs/cluster:Cluster"
CAPACITY_PROVIDER: Final = "aws:ecs/capacityProvider:CapacityProvider"
CLUSTER_CAPACITY_PROVIDERS: Final = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
AUTO_SCALING_GROUP: Final = "aws:autoscaling/group:Group"
SCALING_TARGET: Final = "aws:appautoscaling/target:Target"
# The capacity providers AWS gives every cluster; neither offers GPUs:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
FARGATE_PROVIDERS: Final = frozenset({"FARGATE", "FARGATE_SPOT"})

# The awslogs options ECS documents, from botocore's ECS model (the
# documentation of LogConfiguration.options in botocore/data/ecs/2014-11-13/
# service-2.json, which is the API reference's text): awslogs-create-group,
# awslogs-region (required), awslogs-group (required), awslogs-stream-prefix
# ("Required: Yes, when using Fargate"), awslogs-datetime-format,
# awslogs-multiline-pattern, mode (non-blocking | blocking), max-buffer-size.
# awslogs-endpoint is listed in the developer guide's page
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
# (and Docker's awslogs driver accepts it). The plain Docker vocabulary, which
# refuses awslogs-stream-prefix, is `compose-log-options` in infra/checks/userdata.py.
AWSLOGS_OPTIONS: Final = frozenset({
    "awslogs-create-group", "awslogs-region", "awslogs-group", "awslogs-stream-prefix", "awslogs-datetime-format",
    "awslogs-multiline-pattern", "mode", "max-buffer-size", "awslogs-endpoint",
})  # fmt: skip
AWSLOGS_REQUIRED: Final = ("awslogs-group", "awslogs-region")
AWSLOGS_FARGATE_REQUIRED: Final = "awslogs-stream-prefix"
AWSLOGS_MODES: Final = ("non-blocking", "blocking")
# Only one of the two multiline options may be set (LogConfiguration.options, same source).
AWSLOGS_EXCLUSIVE: Final = ("awslogs-datetime-format", "awslogs-multiline-pattern")

# The task-level members of RegisterTaskDefinition whose pulumi-aws input has
# the API's shape, validated with the container definitions. `volumes` is left
# out: pulumi-aws takes `hostPath`, the API `host.sourcePath`.
_TASK_MEMBERS: Final = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "runtimePlatform")  # fmt: skip
_LONGEST: Final = 300  # characters of one botocore finding kept in a message
# The model marks no member of ContainerDefinition required, but ECS refuses a
# container without these ("ClientException: Container.image should not be
# null or empty"); the API reference describes both as what identifies and starts it.
_CONTAINER_REQUIRED: Final = ("name", "image")

judged("aws:ec2/natGateway:NatGateway", "egress only: translates connections the VPC opens, lets nothing in")


# --- reading task definitions -------------------------------------------------------------------


def containers_of(task: RecordedResource) -> list[Any] | str:
    """The parsed `containerDefinitions` of a task definition, or a sentence saying why they could not be read."""
    value = reveal(task.inputs.get("containerDefinitions"))
    if not isinstance(value, str):
        return f"containerDefinitions is not a JSON string (the plan holds {type(value).__name__})"
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        return f"containerDefinitions is not JSON ({error})"
    if not isinstance(parsed, list):
        return f"containerDefinitions is a JSON {type(parsed).__name__}, not the list of containers ECS takes"
    return parsed


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _name(container: Any, index: int) -> str:
    found = container.get("name") if isinstance(container, dict) else None
    return str(found) if found else f"#{index}"


def requires_fargate(task: RecordedResource) -> bool:
    return "FARGATE" in (reveal(task.inputs.get("requiresCompatibilities")) or [])


def container_gpus(container: dict[str, Any]) -> int:
    """GPUs a container asks for (its `resourceRequirements` of type GPU)."""
    return sum(int_or(r.get("value"), 0) for r in _dicts(container.get("resourceRequirements")) if r.get("type") == "GPU")


def task_gpus(containers: list[Any]) -> int:
    """GPUs one task needs on one instance: what its containers ask for, added up."""
    return sum(container_gpus(c) for c in _dicts(containers))


def _env_names(container: dict[str, Any]) -> tuple[set[str], set[str]]:
    plain = {str(e.get("name")) for e in _dicts(container.get("environment")) if e.get("name")}
    secret = {str(e.get("name")) for e in _dicts(container.get("secrets")) if e.get("name")}
    return plain, secret


def _not_judged(rule_name: str, task: RecordedResource, reason: str, what: str) -> Problem:
    return problem(rule_name, "warning", task, f"{reason}, so {what} could not be judged")


# --- ecs-container-definitions ------------------------------------------------------------------


@cache
def register_task_definition_shape() -> StructureShape | str:
    """The input shape of ECS RegisterTaskDefinition in botocore's model, or why it could not be loaded."""
    try:
        import botocore
        import botocore.session
    except ImportError:
        return "botocore is not importable here (it comes with boto3)"
    try:
        model = botocore.session.get_session().get_service_model("ecs")
        shape = model.operation_model("RegisterTaskDefinition").input_shape
    except Exception as error:  # a broken or partial botocore install: say so rather than crash the plan
        return f"botocore {botocore.__version__} has no usable ECS model ({error})"
    return shape if shape is not None else "botocore's ECS RegisterTaskDefinition has no input shape"


def enum_errors(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """Every string under `value` whose shape has an enum it is not in (botocore's validator skips enums)."""
    from botocore.model import ListShape, MapShape, StringShape, StructureShape

    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is not None:
                yield from enum_errors(item, member, f"{path}.{key}" if path else key)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from enum_errors(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            yield from enum_errors(key, shape.key, f"{path} (a key)")
            yield from enum_errors(item, shape.value, f"{path}.{key}")
    elif isinstance(shape, StringShape) and isinstance(value, str) and shape.enum and value not in shape.enum:
        yield f"{path} is {value!r}, which ECS refuses; the model's {shape.name} allows {', '.join(shape.enum)}"


def _request(task: RecordedResource, containers: list[Any]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    for key in _TASK_MEMBERS:
        value = reveal(task.inputs.get(key))
        if value is None:
            continue
        # pulumi-aws takes cpu and memory as strings; a number the engine sent as a float is the same string
        if key in ("cpu", "memory") and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(int(value))
        request[key] = value
    request["containerDefinitions"] = containers
    return request


_CONTAINER_PATH: Final = re.compile(r"containerDefinitions\[(\d+)\]")


def _where(line: str, containers: list[Any]) -> str:
    """`line` prefixed with the container it is about (botocore names only the index)."""
    found = _CONTAINER_PATH.search(line)
    if found is None:
        return line
    index = int(found.group(1))
    name = _name(containers[index], index) if index < len(containers) else f"#{index}"
    return f"container {name!r}: {line}"


def _shortened(line: str, secret: bool) -> str:
    if secret:  # botocore quotes the offending value; a secret-marked blob must not leak through it
        line = re.sub(r"value: .*?, (type|valid min)", r"value: [secret], \1", line)
    return line if len(line) <= _LONGEST else line[: _LONGEST - 3] + "..."


def _refused_beyond_the_model(task: RecordedResource, containers: list[Any]) -> list[str]:
    """What RegisterTaskDefinition refuses that its model does not say (ClientException messages quoted)."""
    if not containers:
        return ["containerDefinitions is empty, and ECS refuses a task without containers (\"Container list cannot be empty\")"]
    found = [
        f"containerDefinitions[{index}] has no {key}, which ECS requires of every container (\"Container.{key} should not be null or empty\")"
        for index, container in enumerate(containers) if isinstance(container, dict)
        for key in _CONTAINER_REQUIRED if not container.get(key)
    ]  # fmt: skip
    # "If you're using the EC2 launch type, you must specify either a task-level memory value or a
    # container-level memory value": the memory parameter of
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html
    if "EC2" in (reveal(task.inputs.get("requiresCompatibilities")) or ["EC2"]) and not task.inputs.get("memory"):
        found += [
            f"containerDefinitions[{index}] sets neither memory nor memoryReservation, which ECS requires on EC2 when the task sets no memory"
            for index, container in enumerate(containers)
            if isinstance(container, dict) and not container.get("memory") and not container.get("memoryReservation")
        ]
    return found


@rule("ecs-container-definitions")
def ecs_container_definitions(plan: RecordedPlan, root: Path) -> list[Problem]:
    tasks = plan.of_type(TASK_DEFINITION)
    if not tasks:
        return []
    shape = register_task_definition_shape()
    problems = []
    for task in tasks:
        containers = containers_of(task)
        if isinstance(containers, str):
            problems.append(problem("ecs-container-definitions", "error", task, f"{containers}; RegisterTaskDefinition takes a JSON list of container definitions"))
            continue
        if isinstance(shape, str):
            problems.append(_not_judged("ecs-container-definitions", task, shape, "whether ECS accepts its container definitions"))
            continue
        from botocore.validate import ParamValidator

        request = _request(task, containers)
        secret = isinstance(task.inputs.get("containerDefinitions"), Secret)
        report = ParamValidator().validate(request, shape)
        found = [f"{line} (botocore's ECS model, RegisterTaskDefinition)" for line in report.generate_report().splitlines()] if report.has_errors() else []
        found += list(enum_errors(request, shape, ""))
        found += _refused_beyond_the_model(task, containers)
        for line in found:
            problems.append(problem("ecs-container-definitions", "error", task, _shortened(_where(line, containers), secret)))
    return problems


# --- fargate-task-size ----------------------------------------------------------------------------

_VCPU: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*vcpu$", re.I)
_GB: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*gb$", re.I)


def _units(value: Any, unit: re.Pattern[str], per_unit: int) -> int | None:
    """An ECS cpu (units, or "1 vCPU") or memory (MiB, or "2 GB") value as an int; None when it is neither."""
    text = str(value).strip()
    scaled = unit.match(text)
    if scaled:
        return round(float(scaled.group(1)) * per_unit)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _sizes(values: tuple[int, ...]) -> str:
    steps = {b - a for a, b in pairwise(values)}
    if len(values) > 3 and len(steps) == 1:
        return f"{values[0]} to {values[-1]} MiB in steps of {steps.pop()}"
    return f"{', '.join(map(str, values))} MiB"


def fargate_size_error(cpu: Any, memory: Any) -> str | None:
    """Why Fargate refuses this task cpu and memory, or None when it offers that size."""
    sizes = ", ".join(str(c) for c in catalog.FARGATE_SIZES)
    if cpu is None or memory is None:
        missing = " and ".join(k for k, v in (("cpu", cpu), ("memory", memory)) if v is None)
        return f"sets no task {missing}, which Fargate requires; it offers cpu {sizes} with the memory sizes each allows"
    units, mib = _units(cpu, _VCPU, 1024), _units(memory, _GB, 1024)
    allowed = catalog.FARGATE_SIZES.get(units) if units is not None else None
    if units is None or allowed is None:
        return f"asks for task cpu {cpu!r}; Fargate offers cpu {sizes} (CPU units)"
    if mib not in allowed:
        return f"asks for task memory {memory!r} with cpu {units}; with cpu {units} Fargate offers {_sizes(allowed)}"
    return None


@rule("fargate-task-size")
def fargate_task_size(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for task in plan.of_type(TASK_DEFINITION):
        if not requires_fargate(task):
            continue
        error = fargate_size_error(reveal(task.inputs.get("cpu")), reveal(task.inputs.get("memory")))
        if error:
            problems.append(problem("fargate-task-size", "error", task, f"requires FARGATE but {error}"))
    return problems


# --- ecs-gpu-placement ----------------------------------------------------------------------------


def _capacity_provider(plan: RecordedPlan, name: str) -> RecordedResource | None:
    for provider in plan.of_type(CAPACITY_PROVIDER):
        if name in (provider.inputs.get("name"), provider.state.get("name")):
            return provider
    return plan.producer(name, CAPACITY_PROVIDER)


class _Unread(Exception):
    """A reference the plan cannot follow; its message says which."""


def _template_type(plan: RecordedPlan, ref: Any, where: str) -> str:
    template = plan.producer(ref, LAUNCH_TEMPLATE)
    if template is None:
        raise _Unread(f"the launch template {ref} of {where} is not in this plan")
    if not template.inputs.get("instanceType"):
        raise _Unread(f"the launch template {template.name} of {where} sets no instanceType")
    return str(template.inputs["instanceType"])


def _group_types(plan: RecordedPlan, provider: RecordedResource) -> list[str]:
    group_arn = (provider.inputs.get("autoScalingGroupProvider") or {}).get("autoScalingGroupArn")
    group = plan.producer(group_arn, AUTO_SCALING_GROUP)
    if group is None:
        raise _Unread(f"the Auto Scaling group {group_arn} of capacity provider {provider.name} is not in this plan")
    where = f"the Auto Scaling group {group.name}"
    mixed = (group.inputs.get("mixedInstancesPolicy") or {}).get("launchTemplate") or {}
    if not mixed:
        template = group.inputs.get("launchTemplate") or {}
        if not (template.get("id") or template.get("name")):
            raise _Unread(f"{where} launches from no launch template the plan names")
        return [_template_type(plan, template.get("id") or template.get("name"), where)]
    overrides = _dicts(mixed.get("overrides"))
    if not overrides:
        specification = mixed.get("launchTemplateSpecification") or {}
        return [_template_type(plan, specification.get("launchTemplateId") or specification.get("launchTemplateName"), where)]
    types = []
    for override in overrides:
        own = override.get("launchTemplateSpecification") or {}
        if override.get("instanceType"):
            types.append(str(override["instanceType"]))
        elif own:
            types.append(_template_type(plan, own.get("launchTemplateId") or own.get("launchTemplateName"), where))
        else:
            raise _Unread(f"an override of {where} chooses instances by requirements, not by type")
    return types


def instance_types(plan: RecordedPlan, provider: RecordedResource) -> list[str] | str:
    """Every instance type the Auto Scaling group of a capacity provider may launch, or why they cannot be read.

    A mixed instances policy launches any of its overrides' types (each from
    the override's own launch template when it names one); without overrides,
    the type of its launch template.
    """
    try:
        return _group_types(plan, provider)
    except _Unread as unread:
        return str(unread)


def _strategy(plan: RecordedPlan, service: RecordedResource) -> list[dict[str, Any]] | None:
    """The service's capacity provider strategy, else its cluster's default one (when it sets no launch type).

    None when the service leaves it to a cluster the plan does not hold.
    """
    own = _dicts(service.inputs.get("capacityProviderStrategies"))
    if own or service.inputs.get("launchType"):
        return own
    cluster = plan.producer(service.inputs.get("cluster"), CLUSTER)
    if cluster is None:
        return None
    for association in plan.of_type(CLUSTER_CAPACITY_PROVIDERS):
        if plan.producer(association.inputs.get("clusterName"), CLUSTER) is cluster:
            return _dicts(association.inputs.get("defaultCapacityProviderStrategies"))
    return []


def _gpu_service_problems(plan: RecordedPlan, service: RecordedResource, task: RecordedResource, needed: int) -> list[Problem]:
    rule_name = "ecs-gpu-placement"
    runs = f"runs {task.name}, whose containers need {needed} GPU(s) on one instance,"
    if service.inputs.get("launchType") == "FARGATE":
        return [problem(rule_name, "error", service, f"{runs} with launchType FARGATE, which offers no GPUs; place it with a capacity provider strategy on GPU instances")]
    strategy = _strategy(plan, service)
    if strategy is None:
        return [problem(rule_name, "warning", service, f"names no capacity provider and its cluster {service.inputs.get('cluster')} is not in this plan, so whether the default strategy gives {task.name} its {needed} GPU(s) could not be judged")]
    if not strategy:
        return [problem(rule_name, "error", service, f"{runs} but names no capacity provider (launchType {service.inputs.get('launchType') or 'unset'}), so nothing in the plan gives it GPU instances; give it a capacity provider strategy whose Auto Scaling group launches a GPU type")]
    problems = []
    for entry in strategy:
        if int_or(entry.get("weight"), 0) == 0 and int_or(entry.get("base"), 0) == 0:
            continue  # ECS places no task on a provider with weight 0 and no base
        name = str(entry.get("capacityProvider") or "")
        if name in FARGATE_PROVIDERS:
            problems.append(problem(rule_name, "error", service, f"{runs} but its capacity provider strategy includes {name}, which offers no GPUs; use only capacity providers on GPU instances"))
            continue
        provider = _capacity_provider(plan, name)
        if provider is None:
            problems.append(problem(rule_name, "warning", service, f"its capacity provider {name!r} is not in this plan, so whether it has the {needed} GPU(s) {task.name} needs could not be judged"))
            continue
        types = instance_types(plan, provider)
        if isinstance(types, str):
            problems.append(problem(rule_name, "warning", service, f"{types}, so whether capacity provider {provider.name} has the {needed} GPU(s) {task.name} needs could not be judged"))
            continue
        short = [f"{t} ({catalog.gpus_of(t)} GPU)" for t in types if catalog.gpus_of(t) < needed]
        if short:
            problems.append(problem(rule_name, "error", service, f"{runs} but capacity provider {provider.name} may launch {', '.join(short)}, where it would never be placed; every instance type of its Auto Scaling group needs {needed} GPU(s) or more"))
    return problems


@rule("ecs-gpu-placement")
def ecs_gpu_placement(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    needs: dict[str, int] = {}  # task definition name -> GPUs one task needs
    for task in plan.of_type(TASK_DEFINITION):
        containers = containers_of(task)
        if isinstance(containers, str):
            problems.append(_not_judged("ecs-gpu-placement", task, containers, "whether it needs GPUs and where it runs"))
            continue
        needs[task.name] = task_gpus(containers)
        if needs[task.name] and requires_fargate(task):
            problems.append(problem("ecs-gpu-placement", "error", task, f"asks for {needs[task.name]} GPU(s) but requiresCompatibilities includes FARGATE, which offers no GPUs; require EC2 and run it on a GPU capacity provider"))
    for service in plan.of_type(SERVICE):
        ref = service.inputs.get("taskDefinition")
        runs = plan.producer(ref, TASK_DEFINITION)
        if runs is None:
            problems.append(problem("ecs-gpu-placement", "warning", service, f"its task definition {ref} is not in this plan, so whether it needs GPUs and gets them could not be judged"))
            continue
        if needs.get(runs.name):
            problems.extend(_gpu_service_problems(plan, service, runs, needs[runs.name]))
    return problems


# --- ecs-log-options ------------------------------------------------------------------------------


def awslogs_errors(containers: list[Any], fargate: bool) -> list[str]:
    """Why ECS would refuse or mis-route the awslogs configuration of each container; empty when none."""
    found = []
    for index, container in enumerate(containers):
        config = container.get("logConfiguration") if isinstance(container, dict) else None
        if not isinstance(config, dict) or config.get("logDriver") != "awslogs":
            continue
        name = _name(container, index)
        given = config.get("options")
        options: dict[str, Any] = given if isinstance(given, dict) else {}
        unknown = sorted(set(options) - AWSLOGS_OPTIONS)
        if unknown:
            found.append(f"container {name!r} passes awslogs the option(s) {', '.join(unknown)}, which ECS's awslogs driver does not take; it takes {', '.join(sorted(AWSLOGS_OPTIONS))}")
        missing = [key for key in AWSLOGS_REQUIRED if not options.get(key)]
        if missing:
            found.append(f"container {name!r} logs with awslogs without {' and '.join(missing)}, which ECS requires")
        if fargate and not options.get(AWSLOGS_FARGATE_REQUIRED):
            found.append(f"container {name!r} logs with awslogs without {AWSLOGS_FARGATE_REQUIRED}, which ECS requires on Fargate (its streams are named prefix/container/task-id)")
        if "mode" in options and options["mode"] not in AWSLOGS_MODES:
            found.append(f"container {name!r} sets awslogs mode {options['mode']!r}; ECS takes {' or '.join(AWSLOGS_MODES)}")
        if all(key in options for key in AWSLOGS_EXCLUSIVE):
            found.append(f"container {name!r} sets both {' and '.join(AWSLOGS_EXCLUSIVE)}; ECS takes one of them")
    return found


@rule("ecs-log-options")
def ecs_log_options(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for task in plan.of_type(TASK_DEFINITION):
        containers = containers_of(task)
        if isinstance(containers, str):
            problems.append(_not_judged("ecs-log-options", task, containers, "its containers' log options"))
            continue
        problems.extend(problem("ecs-log-options", "error", task, message) for message in awslogs_errors(containers, requires_fargate(task)))
    return problems


# --- ecs-matches-spec -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecEnv:
    """The env names the spec gives a service: those it must get, those it may get, and which are secrets."""

    required: frozenset[str]
    allowed: frozenset[str]
    secrets: frozenset[str]

    @classmethod
    def of(cls, service: spec.Service) -> SpecEnv:
        plain = frozenset(spec.service_env(service, lambda s: "h", "m"))
        required = plain | frozenset(service.secret_env)
        bus = service.event_bus
        optional = frozenset({bus.url_env, bus.password_env}) if bus else frozenset()
        secrets = frozenset(service.secret_env) | (frozenset({bus.password_env}) if bus else frozenset())
        return cls(required, required | optional, secrets)


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def container_spec_errors(container: dict[str, Any], service: spec.Service) -> list[str]:
    """How a container named after an app service differs from what the spec says of that service."""
    found = []
    name = service.name
    ports = sorted({int_or(p.get("containerPort"), 0) for p in _dicts(container.get("portMappings"))})
    if service.port not in ports:
        found.append(f"container {name!r} maps port(s) {_listed(map(str, ports))}, but spec.py serves {name} on {service.port}")
    health = container.get("healthCheck")
    if isinstance(health, dict):
        parts = [str(part) for part in health.get("command") or []]
        # ["CMD", args...] or ["CMD-SHELL", "a shell line"]: either probes the liveness path or runs the spec's own check
        runs = parts[1:] if parts[:1] == ["CMD"] else " ".join(parts[1:]).split() if parts[:1] == ["CMD-SHELL"] else parts
        if service.liveness.path not in " ".join(parts) and (not service.health_command or runs != list(service.health_command)):
            own = f" or run {' '.join(service.health_command)!r}" if service.health_command else ""
            found.append(f"container {name!r} has a healthCheck {parts!r} that does not probe {name}'s liveness path {service.liveness.path}{own} (spec.py)")
    plain, secret = _env_names(container)
    wanted = SpecEnv.of(service)
    extra = (plain | secret) - wanted.allowed
    if extra:
        found.append(f"container {name!r} gets {_listed(extra)}, which spec.py does not give {name}; it gives {_listed(wanted.allowed)}")
    missing = wanted.required - plain - secret
    if missing:
        found.append(f"container {name!r} does not get {_listed(missing)}, which spec.py gives {name} (its wiring to the other services and its secrets)")
    leaked = plain & wanted.secrets
    if leaked:
        found.append(f"container {name!r} gets the secret(s) {_listed(leaked)} as plain environment, readable by anyone who can describe the task definition; pass them in secrets (valueFrom a parameter or secret ARN)")
    gpus, least, most = container_gpus(container), spec.gpus(service, False), spec.gpus(service, True)
    if not least <= gpus <= most:
        allowed = str(least) if least == most else f"{least} to {most} (opt-in)"
        found.append(f"container {name!r} asks for {gpus} GPU(s); spec.py gives {name} {allowed}")
    return found


def _target_group_errors(plan: RecordedPlan, service: RecordedResource, names: set[str]) -> list[Problem]:
    problems = []
    for balancer in _dicts(service.inputs.get("loadBalancers")):
        container = str(balancer.get("containerName") or "")
        if container not in names:
            problems.append(problem("ecs-matches-spec", "error", service, f"sends load balancer traffic to container {container!r}, which its task definition does not have ({_listed(names)})"))
            continue
        app = spec.BY_NAME.get(container)
        if app is None:
            continue
        port = int_or(balancer.get("containerPort"), 0)
        if port != app.port:
            problems.append(problem("ecs-matches-spec", "error", service, f"sends load balancer traffic to {container} on port {port}, but spec.py serves {container} on {app.port}"))
        ref = balancer.get("targetGroupArn")
        group = plan.producer(ref, *TARGET_GROUPS)
        if group is None:
            problems.append(problem("ecs-matches-spec", "warning", service, f"its target group {ref} is not in this plan, so whether it checks {container}'s port and readiness path could not be judged"))
            continue
        group_port = int_or(group.inputs.get("port"), 0)
        if group_port != app.port:
            problems.append(problem("ecs-matches-spec", "error", group, f"has port {group_port}, but it sends traffic to {container}, which spec.py serves on {app.port}"))
        path = (group.inputs.get("healthCheck") or {}).get("path")
        if path != app.readiness.path:
            problems.append(problem("ecs-matches-spec", "error", group, f"checks health at {path!r}, but {container}'s readiness path is {app.readiness.path!r} (spec.py)"))
    return problems


@rule("ecs-matches-spec")
def ecs_matches_spec(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for task in plan.of_type(TASK_DEFINITION):
        containers = containers_of(task)
        if isinstance(containers, str):
            problems.append(_not_judged("ecs-matches-spec", task, containers, "whether its containers match spec.py"))
            continue
        for container in _dicts(containers):
            app = spec.BY_NAME.get(str(container.get("name")))
            if app is not None:  # a sidecar (say, models-sync) is not an app service: nothing to match
                problems.extend(problem("ecs-matches-spec", "error", task, message) for message in container_spec_errors(container, app))
    for service in plan.of_type(SERVICE):
        if not service.inputs.get("loadBalancers"):
            continue
        ref = service.inputs.get("taskDefinition")
        runs = plan.producer(ref, TASK_DEFINITION)
        found = containers_of(runs) if runs is not None else f"its task definition {ref} is not in this plan"
        if isinstance(found, str):
            problems.append(problem("ecs-matches-spec", "warning", service, f"{found}, so whether its load balancers reach the containers spec.py describes could not be judged"))
            continue
        problems.extend(_target_group_errors(plan, service, {_name(c, i) for i, c in enumerate(found)}))
    return problems


# --- workloads --------------------------------------------------------------------------------------


def _service_name(service: RecordedResource) -> str:
    return str(service.state.get("name") or service.inputs.get("name") or service.name)


def _autoscaling_max(plan: RecordedPlan, service: RecordedResource) -> int | None:
    """The largest maxCapacity of the ECS autoscaling targets that scale `service`, None when none does."""
    name = _service_name(service)
    cluster = plan.producer(service.inputs.get("cluster"), CLUSTER)
    cluster_name = str(cluster.state.get("name") or cluster.inputs.get("name") or "") if cluster else ""
    found = None
    for target in plan.of_type(SCALING_TARGET):
        i = target.inputs
        if i.get("serviceNamespace") != "ecs" or i.get("scalableDimension", "ecs:service:DesiredCount") != "ecs:service:DesiredCount":
            continue
        kind, _, rest = str(i.get("resourceId") or "").partition("/")
        target_cluster, _, target_service = rest.rpartition("/")
        if kind != "service" or target_service != name or (cluster_name and target_cluster != cluster_name):
            continue
        found = max(found or 0, int_or(i.get("maxCapacity"), 0))
    return found


@workloads(SERVICE)
def _service_workloads(service: RecordedResource, plan: RecordedPlan) -> Iterator[Workload]:
    name = _service_name(service)
    if service.inputs.get("schedulingStrategy") == "DAEMON":
        replicas, via = None, "schedulingStrategy DAEMON: one per container instance"
    else:
        desired = int_or(service.inputs.get("desiredCount"), 0)  # the provider's default is 0
        scaled = _autoscaling_max(plan, service)
        replicas = max(desired, scaled or 0)
        via = f"desiredCount {desired}" + (f", autoscaling max {scaled}" if scaled is not None else "")
    ref = service.inputs.get("taskDefinition")
    task = plan.producer(ref, TASK_DEFINITION)
    containers = containers_of(task) if task is not None else f"task definition {ref} not in the plan"
    if isinstance(containers, str):
        yield Workload(service, name if name in spec.BY_NAME else service.name, replicas, frozenset(), (containers,), via)
        return
    found = _dicts(containers)
    apps = [c for c in found if str(c.get("name")) in spec.BY_NAME]
    for container in found:
        own = str(container.get("name") or "")
        # A container not named after an app service runs the service's `name` when it is the task's only container.
        app = own if own in spec.BY_NAME else (name if not apps and len(found) == 1 else own)
        plain, secret = _env_names(container)
        unread = tuple(f"environmentFiles {f.get('value')}" for f in _dicts(container.get("environmentFiles")))
        yield Workload(service, app, replicas, frozenset(plain | secret), unread, f"{via}, container {own!r}")


TEARDOWN: Final = "ecs-capacity-teardown"


def _associations(plan: RecordedPlan, provider: RecordedResource) -> list[RecordedResource]:
    names = {provider.inputs.get("name"), provider.state.get("name")} - {None}
    return [a for a in plan.of_type(CLUSTER_CAPACITY_PROVIDERS) if names & set(a.inputs.get("capacityProviders") or [])]


def _uses(service: RecordedResource, provider: RecordedResource) -> bool:
    names = {provider.inputs.get("name"), provider.state.get("name")} - {None}
    return any(s.get("capacityProvider") in names for s in _dicts(service.inputs.get("capacityProviderStrategies")))


@rule(TEARDOWN)
def ecs_capacity_teardown(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for provider in plan.of_type(CAPACITY_PROVIDER):
        settings = provider.inputs.get("autoScalingGroupProvider") or {}
        if not settings:
            continue  # a Managed Instances provider: ECS owns its instances
        group = plan.producer(settings.get("autoScalingGroupArn"), AUTO_SCALING_GROUP)
        if group is None:
            problems.append(problem(TEARDOWN, "warning", provider, f"its Auto Scaling group {settings.get('autoScalingGroupArn')} is not in this plan, so whether destroy can delete it could not be judged"))
            continue
        why = "destroy waits for instances that never go (pulumi-aws#1621, containers-roadmap#2862)"
        if settings.get("managedTerminationProtection") == "ENABLED":
            problems.append(problem(TEARDOWN, "error", provider, f"has managedTerminationProtection ENABLED, which keeps instances running tasks protected from scale in: {why}; set it to DISABLED"))
        if group.inputs.get("protectFromScaleIn") is True:
            problems.append(problem(TEARDOWN, "error", group, f"protects its instances from scale in: {why}; set protectFromScaleIn false"))
        if group.inputs.get("forceDelete") is not True:
            problems.append(problem(TEARDOWN, "error", group, "is deleted without forceDelete, so destroy waits for its instances to drain one by one (and for lifecycle hooks); set forceDelete true"))
        associations = _associations(plan, provider)
        if not associations:
            problems.append(problem(TEARDOWN, "warning", provider, "is attached to no cluster in this plan (ClusterCapacityProviders), so the teardown order could not be judged"))
            continue
        waits = plan.depends_transitively(group)
        for association in associations:
            cluster = plan.producer(association.inputs.get("clusterName"), CLUSTER)
            if cluster is not None and cluster.key not in waits:
                problems.append(problem(TEARDOWN, "error", group, f"does not wait for the cluster {cluster.name} its instances join, so destroy may delete the cluster first and fail with ClusterContainsContainerInstancesException; add dependsOn"))
            for service in plan.of_type(SERVICE):
                if _uses(service, provider) and association.key not in plan.depends_transitively(service):
                    problems.append(problem(TEARDOWN, "error", service, f"runs on capacity provider {provider.name} but does not wait for {association.name}, so destroy may detach the provider while the service uses it; add dependsOn"))
    return problems
