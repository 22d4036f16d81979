"""The ECS rules and the ECS workload adapter, each shown failing on a plan that breaks it and passing on one that does not.

Plans are hand-made from `infra.plan.model` in the shapes pulumi-aws 7.x
records (camelCase inputs, `containerDefinitions` as a JSON string); the good
containers are built from `infra.spec`, so a change to the spec moves them
too. One test records a program made of the real pulumi_aws classes, so the
input names the rules read are the ones the SDK sends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import spec
from infra.aws import ecs_checks
from infra.checks import RULES, Problem, load_rules
from infra.checks import userdata as userdata_rules
from infra.checks.adapters import JUDGED, WORKLOADS, all_workloads, kind_of
from infra.plan.engine import record
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import Plan

ROOT = Path(__file__).resolve().parents[2]
STACK = ResourceKey("pulumi:pulumi:Stack", "dixi-test")
COMPONENT = ResourceKey("dixi:aws:Test", "dixi")
ARN = "arn:aws:{service}:us-east-1:123456789012:{resource}"
TASK = ecs_checks.TASK_DEFINITION
PlanOf = Callable[..., Plan]
ECS_RULES = ("ecs-container-definitions", "fargate-task-size", "ecs-gpu-placement", "ecs-log-options", "ecs-matches-spec")

load_rules()


# --- plans ------------------------------------------------------------------------------------------


def _r(type_: str, resource_name: str, state: dict[str, Any] | None = None, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, resource_name, True, COMPONENT, inputs, id=f"{resource_name}-id", state={**inputs, **(state or {})})


def _plan(*resources: RecordedResource) -> RecordedPlan:
    component = RecordedResource(COMPONENT.type, COMPONENT.name, False, STACK, {})
    stack = RecordedResource(STACK.type, STACK.name, False, None, {})
    return RecordedPlan("dixi", "test", None, [stack, component, *resources])


def container(service: spec.Service, **changes: Any) -> dict[str, Any]:
    """The container of `service` as the spec says it should be, with `changes` (None removes a key)."""
    found: dict[str, Any] = {
        "name": service.name,
        "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/dixi-{service.name}:1",
        "essential": True,
        "portMappings": [{"name": service.name, "containerPort": service.port, "protocol": "tcp", "appProtocol": "http"}],
        "environment": [{"name": k, "value": v} for k, v in spec.service_env(service, lambda s: f"{s.name}.dixi.local", "llama3.2").items()],
        "secrets": [{"name": n, "valueFrom": ARN.format(service="ssm", resource=f"parameter/dixi/{n}")} for n in service.secret_env],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/dixi/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": service.name, "mode": "non-blocking", "max-buffer-size": "25m"},
        },
        "healthCheck": {"command": ["CMD-SHELL", f"curl -fsS http://localhost:{service.port}{service.liveness.path} || exit 1"], "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 30},
        "ulimits": [{"name": "nofile", "softLimit": spec.WS_OPEN_FILES, "hardLimit": spec.WS_OPEN_FILES}],
        "readonlyRootFilesystem": service.scratch_paths is not None,
    }
    if service.gpus:
        found["resourceRequirements"] = [{"type": "GPU", "value": str(service.gpus)}]
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def task(name: str, *containers: dict[str, Any], fargate: bool = True, **inputs: Any) -> RecordedResource:
    """A task definition of `containers` (Fargate unless not `fargate`), with `inputs` changed (None removes one)."""
    fields: dict[str, Any] = {
        "family": name,
        "containerDefinitions": json.dumps(list(containers)),
        "cpu": "512",
        "memory": "1024",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE" if fargate else "EC2"],
        "executionRoleArn": ARN.format(service="iam", resource="role/dixi-exec"),
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        **inputs,
    }
    return _r(TASK, name, {"arn": ARN.format(service="ecs", resource=f"taskdefinition/{name}")}, **{k: v for k, v in fields.items() if v is not None})


def _arn(resource: RecordedResource) -> str:
    return str(resource.state["arn"])


CLUSTER = _r(ecs_checks.CLUSTER, "dixi-cluster", {"arn": ARN.format(service="ecs", resource="cluster/dixi")}, name="dixi")


def service(name: str, runs: RecordedResource | str, **inputs: Any) -> RecordedResource:
    ref = runs if isinstance(runs, str) else _arn(runs)
    return _r(ecs_checks.SERVICE, f"dixi-{name}", **{"name": name, "cluster": _arn(CLUSTER), "taskDefinition": ref, "desiredCount": 1, **inputs})


def gpu_capacity(*instance_types: str, name: str = "dixi-gpu", mixed: bool = False) -> list[RecordedResource]:
    """A capacity provider, its Auto Scaling group and launch template (a mixed instances policy when `mixed`)."""
    template = _r("aws:ec2/launchTemplate:LaunchTemplate", f"{name}-lt", instanceType=instance_types[0], metadataOptions={"httpTokens": "required"})
    if mixed:
        launch = {"mixedInstancesPolicy": {"launchTemplate": {
            "launchTemplateSpecification": {"launchTemplateId": template.id, "version": "$Latest"},
            "overrides": [{"instanceType": t} for t in instance_types],
        }}}  # fmt: skip
    else:
        launch = {"launchTemplate": {"id": template.id, "version": "$Latest"}}
    group = _r(ecs_checks.AUTO_SCALING_GROUP, f"{name}-asg", {"arn": ARN.format(service="autoscaling", resource=f"autoScalingGroup:{name}")}, minSize=0, maxSize=1, **launch)
    provider = _r(ecs_checks.CAPACITY_PROVIDER, name, name=name, autoScalingGroupProvider={"autoScalingGroupArn": _arn(group), "managedScaling": {"status": "ENABLED", "targetCapacity": 100}})
    return [template, group, provider]


def ollama_on(*capacity: RecordedResource, **inputs: Any) -> RecordedPlan:
    """Ollama's task on EC2 and its service, spread over the capacity provider `dixi-gpu` unless `inputs` say otherwise."""
    ollama = task("dixi-ollama", container(spec.OLLAMA), fargate=False, cpu="4096", memory="15360")
    strategy = {"capacityProviderStrategies": [{"capacityProvider": "dixi-gpu", "weight": 1, "base": 1}]}
    return _plan(CLUSTER, *capacity, ollama, service("ollama", ollama, **(inputs or strategy)))


def app_plan() -> RecordedPlan:
    """The whole app as the ECS stack should run it: what every ECS rule must accept."""
    web = [task(f"dixi-{s.name}", container(s)) for s in (spec.FRONTEND, spec.BACKEND, spec.VISION)]
    groups = [_r("aws:lb/targetGroup:TargetGroup", f"dixi-{s.name}", {"arn": ARN.format(service="elasticloadbalancing", resource=f"targetgroup/{s.name}/1")}, port=s.port, targetType="ip", healthCheck={"path": s.readiness.path}) for s in (spec.FRONTEND, spec.BACKEND)]  # fmt: skip
    services = [service(s.name, t, loadBalancers=[{"targetGroupArn": _arn(g), "containerName": s.name, "containerPort": s.port}]) for s, t, g in zip((spec.FRONTEND, spec.BACKEND), web, groups, strict=False)]
    plan = ollama_on(*gpu_capacity("g4dn.xlarge"))
    plan.resources += [*web, *groups, *services, service("vision", web[2])]
    return plan


def _run(rule: str, plan: RecordedPlan) -> list[Problem]:
    return RULES[rule](plan, ROOT)


def _messages(rule: str, plan: RecordedPlan, severity: str = "error") -> list[str]:
    found = _run(rule, plan)
    assert {p.severity for p in found} <= {severity}, [(p.severity, p.message) for p in found]
    return [p.message for p in found]


def _one_task(*containers: dict[str, Any], **inputs: Any) -> RecordedPlan:
    return _plan(task("dixi-x", *containers, **inputs))


@pytest.mark.parametrize("rule", ECS_RULES)
def test_the_app_as_the_ecs_stack_should_run_it_passes_every_ecs_rule(rule: str) -> None:
    assert _run(rule, app_plan()) == [], [p.message for p in _run(rule, app_plan())]


# --- ecs-container-definitions ----------------------------------------------------------------------

DEFS = "ecs-container-definitions"


def test_an_unknown_member_and_a_wrong_type_are_reported_with_the_container_and_its_path() -> None:
    broken = container(spec.BACKEND, portMappings=[{"containerPort": "3001", "port": 3001}], essential="yes")
    messages = _messages(DEFS, _one_task(container(spec.FRONTEND), broken))
    assert any("container 'backend'" in m and "containerDefinitions[1].portMappings[0]" in m and '"port"' in m for m in messages), messages
    assert any("container 'backend'" in m and "containerDefinitions[1].portMappings[0].containerPort" in m for m in messages), messages
    assert any("containerDefinitions[1].essential" in m for m in messages), messages
    assert not any("'frontend'" in m for m in messages), "the valid container is not blamed"


def test_a_container_without_its_required_members_is_reported() -> None:
    messages = _messages(DEFS, _one_task({"essential": True}))
    assert any("container '#0': containerDefinitions[0] has no name" in m for m in messages), messages
    assert any("containerDefinitions[0] has no image" in m for m in messages), messages


def test_what_ecs_refuses_beyond_its_model_is_reported() -> None:
    assert any("Container list cannot be empty" in m for m in _messages(DEFS, _one_task()))
    no_memory = _messages(DEFS, _one_task(container(spec.OLLAMA), fargate=False, memory=None))
    assert any("container 'ollama': containerDefinitions[0] sets neither memory nor memoryReservation" in m for m in no_memory), no_memory
    assert _run(DEFS, _one_task(container(spec.OLLAMA, memoryReservation=4096), fargate=False, memory=None)) == []


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"logConfiguration": {"logDriver": "cloudwatch", "options": {}}}, "containerDefinitions[0].logConfiguration.logDriver is 'cloudwatch'"),
        ({"portMappings": [{"containerPort": 3001, "protocol": "TCP"}]}, "containerDefinitions[0].portMappings[0].protocol is 'TCP'"),
        ({"portMappings": [{"containerPort": 3001, "appProtocol": "https"}]}, "containerDefinitions[0].portMappings[0].appProtocol is 'https'"),
        ({"dependsOn": [{"containerName": "vision", "condition": "STARTED"}]}, "containerDefinitions[0].dependsOn[0].condition is 'STARTED'"),
        ({"ulimits": [{"name": "openfiles", "softLimit": 1, "hardLimit": 1}]}, "containerDefinitions[0].ulimits[0].name is 'openfiles'"),
        ({"resourceRequirements": [{"type": "gpu", "value": "1"}]}, "containerDefinitions[0].resourceRequirements[0].type is 'gpu'"),
    ],
)
def test_enum_values_botocore_does_not_check_are_held_to_the_model(changes: dict[str, Any], path: str) -> None:
    messages = _messages(DEFS, _one_task(container(spec.BACKEND, **changes)))
    assert any(path in m and "container 'backend'" in m and "allows" in m for m in messages), messages


def test_task_level_members_are_validated_with_the_containers() -> None:
    messages = _messages(DEFS, _one_task(container(spec.BACKEND), networkMode="vpc", requiresCompatibilities=["fargate"], family=None))
    assert any("networkMode is 'vpc'" in m for m in messages), messages
    assert any("requiresCompatibilities[0] is 'fargate'" in m for m in messages), messages
    assert any('Missing required parameter in input: "family"' in m for m in messages), messages


@pytest.mark.parametrize(("value", "words"), [("[{", "is not JSON"), ('{"name": "x"}', "not the list of containers"), (None, "not a JSON string")])
def test_container_definitions_that_are_not_a_json_list_are_an_error(value: str | None, words: str) -> None:
    plan = _plan(task("dixi-x", containerDefinitions=value))
    messages = _messages(DEFS, plan)
    assert len(messages) == 1 and words in messages[0], messages


def test_a_secret_marked_blob_is_validated_without_quoting_its_values() -> None:
    broken = task("dixi-x", container(spec.BACKEND, environment=[{"name": "TOKEN", "value": 12345}]))
    broken.inputs["containerDefinitions"] = Secret(broken.inputs["containerDefinitions"])
    messages = _messages(DEFS, _plan(broken))
    assert messages and "environment[0].value" in messages[0] and "12345" not in messages[0], messages


@pytest.fixture
def without_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ecs_checks.register_task_definition_shape.cache_clear()
    monkeypatch.setitem(sys.modules, "botocore.session", None)  # `import botocore.session` now raises ImportError
    yield
    ecs_checks.register_task_definition_shape.cache_clear()


@pytest.mark.usefixtures("without_botocore")
def test_without_botocore_the_rule_says_it_could_not_judge_instead_of_passing() -> None:
    problems = _run(DEFS, _one_task(container(spec.BACKEND, essential="yes")))
    assert [p.severity for p in problems] == ["warning"], "not clean, and no error it has no evidence for"
    assert "botocore is not importable" in problems[0].message and "could not be judged" in problems[0].message


def test_botocore_and_its_ecs_model_are_importable_here() -> None:
    shape = ecs_checks.register_task_definition_shape()
    assert not isinstance(shape, str), shape
    assert "containerDefinitions" in shape.required_members


# --- fargate-task-size ------------------------------------------------------------------------------

SIZE = "fargate-task-size"


@pytest.mark.parametrize(("cpu", "memory"), [("256", "512"), ("256", "2048"), ("1024", "8192"), ("1 vCPU", "2 GB"), ("0.5 vcpu", "1GB"), ("16384", "122880"), (512.0, 1024.0)])
def test_a_fargate_task_size_fargate_offers_passes(cpu: Any, memory: Any) -> None:
    assert _run(SIZE, _one_task(container(spec.BACKEND), cpu=cpu, memory=memory)) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "words"),
    [
        ("256", "4096", "with cpu 256 Fargate offers 512, 1024, 2048 MiB"),
        ("1024", "1024", "2048 to 8192 MiB in steps of 1024"),
        ("8192", "18432", "16384 to 61440 MiB in steps of 4096"),
        ("300", "1024", "asks for task cpu '300'"),
        ("lots", "1024", "asks for task cpu 'lots'"),
        (None, "1024", "sets no task cpu"),
        ("512", None, "sets no task memory"),
        (None, None, "sets no task cpu and memory"),
    ],
)
def test_a_fargate_task_size_fargate_refuses_is_an_error(cpu: Any, memory: Any, words: str) -> None:
    messages = _messages(SIZE, _one_task(container(spec.BACKEND), cpu=cpu, memory=memory))
    assert len(messages) == 1 and words in messages[0], messages


def test_an_ec2_task_is_not_held_to_fargate_sizes() -> None:
    assert _run(SIZE, _one_task(container(spec.BACKEND), fargate=False, cpu="300", memory=None)) == []


# --- ecs-gpu-placement ------------------------------------------------------------------------------

GPU = "ecs-gpu-placement"


def test_ollama_on_a_capacity_provider_of_gpu_instances_is_placed() -> None:
    assert _run(GPU, ollama_on(*gpu_capacity("g4dn.xlarge"))) == []
    assert _run(GPU, ollama_on(*gpu_capacity("g4dn.xlarge", "g5.xlarge", mixed=True))) == []


def test_a_task_asking_for_a_gpu_may_not_require_fargate() -> None:
    messages = _messages(GPU, _one_task(container(spec.OLLAMA)))
    assert len(messages) == 1 and "asks for 1 GPU(s) but requiresCompatibilities includes FARGATE" in messages[0], messages


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"launchType": "FARGATE"}, "with launchType FARGATE, which offers no GPUs"),
        ({"capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}, "includes FARGATE_SPOT, which offers no GPUs"),
        ({"launchType": "EC2"}, "names no capacity provider (launchType EC2)"),
    ],
)
def test_a_gpu_service_that_fargate_or_nothing_in_the_plan_would_place_is_an_error(inputs: dict[str, Any], words: str) -> None:
    messages = _messages(GPU, ollama_on(*gpu_capacity("g4dn.xlarge"), **inputs))
    assert any(words in m for m in messages), messages


def test_a_capacity_provider_without_gpus_is_an_error() -> None:
    messages = _messages(GPU, ollama_on(*gpu_capacity("t3.large")))
    assert len(messages) == 1 and "capacity provider dixi-gpu may launch t3.large (0 GPU)" in messages[0], messages


def test_every_override_of_a_mixed_instances_policy_must_hold_the_gpus() -> None:
    messages = _messages(GPU, ollama_on(*gpu_capacity("g4dn.xlarge", "c5.xlarge", mixed=True)))
    assert len(messages) == 1 and "c5.xlarge (0 GPU)" in messages[0] and "g4dn" not in messages[0], messages


def test_the_gpus_of_every_container_of_a_task_must_fit_on_one_instance() -> None:
    two = task("dixi-ollama", container(spec.OLLAMA), container(spec.OLLAMA, name="ollama-2"), fargate=False)
    plan = _plan(CLUSTER, *gpu_capacity("g4dn.xlarge"), two, service("ollama", two, capacityProviderStrategies=[{"capacityProvider": "dixi-gpu", "weight": 1}]))
    messages = _messages(GPU, plan)
    assert len(messages) == 1 and "need 2 GPU(s) on one instance" in messages[0] and "g4dn.xlarge (1 GPU)" in messages[0], messages


def test_the_clusters_default_strategy_places_a_service_that_names_none() -> None:
    default = _r(ecs_checks.CLUSTER_CAPACITY_PROVIDERS, "dixi-providers", clusterName="dixi", capacityProviders=["dixi-gpu"], defaultCapacityProviderStrategies=[{"capacityProvider": "dixi-gpu", "weight": 1}])
    plan = ollama_on(*gpu_capacity("g4dn.xlarge"), desiredCount=1)
    assert _messages(GPU, plan), "without a strategy anywhere, nothing places it on a GPU"
    plan.resources.append(default)
    assert _run(GPU, plan) == []


@pytest.mark.parametrize(
    ("drop", "words"),
    [
        ("dixi-gpu", "its capacity provider 'dixi-gpu' is not in this plan"),
        ("dixi-gpu-asg", "the Auto Scaling group arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:dixi-gpu of capacity provider dixi-gpu is not in this plan"),
        ("dixi-gpu-lt", "the launch template dixi-gpu-lt-id of the Auto Scaling group dixi-gpu-asg is not in this plan"),
        ("dixi-ollama", "its task definition arn:aws:ecs:us-east-1:123456789012:taskdefinition/dixi-ollama is not in this plan"),
    ],
)
def test_a_reference_the_plan_cannot_follow_is_not_judged_rather_than_passed(drop: str, words: str) -> None:
    plan = ollama_on(*gpu_capacity("g4dn.xlarge"))
    plan.resources = [r for r in plan.resources if r.name != drop or r.type == ecs_checks.SERVICE]
    messages = _messages(GPU, plan, severity="warning")
    assert len(messages) == 1 and words in messages[0] and "could not be judged" in messages[0], messages


def test_a_service_left_to_the_default_strategy_of_a_cluster_outside_the_plan_is_not_judged() -> None:
    plan = ollama_on(*gpu_capacity("g4dn.xlarge"), desiredCount=1)
    plan.resources.remove(CLUSTER)
    messages = _messages(GPU, plan, severity="warning")
    assert len(messages) == 1 and "its cluster arn:aws:ecs:us-east-1:123456789012:cluster/dixi is not in this plan" in messages[0], messages


def test_an_override_chosen_by_requirements_is_not_judged() -> None:
    capacity = gpu_capacity("g4dn.xlarge", mixed=True)
    capacity[1].inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"] = [{"instanceRequirements": {"vcpuCount": {"min": 4}}}]
    messages = _messages(GPU, ollama_on(*capacity), severity="warning")
    assert len(messages) == 1 and "chooses instances by requirements" in messages[0], messages


def test_unparseable_container_definitions_leave_gpu_placement_not_judged() -> None:
    messages = _messages(GPU, _plan(task("dixi-x", containerDefinitions="[{")), severity="warning")
    assert len(messages) == 1 and "could not be judged" in messages[0], messages


# --- ecs-log-options --------------------------------------------------------------------------------

LOGS = "ecs-log-options"


def _logging(options: dict[str, str], **changes: Any) -> dict[str, Any]:
    return container(spec.BACKEND, logConfiguration={"logDriver": "awslogs", "options": options}, **changes)


@pytest.mark.parametrize(
    ("options", "fargate", "words"),
    [
        ({"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "b", "tag": "x"}, True, "the option(s) tag, which ECS's awslogs driver does not take"),
        ({"awslogs-group": "g", "awslogs-stream-prefix": "b"}, True, "without awslogs-region, which ECS requires"),
        ({"awslogs-group": "g", "awslogs-region": "us-east-1"}, True, "without awslogs-stream-prefix, which ECS requires on Fargate"),
        ({"awslogs-region": "us-east-1"}, False, "without awslogs-group, which ECS requires"),
        ({"awslogs-group": "g", "awslogs-region": "r", "awslogs-stream-prefix": "b", "mode": "async"}, True, "sets awslogs mode 'async'"),
        ({"awslogs-group": "g", "awslogs-region": "r", "awslogs-stream-prefix": "b", "awslogs-datetime-format": "%Y", "awslogs-multiline-pattern": "^x"}, True, "sets both"),
    ],
)
def test_awslogs_options_ecs_refuses_or_requires_are_errors(options: dict[str, str], fargate: bool, words: str) -> None:
    messages = _messages(LOGS, _one_task(_logging(options), fargate=fargate))
    assert len(messages) == 1 and words in messages[0] and "container 'backend'" in messages[0], messages


def test_awslogs_without_a_stream_prefix_is_fine_on_ec2_and_other_drivers_are_not_read() -> None:
    assert _run(LOGS, _one_task(_logging({"awslogs-group": "g", "awslogs-region": "us-east-1"}), fargate=False)) == []
    assert _run(LOGS, _one_task(container(spec.BACKEND, logConfiguration={"logDriver": "json-file", "options": {"max-size": "10m"}}), fargate=False)) == []


def test_ecs_takes_the_stream_prefix_that_plain_docker_refuses() -> None:
    assert "awslogs-stream-prefix" in ecs_checks.AWSLOGS_OPTIONS
    assert "awslogs-stream-prefix" not in userdata_rules.LOG_DRIVER_OPTIONS["awslogs"], "compose-log-options keeps refusing it on plain Docker"


def test_unparseable_container_definitions_leave_log_options_not_judged() -> None:
    assert _messages(LOGS, _plan(task("dixi-x", containerDefinitions="nope")), severity="warning")


# --- ecs-matches-spec -------------------------------------------------------------------------------

SPEC = "ecs-matches-spec"


def _without(service: spec.Service, name: str) -> list[dict[str, str]]:
    return [e for e in container(service)["environment"] if e["name"] != name]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"portMappings": [{"containerPort": 8000}]}, "container 'backend' maps port(s) 8000, but spec.py serves backend on 3001"),
        ({"healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3001/health || exit 1"]}}, "does not probe backend's liveness path /api/health/live"),
        ({"environment": [*container(spec.BACKEND)["environment"], {"name": "DEBUG", "value": "1"}]}, "gets DEBUG, which spec.py does not give backend"),
        ({"environment": _without(spec.BACKEND, "OLLAMA_BASE_URL")}, "does not get OLLAMA_BASE_URL, which spec.py gives backend"),
        ({"secrets": []}, "does not get GESTURE_TOKEN"),
        ({"environment": [*container(spec.BACKEND)["environment"], {"name": "GESTURE_TOKEN", "value": "t"}], "secrets": []}, "gets the secret(s) GESTURE_TOKEN as plain environment"),
        ({"resourceRequirements": [{"type": "GPU", "value": "1"}]}, "container 'backend' asks for 1 GPU(s); spec.py gives backend 0"),
    ],
)
def test_a_container_that_differs_from_the_spec_is_an_error(changes: dict[str, Any], words: str) -> None:
    messages = _messages(SPEC, _one_task(container(spec.BACKEND, **changes)))
    assert len(messages) == 1 and words in messages[0], messages


def test_the_event_bus_names_are_optional_for_the_backend_and_foreign_to_the_others() -> None:
    bus = [{"name": spec.EVENT_BUS.url_env, "value": spec.EVENT_BUS.url("bus")}]
    password = [{"name": spec.EVENT_BUS.password_env, "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/bus"}]
    backend = container(spec.BACKEND, environment=container(spec.BACKEND)["environment"] + bus, secrets=container(spec.BACKEND)["secrets"] + password)
    assert _run(SPEC, _one_task(backend)) == []
    leaked = container(spec.BACKEND, environment=container(spec.BACKEND)["environment"] + [{"name": spec.EVENT_BUS.password_env, "value": "p"}])
    assert any("gets the secret(s) EVENT_BUS_PASSWORD as plain environment" in m for m in _messages(SPEC, _one_task(leaked)))
    vision = container(spec.VISION, environment=container(spec.VISION)["environment"] + bus)
    assert any("gets EVENT_BUS_URL, which spec.py does not give vision" in m for m in _messages(SPEC, _one_task(vision)))


def test_ollama_must_ask_for_its_gpu_and_vision_may_opt_in() -> None:
    assert any("container 'ollama' asks for 0 GPU(s); spec.py gives ollama 1" in m for m in _messages(SPEC, _one_task(container(spec.OLLAMA, resourceRequirements=[]))))
    assert _run(SPEC, _one_task(container(spec.VISION, resourceRequirements=[{"type": "GPU", "value": "1"}]))) == []


def test_a_health_check_may_run_the_check_the_spec_gives_the_image_instead_of_naming_the_path() -> None:
    ollama = container(spec.OLLAMA, healthCheck={"command": ["CMD", *spec.OLLAMA.health_command], "startPeriod": spec.OLLAMA.health_start_seconds})
    assert _run(SPEC, _one_task(ollama)) == []
    other = container(spec.OLLAMA, healthCheck={"command": ["CMD", "ollama", "ps"]})
    assert any("does not probe ollama's liveness path / or run 'ollama list'" in m for m in _messages(SPEC, _one_task(other)))


def test_a_sidecar_that_is_no_app_service_is_skipped() -> None:
    sidecar = {"name": "models-sync", "image": "amazon/aws-cli:2", "essential": False, "environment": [{"name": "ANYTHING", "value": "x"}]}
    assert _run(SPEC, _one_task(container(spec.VISION), sidecar)) == []


def test_the_target_group_in_front_of_a_container_uses_the_spec_port_and_readiness_path() -> None:
    plan = app_plan()
    group = plan.one("aws:lb/targetGroup:TargetGroup", "dixi-backend")
    group.inputs.update(port=80, healthCheck={"path": "/api/health/live"})
    messages = _messages(SPEC, plan)
    assert any("has port 80, but it sends traffic to backend, which spec.py serves on 3001" in m for m in messages), messages
    assert any("checks health at '/api/health/live', but backend's readiness path is '/api/health/ready'" in m for m in messages), messages


def test_a_load_balancer_naming_a_container_the_task_lacks_or_the_wrong_port_is_an_error() -> None:
    plan = app_plan()
    backend = plan.one(ecs_checks.SERVICE, "dixi-backend")
    backend.inputs["loadBalancers"] = [{**backend.inputs["loadBalancers"][0], "containerPort": 8080}, {**backend.inputs["loadBalancers"][0], "containerName": "api"}]
    messages = _messages(SPEC, plan)
    assert any("sends load balancer traffic to backend on port 8080, but spec.py serves backend on 3001" in m for m in messages), messages
    assert any("to container 'api', which its task definition does not have" in m for m in messages), messages


def test_a_target_group_outside_the_plan_is_not_judged() -> None:
    plan = app_plan()
    plan.resources = [r for r in plan.resources if r.name != "dixi-frontend" or r.type != "aws:lb/targetGroup:TargetGroup"]
    messages = _messages(SPEC, plan, severity="warning")
    assert len(messages) == 1 and "could not be judged" in messages[0], messages


# --- the workload adapter and event-bus-for-replicas ------------------------------------------------

BUS = "event-bus-for-replicas"


def _scaling(service_name: str, maximum: int, cluster: str = "dixi") -> RecordedResource:
    return _r("aws:appautoscaling/target:Target", f"dixi-{service_name}-{cluster}-scaling", resourceId=f"service/{cluster}/{service_name}", scalableDimension="ecs:service:DesiredCount", serviceNamespace="ecs", minCapacity=1, maxCapacity=maximum)


def _backend_plan(*extra: RecordedResource, bus: bool = False, desired: int = 2) -> RecordedPlan:
    backend = container(spec.BACKEND)
    if bus:
        backend["environment"].append({"name": spec.EVENT_BUS.url_env, "value": spec.EVENT_BUS.url("bus")})
    definition = task("dixi-backend", backend)
    return _plan(CLUSTER, definition, service("backend", definition, desiredCount=desired), *extra)


def _backends(plan: RecordedPlan) -> list[tuple[int | None, frozenset[str], tuple[str, ...], str]]:
    return [(w.max_replicas, w.env, w.unread_env, w.via) for w in all_workloads(plan) if w.service == spec.BACKEND.name]


def test_an_ecs_service_counts_its_autoscaling_maximum_and_reads_its_containers_env() -> None:
    plan = _backend_plan(_scaling("backend", 6), _scaling("backend", 9, cluster="other"), _scaling("vision", 12))
    [(replicas, env, unread, via)] = _backends(plan)
    assert (replicas, unread) == (6, ()), "the target of another cluster or service is not counted"
    assert via == "desiredCount 2, autoscaling max 6, container 'backend'"
    assert {"OLLAMA_BASE_URL", "GESTURE_TOKEN"} <= env, "plain env and secrets names alike"


def test_an_ecs_backend_that_can_run_two_replicas_needs_the_event_bus() -> None:
    problems = _run(BUS, _backend_plan())
    assert [p.severity for p in problems] == ["error"] and "desiredCount 2" in problems[0].message and "EVENT_BUS_URL" in problems[0].message
    assert _run(BUS, _backend_plan(bus=True)) == []
    assert _run(BUS, _backend_plan(desired=1)) == [], "one replica keeps the in-process hub"


def test_an_ecs_service_whose_task_definition_is_outside_the_plan_is_not_judged() -> None:
    plan = _plan(CLUSTER, service("backend", "arn:aws:ecs:us-east-1:123456789012:task-definition/elsewhere:3", desiredCount=3))
    [(replicas, env, unread, _)] = _backends(plan)
    assert (replicas, env) == (3, frozenset()) and unread == ("task definition arn:aws:ecs:us-east-1:123456789012:task-definition/elsewhere:3 not in the plan",)
    problems = _run(BUS, plan)
    assert [p.severity for p in problems] == ["warning"] and "could not be judged" in problems[0].message


def test_environment_files_are_reported_as_unread_env() -> None:
    backend = container(spec.BACKEND, environmentFiles=[{"value": "arn:aws:s3:::dixi/backend.env", "type": "s3"}])
    definition = task("dixi-backend", backend)
    problems = _run(BUS, _plan(CLUSTER, definition, service("backend", definition, desiredCount=2)))
    assert [p.severity for p in problems] == ["warning"] and "environmentFiles arn:aws:s3:::dixi/backend.env" in problems[0].message


def test_only_the_nat_gateway_of_the_ecs_stack_looks_like_an_entry_point_and_it_is_judged() -> None:
    looks = {t: kind_of(t) for t in (
        "aws:ecs/service:Service", "aws:ecs/cluster:Cluster", "aws:autoscaling/group:Group", "aws:ecs/capacityProvider:CapacityProvider",
        "aws:elasticache/serverlessCache:ServerlessCache", "aws:efs/mountTarget:MountTarget", "aws:ec2/natGateway:NatGateway",
        "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:servicediscovery/httpNamespace:HttpNamespace",
    )}  # fmt: skip
    assert {t for t, kind in looks.items() if kind} == {"aws:ec2/natGateway:NatGateway"}, looks
    assert "aws:ec2/natGateway:NatGateway" in JUDGED and ecs_checks.SERVICE in WORKLOADS
    assert RULES["checks-cover-entry-points"](_plan(_r("aws:ec2/natGateway:NatGateway", "dixi-nat")), ROOT) == []


# --- on a program of the real pulumi_aws classes --------------------------------------------------------


def _program(instance_type: str) -> None:
    import pulumi
    import pulumi_aws.appautoscaling as appautoscaling
    import pulumi_aws.autoscaling as autoscaling
    import pulumi_aws.ec2 as ec2
    import pulumi_aws.ecs as ecs

    cluster = ecs.Cluster("dixi-cluster", name="dixi")
    template = ec2.LaunchTemplate("dixi-gpu", instance_type=instance_type, image_id="ami-1", metadata_options={"http_tokens": "required"})
    group = autoscaling.Group("dixi-gpu", min_size=0, max_size=1, vpc_zone_identifiers=["subnet-1"], launch_template={"id": template.id, "version": "$Latest"})
    provider = ecs.CapacityProvider("dixi-gpu", name="dixi-gpu", auto_scaling_group_provider={"auto_scaling_group_arn": group.arn, "managed_scaling": {"status": "ENABLED", "target_capacity": 100}})
    for app, compatibility in ((spec.OLLAMA, "EC2"), (spec.BACKEND, "FARGATE")):
        definition = ecs.TaskDefinition(
            f"dixi-{app.name}", family=f"dixi-{app.name}", container_definitions=json.dumps([container(app)]), cpu="1024", memory="2048",
            network_mode="awsvpc", requires_compatibilities=[compatibility],
        )  # fmt: skip
        placement: dict[str, Any] = {"capacity_provider_strategies": [{"capacity_provider": provider.name, "weight": 1}]} if app.gpus else {"launch_type": "FARGATE"}
        running = ecs.Service(f"dixi-{app.name}", name=app.name, cluster=cluster.arn, task_definition=definition.arn, desired_count=2, **placement)
        appautoscaling.Target(
            f"dixi-{app.name}", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount", min_capacity=1, max_capacity=4,
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", running.name),
        )  # fmt: skip


def test_the_rules_read_the_inputs_the_real_pulumi_aws_classes_send() -> None:
    good = record("dixi", "test", None, {}, [], lambda: _program("g4dn.xlarge"), ROOT)
    assert all(_run(rule, good) == [] for rule in ECS_RULES), {rule: [p.message for p in _run(rule, good)] for rule in ECS_RULES}
    assert [(w.max_replicas, w.via) for w in all_workloads(good) if w.service == "backend"] == [(4, "desiredCount 2, autoscaling max 4, container 'backend'")]
    bad = record("dixi", "test", None, {}, [], lambda: _program("t3.large"), ROOT)
    assert any("may launch t3.large (0 GPU)" in p.message for p in _run(GPU, bad)), [p.message for p in _run(GPU, bad)]


def test_the_committed_aws_stack_passes_every_ecs_rule_having_read_all_it_runs(plan_of: PlanOf) -> None:
    plan = plan_of("aws").recorded
    services, providers = plan.of_type(ecs_checks.SERVICE), plan.of_type(ecs_checks.CAPACITY_PROVIDER)
    assert services and providers and plan.of_type(TASK), "the ECS stack runs its services on ECS"
    found = {rule: [p.message for p in _run(rule, plan)] for rule in ECS_RULES}
    assert not any(found.values()), found
    assert all(plan.producer(s.inputs.get("taskDefinition"), TASK) for s in services), "every service's task definition was followed"
    assert all(isinstance(ecs_checks.instance_types(plan, p), list) for p in providers), "every capacity provider's instance types were read"
    assert {w.service for w in all_workloads(plan)} >= {s.name for s in spec.SERVICES}, "the workload adapter found every app service"
