"""The `aws` stack (ECS), as recorded under the mocks: what it creates, and the defects a real account would show.

Grouped like `shared/real-account-checklist.md` where a class applies:
routing, placement, discovery, identity, network, secrets, teardown,
lookups, limits. What the checks find on this plan is in test_ecs_checks.py;
here the program's own decisions are asserted on the recorded plan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import spec
from infra.aws import catalog
from infra.aws.ecs_service import fargate_task_size
from infra.aws.mocks import zone_answers
from infra.config import ConfigError
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT, Plan, plan_stack

PlanOf = Callable[..., Plan]
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ASG = "aws:autoscaling/group:Group"
CAPACITY_PROVIDER = "aws:ecs/capacityProvider:CapacityProvider"
CLUSTER_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
CLUSTER = "aws:ecs/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _task(plan: Plan, service: str) -> RecordedResource:
    return plan.recorded.one(TASK_DEFINITION, f"dixi-{service}")


def _containers(plan: Plan, service: str) -> dict[str, dict[str, Any]]:
    definitions: list[dict[str, Any]] = json.loads(_task(plan, service).inputs["containerDefinitions"])
    return {c["name"]: c for c in definitions}


def _service(plan: Plan, service: str) -> RecordedResource:
    return plan.recorded.one(SERVICE, f"dixi-{service}")


def _statements(plan: Plan, policy: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(plan.recorded.one(ROLE_POLICY, policy).inputs["policy"])["Statement"]
    return found


def _errors(plan: Plan) -> list[str]:
    return [f"{p.rule}: {p.message}" for p in plan.problems if p.severity == "error"]


def test_the_default_stack_and_the_seed_shaped_one_have_no_problems(ecs_plan: Plan, plan_of: PlanOf) -> None:
    assert ecs_plan.problems == [], [f"{p.rule}: {p.message}" for p in ecs_plan.problems]
    assert plan_of("aws-seed-shape").problems == []


# Routing: one ALB, / to the frontend, /api and /ws to the backend.


def test_the_load_balancer_sends_api_and_ws_to_the_backend_and_the_rest_to_the_frontend(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    groups = {g.name: g for g in plan.of_type(TARGET_GROUP)}
    assert set(groups) == {"dixi-web-frontend", "dixi-web-backend"}
    for service in (spec.FRONTEND, spec.BACKEND):
        group = groups[f"dixi-web-{service.name}"]
        assert group.inputs["targetType"] == "ip", "awsvpc tasks register by address"
        assert group.inputs["port"] == service.port and group.inputs["healthCheck"]["path"] == service.readiness.path
        (balanced,) = _service(ecs_plan, service.name).inputs["loadBalancers"]
        assert balanced == {"targetGroupArn": group.state["arn"], "containerName": service.name, "containerPort": service.port}
    (listener,) = plan.of_type("aws:lb/listener:Listener")
    assert listener.inputs["defaultActions"][0]["targetGroupArn"] == groups["dixi-web-frontend"].state["arn"]
    (rule,) = plan.of_type("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["actions"][0]["targetGroupArn"] == groups["dixi-web-backend"].state["arn"]
    assert rule.inputs["conditions"][0]["pathPattern"]["values"] == ["/api", "/api/*", "/ws", "/ws/*"]
    (balancer,) = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["idleTimeout"] == 3600, "quiet /ws clients stay connected for an hour"
    assert _service(ecs_plan, "vision").inputs.get("loadBalancers") is None and _service(ecs_plan, "ollama").inputs.get("loadBalancers") is None


def test_with_a_domain_the_alb_serves_https_and_redirects_http(plan_of: PlanOf) -> None:
    plan = plan_of("aws", **{"dixi:domain": "dixi.example.com"}).recorded
    listeners = {int(r.inputs["port"]): r for r in plan.of_type("aws:lb/listener:Listener")}
    assert listeners[443].inputs["protocol"] == "HTTPS" and listeners[80].inputs["defaultActions"][0]["type"] == "redirect"


def test_services_wait_for_the_listeners_that_use_their_target_groups(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    for name in ("frontend", "backend"):
        waits = plan.depends_transitively(_service(ecs_plan, name))
        assert any(k.type == "aws:lb/listenerRule:ListenerRule" for k in waits), "ECS refuses a target group no listener uses"
        assert any(k.type == "aws:lb/listener:Listener" for k in waits)


# Placement: Ollama on the GPU capacity provider, everything else on Fargate.


def test_ollama_runs_on_the_gpu_capacity_provider_with_one_gpu_and_nothing_else_takes_one(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    (provider,) = plan.of_type(CAPACITY_PROVIDER)
    ollama = _service(ecs_plan, "ollama")
    assert ollama.inputs["capacityProviderStrategies"] == [{"capacityProvider": provider.inputs["name"], "weight": 1, "base": 0}]
    assert "launchType" not in ollama.inputs, "the strategy and a launch type are exclusive"
    assert _task(ecs_plan, "ollama").inputs["requiresCompatibilities"] == ["EC2"]
    assert _containers(ecs_plan, "ollama")["ollama"]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    for name in ("frontend", "backend", "vision"):
        assert _service(ecs_plan, name).inputs["launchType"] == "FARGATE"
        assert _task(ecs_plan, name).inputs["requiresCompatibilities"] == ["FARGATE"]
        assert all("resourceRequirements" not in c for c in _containers(ecs_plan, name).values()), f"{name} takes no GPU by default"
    (group,) = plan.of_type(ASG)
    template = plan.producer(group.inputs["launchTemplate"]["id"], LAUNCH_TEMPLATE)
    assert template is not None and template.inputs["instanceType"] == "g4dn.xlarge"
    assert group.inputs["minSize"] == 0 and group.inputs["maxSize"] == 1, "as many GPU instances as GPU tasks, never a spare"
    assert provider.inputs["autoScalingGroupProvider"]["autoScalingGroupArn"] == group.state["arn"]


def test_with_vision_on_a_gpu_it_joins_ollama_on_the_gpu_instances(plan_of: PlanOf) -> None:
    plan = plan_of("aws", **{"dixi:visionGpu": "true"})
    assert _task(plan, "vision").inputs["requiresCompatibilities"] == ["EC2"]
    assert _containers(plan, "vision")["vision"]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    (group,) = plan.recorded.of_type(ASG)
    assert group.inputs["maxSize"] == 2
    assert plan.cost.gpus == 2


def test_gpu_instances_boot_the_ecs_gpu_ami_join_the_cluster_and_hide_their_credentials(ecs_plan: Plan) -> None:
    import base64

    (template,) = ecs_plan.recorded.of_type(LAUNCH_TEMPLATE)
    assert template.inputs["imageId"] == f"resolve:ssm:{catalog.ECS_GPU_AMI_PARAMETER}", "the newest AL2023 GPU AMI at each launch"
    assert template.inputs["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    (disk,) = template.inputs["blockDeviceMappings"]
    assert disk["deviceName"] == catalog.ECS_GPU_AMI_ROOT_DEVICE and disk["ebs"]["encrypted"] == "true"
    assert int(disk["ebs"]["volumeSize"]) >= catalog.ECS_GPU_AMI_ROOT_SNAPSHOT_GIB
    script = base64.b64decode(template.inputs["userData"]).decode()
    (cluster,) = ecs_plan.recorded.of_type(CLUSTER)
    assert f"ECS_CLUSTER={cluster.inputs['name']}" in script and "ECS_AWSVPC_BLOCK_IMDS=true" in script
    assert script.startswith("#!/bin/bash\nset -euo pipefail\n")


def test_services_with_their_fixed_names_are_deleted_before_a_replacement_is_created(ecs_plan: Plan) -> None:
    for name in spec.BY_NAME:
        assert _service(ecs_plan, name).delete_before_replace, "ECS refuses a second service of the same name in a cluster"
    for type_ in ("aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/user:User", "aws:elasticache/userGroup:UserGroup"):
        assert all(r.delete_before_replace for r in ecs_plan.recorded.of_type(type_)), type_


def test_a_stack_name_with_a_period_still_makes_valid_ecs_names() -> None:
    from infra.aws.ecs_deployment import EcsDeployment, EcsDeploymentArgs
    from infra.plan.engine import record

    def program() -> None:
        args = EcsDeploymentArgs(
            stack="team.prod", region="us-east-1", gpu_instance_type="g4dn.xlarge", frontend_tasks=1, backend_tasks=1, backend_max_tasks=1,
            nat_gateways=1, domain=None, route53_zone_id=None, ollama_model="llama3.2", vision_gpu=False, retain_data=True,
            log_retention_days=30, vpc_cidr="10.20.0.0/16",
        )  # fmt: skip
        EcsDeployment("dixi", args)

    plan = record("dixi", "team.prod", plan_stack("aws").recorded.config, {}, [], program, ROOT)
    names = [r.inputs["name"] for r in plan.of_type(CLUSTER, CAPACITY_PROVIDER)]
    assert names and all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names), names


def test_gpu_services_replace_their_task_in_place_so_an_update_never_needs_a_second_gpu(ecs_plan: Plan) -> None:
    ollama = _service(ecs_plan, "ollama").inputs
    assert (ollama["deploymentMinimumHealthyPercent"], ollama["deploymentMaximumPercent"]) == (0, 100)
    backend = _service(ecs_plan, "backend").inputs
    assert (backend["deploymentMinimumHealthyPercent"], backend["deploymentMaximumPercent"]) == (100, 200)


# Deploys: circuit breaker, waiting for a steady state, backend autoscaling.


def test_every_service_rolls_back_a_failed_deployment_and_up_waits_for_it(ecs_plan: Plan) -> None:
    for name in spec.BY_NAME:
        inputs = _service(ecs_plan, name).inputs
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert inputs["waitForSteadyState"] is True, "a task that never becomes healthy fails `pulumi up`"


def test_the_backend_scales_on_cpu_between_the_configured_bounds(plan_of: PlanOf) -> None:
    plan = plan_of("aws", **{"dixi:backendTasks": "2", "dixi:backendMaxTasks": "5"})
    (target,) = plan.recorded.of_type("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 5)
    assert target.inputs["resourceId"] == "service/dixi-aws/backend"
    (policy,) = plan.recorded.of_type("aws:appautoscaling/policy:Policy")
    config = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert config["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    backend = _service(plan, "backend")
    assert backend.inputs["desiredCount"] == 2 and backend.ignore_changes == ["desiredCount"], "the autoscaler owns the count"
    assert _service(plan, "frontend").ignore_changes == [], "a fixed count stays the program's"


def test_the_seeds_task_counts_are_the_defaults(ecs_plan: Plan) -> None:
    assert _service(ecs_plan, "frontend").inputs["desiredCount"] == 2
    assert _service(ecs_plan, "backend").inputs["desiredCount"] == 3


# Discovery: Service Connect names equal the spec's hosts.


def test_service_connect_gives_each_called_service_its_own_name_and_port(ecs_plan: Plan) -> None:
    (namespace,) = ecs_plan.recorded.of_type("aws:servicediscovery/httpNamespace:HttpNamespace")
    for service in spec.SERVICES:
        connect = _service(ecs_plan, service.name).inputs["serviceConnectConfiguration"]
        assert connect["enabled"] is True and connect["namespace"] == namespace.state["arn"]
        called = any(service.name in s.links.values() for s in spec.SERVICES)
        if not called:
            assert not connect.get("services"), f"nobody calls {service.name}; it is a client only"
            continue
        (server,) = connect["services"]
        assert server["portName"] == service.name == server["discoveryName"]
        assert server["clientAlias"] == [{"port": service.port, "dnsName": service.name}]
        (mapping,) = _containers(ecs_plan, service.name)[service.name]["portMappings"]
        assert mapping["name"] == service.name and mapping["containerPort"] == service.port


def test_each_services_env_reaches_the_others_by_their_service_connect_names(ecs_plan: Plan) -> None:
    for service in spec.SERVICES:
        env = {e["name"]: e["value"] for e in _containers(ecs_plan, service.name)[service.name]["environment"]}
        for var, target in service.links.items():
            assert env[var] == f"http://{target}:{spec.BY_NAME[target].port}"


def test_ollama_calls_may_last_as_long_as_an_answer_and_the_backends_are_never_cut(ecs_plan: Plan) -> None:
    (server,) = _service(ecs_plan, "ollama").inputs["serviceConnectConfiguration"]["services"]
    assert server["timeout"]["perRequestTimeoutSeconds"] == spec.OLLAMA.request_timeout_seconds
    assert (spec.OLLAMA.request_timeout_seconds or 0) > 180, "the backend waits up to 180 s for an answer; the proxy's default is 15 s"
    (server,) = _service(ecs_plan, "backend").inputs["serviceConnectConfiguration"]["services"]
    assert server["timeout"]["perRequestTimeoutSeconds"] == 0


# The event bus: the backend's three tasks share events through Valkey.


def test_the_backend_gets_a_tls_valkey_bus_and_its_password_as_a_secret(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    (cache,) = plan.of_type("aws:elasticache/serverlessCache:ServerlessCache")
    assert cache.inputs["engine"] == "valkey"
    backend = _containers(ecs_plan, "backend")["backend"]
    env = {e["name"]: e["value"] for e in backend["environment"]}
    assert env[spec.EVENT_BUS.url_env] == f"rediss://{cache.state['endpoints'][0]['address']}:6379/0"
    secrets = {s["name"]: s["valueFrom"] for s in backend["secrets"]}
    assert secrets[spec.EVENT_BUS.password_env].endswith(":parameter/dixi/aws/event-bus-password")
    (user,) = plan.of_type("aws:elasticache/user:User")
    assert user.inputs["userName"] == "default", "the backend's password-only AUTH authenticates as the default user"
    assert isinstance(user.inputs["passwords"], Secret), "the password reaches the plan (and the state) only as a secret"
    (group,) = plan.of_type("aws:elasticache/userGroup:UserGroup")
    assert group.inputs["userIds"] == [user.inputs["userId"]] and cache.inputs["userGroupId"] == group.inputs["userGroupId"]


def test_one_backend_task_needs_no_bus(plan_of: PlanOf) -> None:
    plan = plan_of("aws", **{"dixi:backendTasks": "1", "dixi:backendMaxTasks": "1"})
    assert plan.recorded.of_type("aws:elasticache/serverlessCache:ServerlessCache") == []
    env = {e["name"] for e in _containers(plan, "backend")["backend"]["environment"]}
    assert spec.EVENT_BUS.url_env not in env
    assert plan.problems == []


# Identity: an execution role and a task role per service, each least privilege.


def test_each_service_has_its_own_execution_and_task_role(ecs_plan: Plan) -> None:
    for name in spec.BY_NAME:
        task = _task(ecs_plan, name).inputs
        assert task["executionRoleArn"].endswith(f"role/dixi-{name}-execution")
        assert task["taskRoleArn"].endswith(f"role/dixi-{name}-task")


def test_execution_roles_read_only_their_own_secrets_logs_and_images(ecs_plan: Plan) -> None:
    readers = {"frontend": set(), "backend": {"gesture-token", "event-bus-password"}, "vision": {"gesture-token"}, "ollama": set()}
    for name, expected in readers.items():
        statements = _statements(ecs_plan, f"dixi-{name}-execution")
        parameters = {s["Resource"].rsplit("/", 1)[-1] for s in statements if s["Action"] == "ssm:GetParameters"}
        assert parameters == expected, name
        (logs,) = [s for s in statements if s["Sid"] == "Logs"]
        assert logs["Resource"].endswith(f":log-group:/dixi/aws/{name}:*")
        (pull,) = [s for s in statements if s["Sid"] == "EcrPull"]
        assert pull["Resource"] == [f"arn:aws:ecr:us-east-1:123456789012:repository/dixi-images-{name}"]


def test_task_roles_allow_exactly_what_each_app_does(ecs_plan: Plan) -> None:
    names = {r.name for r in ecs_plan.recorded.of_type(ROLE_POLICY)}
    assert "dixi-frontend-task" not in names and "dixi-backend-task" not in names, "the web tier calls no AWS API"
    vision = _statements(ecs_plan, "dixi-vision-task")
    assert {(s["Action"], s["Resource"].endswith("/*")) for s in vision} == {("s3:ListBucket", False), ("s3:GetObject", True)}
    (ollama,) = _statements(ecs_plan, "dixi-ollama-task")
    assert ollama["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert "elasticfilesystem:AccessPointArn" in ollama["Condition"]["ArnEquals"], "through its access point only"


def test_the_gpu_instances_role_only_lets_the_ecs_agent_serve_this_cluster(ecs_plan: Plan) -> None:
    statements = _statements(ecs_plan, "dixi-gpu-role")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert all(a.startswith("ecs:") for a in actions), actions
    wide = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in wide] == ["ecs:DiscoverPollEndpoint"], "every other action is scoped to the cluster"


# Network: tasks in private subnets; each way in is the spec's.


def _ingress(plan: Plan) -> set[tuple[str, str, int]]:
    recorded = plan.recorded
    found = set()
    for rule in recorded.of_type(INGRESS):
        target = recorded.producer(rule.inputs["securityGroupId"], SECURITY_GROUP)
        assert target is not None
        source = rule.inputs.get("cidrIpv4") or (recorded.producer(rule.inputs.get("referencedSecurityGroupId"), SECURITY_GROUP) or target).name
        found.add((str(source), target.name, int(rule.inputs["fromPort"])))
    return found


def test_each_security_group_admits_only_the_calls_the_spec_makes(ecs_plan: Plan) -> None:
    assert _ingress(ecs_plan) == {
        ("0.0.0.0/0", "dixi-web-sg", 80),
        ("dixi-web-sg", "dixi-frontend-sg", 8080),
        ("dixi-web-sg", "dixi-backend-sg", 3001),
        ("dixi-frontend-sg", "dixi-backend-sg", 3001),
        ("dixi-vision-sg", "dixi-backend-sg", 3001),
        ("dixi-backend-sg", "dixi-vision-sg", 5000),
        ("dixi-backend-sg", "dixi-ollama-sg", 11434),
        ("dixi-backend-sg", "dixi-bus-sg", 6379),
        ("dixi-ollama-sg", "dixi-ollama-store-sg", 2049),
    }


def test_tasks_run_in_private_subnets_without_public_addresses(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    private = {r.id for r in plan.of_type("aws:ec2/subnet:Subnet") if "private" in r.name}
    assert len(private) == 2
    for name in spec.BY_NAME:
        network = _service(ecs_plan, name).inputs["networkConfiguration"]
        assert set(network["subnets"]) == private and network["assignPublicIp"] is False
    (group,) = plan.of_type(ASG)
    assert set(group.inputs["vpcZoneIdentifiers"]) <= private


def test_one_shared_nat_by_default_one_per_zone_when_asked(ecs_plan: Plan, plan_of: PlanOf) -> None:
    def routes(plan: Plan) -> list[str]:
        return sorted(r.inputs["routes"][0]["natGatewayId"] for r in plan.recorded.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name)

    assert len(ecs_plan.recorded.of_type("aws:ec2/natGateway:NatGateway")) == 1 and len(set(routes(ecs_plan))) == 1
    two = plan_of("aws", **{"dixi:natGateways": "2"})
    assert len(two.recorded.of_type("aws:ec2/natGateway:NatGateway")) == 2 and len(set(routes(two))) == 2
    for nat in two.recorded.of_type("aws:ec2/natGateway:NatGateway"):
        assert any(k.type == "aws:ec2/internetGateway:InternetGateway" for k in nat.depends_on)
    (endpoint,) = ecs_plan.recorded.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway" and endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"


# Secrets: never plain env.


def test_secrets_reach_containers_only_through_ssm_references(ecs_plan: Plan) -> None:
    for service in spec.SERVICES:
        container = _containers(ecs_plan, service.name)[service.name]
        env = {e["name"] for e in container["environment"]}
        secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        assert not env & {spec.GESTURE_TOKEN_ENV, spec.EVENT_BUS.password_env}
        assert set(service.secret_env) <= set(secrets)
        assert all(re.fullmatch(r"arn:aws:ssm:us-east-1:\d{12}:parameter/dixi/aws/[a-z-]+", v) for v in secrets.values())
    values = [str(s) for r in ecs_plan.recorded.of_type("random:index/randomPassword:RandomPassword") for s in [r.state.get("result")]]
    text = json.dumps([r.inputs for r in ecs_plan.recorded.of_type(TASK_DEFINITION)], default=repr)
    assert values and not any(v in text for v in values), "no secret value in any task definition"


# Containers: the spec's health command, limits and read-only roots.


def test_containers_carry_the_specs_health_command_open_files_and_read_only_root(ecs_plan: Plan) -> None:
    for service in spec.SERVICES:
        container = _containers(ecs_plan, service.name)[service.name]
        assert container["healthCheck"]["command"] == ["CMD", *service.health_command]
        assert container["healthCheck"]["startPeriod"] <= 300, "ECS accepts a start period up to 300 s"
        if service.max_open_files:
            assert container["ulimits"] == [{"name": "nofile", "softLimit": service.max_open_files, "hardLimit": service.max_open_files}]
        assert container.get("readonlyRootFilesystem", False) is (service.scratch_paths is not None)


def _final_stage_volumes(dockerfile: Path) -> set[str]:
    stages = dockerfile.read_text().split("\nFROM ")
    return {p for line in stages[-1].splitlines() if line.startswith("VOLUME ") for p in json.loads(line[len("VOLUME ") :])}


@pytest.mark.parametrize("service", [s for s in spec.SERVICES if s is not spec.OLLAMA], ids=lambda s: s.name)
def test_every_fargate_task_volume_is_a_volume_of_the_image_so_it_takes_the_images_owner(service: spec.Service) -> None:
    # Fargate mounts task volumes as root's, 0755, unless the image declares the path a VOLUME
    # (docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html); the apps do not run as root.
    mounted = {p for p in service.scratch_paths or ()} | {v.mount_path for v in service.volumes}
    assert mounted <= _final_stage_volumes(ROOT / service.build_context / "Dockerfile"), f"{service.name}: declare VOLUME for {sorted(mounted)}"


def test_the_specs_health_commands_are_the_images_own_except_ollamas() -> None:
    for service in spec.SERVICES:
        dockerfile = (ROOT / service.build_context / "Dockerfile").read_text()
        match = re.search(r"HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])", dockerfile)
        assert match is not None, service.name
        image_command = tuple(json.loads(match.group(1)))
        if service is spec.OLLAMA:
            assert image_command != service.health_command, "the image's check waits for the models, longer than ECS's 300 s start period"
            continue
        assert image_command == service.health_command, service.name


def test_fargate_tasks_hold_the_specs_requests_and_the_service_connect_proxy() -> None:
    for service in (spec.FRONTEND, spec.BACKEND, spec.VISION):
        cpu, memory = fargate_task_size(service)
        assert memory in catalog.FARGATE_SIZES[cpu]
    assert fargate_task_size(spec.FRONTEND) == (512, 1024)
    assert fargate_task_size(spec.BACKEND) == (1024, 2048)


def test_vision_gets_the_models_bucket_through_a_sync_container_that_must_finish_first(ecs_plan: Plan) -> None:
    containers = _containers(ecs_plan, "vision")
    sync = containers["models-sync"]
    assert sync["essential"] is False and sync["command"][:2] == ["s3", "sync"]
    (bucket,) = ecs_plan.recorded.of_type("aws:s3/bucket:Bucket")
    assert f"s3://{bucket.state['bucket']}" in sync["command"]
    assert containers["vision"]["dependsOn"] == [{"containerName": "models-sync", "condition": "SUCCESS"}]
    models = next(m for m in containers["vision"]["mountPoints"] if m["sourceVolume"] == "models")
    assert models["readOnly"] is True and models["containerPath"] == spec.VISION.volumes[0].mount_path


def test_ollamas_models_live_on_encrypted_efs_through_its_access_point(ecs_plan: Plan) -> None:
    plan = ecs_plan.recorded
    (store,) = plan.of_type("aws:efs/fileSystem:FileSystem")
    assert store.inputs["encrypted"] is True and store.retain_on_delete
    (point,) = plan.of_type("aws:efs/accessPoint:AccessPoint")
    assert point.inputs["posixUser"] == {"uid": spec.OLLAMA.run_as_uid, "gid": spec.OLLAMA.run_as_uid}
    (volume,) = [v for v in _task(ecs_plan, "ollama").inputs["volumes"] if v["name"] == spec.OLLAMA.volumes[0].name]
    config = volume["efsVolumeConfiguration"]
    assert config["fileSystemId"] == store.id and config["transitEncryption"] == "ENABLED"
    assert config["authorizationConfig"] == {"accessPointId": point.id, "iam": "ENABLED"}
    assert len(plan.of_type("aws:efs/mountTarget:MountTarget")) == 2, "one mount target per private subnet"
    waits = plan.depends_transitively(_service(ecs_plan, "ollama"))
    assert all(m.key in waits for m in plan.of_type("aws:efs/mountTarget:MountTarget")), "tasks mount only once the targets exist"


def test_each_service_logs_to_its_own_group_with_the_stacks_retention(ecs_plan: Plan) -> None:
    groups = {r.inputs["name"]: r for r in ecs_plan.recorded.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {f"/dixi/aws/{s.name}" for s in spec.SERVICES}
    assert {g.inputs["retentionInDays"] for g in groups.values()} == {30}
    for service in spec.SERVICES:
        options = _containers(ecs_plan, service.name)[service.name]["logConfiguration"]["options"]
        assert options == {"awslogs-group": f"/dixi/aws/{service.name}", "awslogs-region": "us-east-1", "awslogs-stream-prefix": service.name}


# Teardown: destroy never hangs on the capacity provider, and keeps the data.


def _destroy_order(plan: RecordedPlan) -> list[ResourceKey]:
    """The order `pulumi destroy` deletes custom resources in: each after everything that depends on it."""
    custom = [r for r in plan.resources if r.custom]
    waits = {r.key: plan.depends_transitively(r) for r in custom}
    remaining = {r.key for r in custom}
    order: list[ResourceKey] = []
    while remaining:
        # deletable: nothing still standing depends on it
        ready = sorted(k for k in remaining if not any(k in waits[o] for o in remaining if o != k))
        assert ready, "a dependency cycle"
        order.extend(ready)
        remaining -= set(ready)
    return order


def test_destroy_removes_services_then_capacity_then_instances_then_the_cluster(ecs_plan: Plan) -> None:
    order = _destroy_order(ecs_plan.recorded)
    position = {k: i for i, k in enumerate(order)}

    def first(type_: str) -> int:
        return min(i for k, i in position.items() if k.type == type_)

    def last(type_: str) -> int:
        return max(i for k, i in position.items() if k.type == type_)

    assert last(SERVICE) < first(CLUSTER_PROVIDERS) < first(CAPACITY_PROVIDER) < first(ASG) < first(LAUNCH_TEMPLATE)
    assert first(ASG) < first(CLUSTER), "the instances go before the cluster they are registered in"
    assert position[_service(ecs_plan, "ollama").key] < first("aws:efs/mountTarget:MountTarget"), "Ollama unmounts before the targets go"
    assert last(SERVICE) < first("aws:lb/listenerRule:ListenerRule")


def test_nothing_keeps_a_gpu_instance_alive_on_destroy(ecs_plan: Plan) -> None:
    (provider,) = ecs_plan.recorded.of_type(CAPACITY_PROVIDER)
    assert provider.inputs["autoScalingGroupProvider"]["managedTerminationProtection"] == "DISABLED"
    (group,) = ecs_plan.recorded.of_type(ASG)
    assert group.inputs["forceDelete"] is True and group.inputs["protectFromScaleIn"] is False
    assert group.ignore_changes == ["desiredCapacity"], "managed scaling owns the size"


def _broken(plan: Plan, change: Callable[[RecordedPlan], None]) -> list[str]:
    import copy

    from infra.checks import RULES, load_rules

    load_rules()
    broken = copy.deepcopy(plan.recorded)
    change(broken)
    return [p.message for p in RULES["ecs-capacity-teardown"](broken, ROOT)]


def test_the_teardown_rule_passes_this_stack_and_fails_each_way_destroy_could_hang(ecs_plan: Plan) -> None:
    assert _broken(ecs_plan, lambda plan: None) == []

    def protect(plan: RecordedPlan) -> None:
        plan.of_type(CAPACITY_PROVIDER)[0].inputs["autoScalingGroupProvider"]["managedTerminationProtection"] = "ENABLED"
        plan.of_type(ASG)[0].inputs["protectFromScaleIn"] = True

    def no_force(plan: RecordedPlan) -> None:
        plan.of_type(ASG)[0].inputs["forceDelete"] = False

    def unordered(plan: RecordedPlan) -> None:
        # as if the group and its launch template named the cluster by a string, not by its output
        for resource in plan.resources:
            resource.dependencies = [d for d in resource.dependencies if d.type != CLUSTER]
        for service in plan.of_type(SERVICE):
            service.dependencies = [d for d in service.dependencies if d.type not in (CLUSTER_PROVIDERS, "dixi:aws:EcsService")]

    messages = _broken(ecs_plan, protect)
    assert any("managedTerminationProtection ENABLED" in m for m in messages) and any("protects its instances" in m for m in messages)
    assert any("without forceDelete" in m for m in _broken(ecs_plan, no_force))
    messages = _broken(ecs_plan, unordered)
    assert any("ClusterContainsContainerInstancesException" in m for m in messages)
    assert any("may detach the provider while the service uses it" in m for m in messages)


def test_destroy_keeps_the_models_bucket_and_the_model_store_unless_told(ecs_plan: Plan, plan_of: PlanOf) -> None:
    kept = {r.type for r in ecs_plan.recorded.resources if r.retain_on_delete}
    assert {"aws:s3/bucket:Bucket", "aws:efs/fileSystem:FileSystem"} <= kept
    assert "aws:efs/mountTarget:MountTarget" not in kept, "mount targets hold no data; the VPC must be free to go"
    throwaway = plan_of("aws", **{"dixi:retainData": "false"})
    assert not [r.name for r in throwaway.recorded.resources if r.retain_on_delete and r.type != "docker-build:index:Image"]


# Lookups and limits.


def test_different_lookup_answers_move_no_subnet_and_only_retarget_the_gpu_group() -> None:
    def inputs(plan: RecordedPlan) -> dict[tuple[str, str], str]:
        return {(r.type, r.name): json.dumps(r.inputs, sort_keys=True, default=repr) for r in plan.resources}

    first = plan_stack("aws", invoke_overrides=zone_answers(["us-east-1a", "us-east-1b", "us-east-1c"], ["us-east-1b", "us-east-1c"]))
    # An impaired zone, and the GPU type now offered in only one of the stack's two zones.
    again = plan_stack("aws", prior=first.recorded, invoke_overrides=zone_answers(["us-east-1c", "us-east-1d", "us-east-1f"], ["us-east-1c"]))
    changed = sorted(k for k, v in inputs(again.recorded).items() if inputs(first.recorded).get(k) != v)
    assert changed == [(ASG, "dixi-gpu-asg")], f"only the GPU group's subnets may follow the offerings (an in-place update); changed: {changed}"
    (group,) = again.recorded.of_type(ASG)
    (subnet,) = [again.recorded.producer(s, "aws:ec2/subnet:Subnet") for s in group.inputs["vpcZoneIdentifiers"]]
    assert subnet is not None and subnet.inputs["availabilityZone"] == "us-east-1c"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("dixi:backendMaxTasks", "2", "is below dixi:backendTasks (3)"),
        ("dixi:natGateways", "3", "'3' is out of range; allowed: 1 to 2"),
        ("dixi:frontendTasks", "0", "'0' is out of range; allowed: 1 to 20"),
        ("dixi:backendTasks", "many", "is not a whole number"),
    ],
)
def test_a_bad_ecs_setting_is_one_line_naming_the_key(plan_of: PlanOf, key: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        plan_of("aws", **{key: value})
    (line,) = error.value.lines
    assert line.startswith(f"Pulumi.aws.yaml: {key}: ") and words in line, line
