"""Every rule in infra/checks, shown failing on a plan that breaks it, and passing on one that does not.

`BAD` maps each registered rule to a plan that breaks it (hand-made from
`infra.plan.model`, no Pulumi involved) and words its problem must contain. Its
keys must equal the registered rules, so a rule without a failing case fails
the suite. The same rules run clean on every committed stack
(tests/infra/test_invariants.py).
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import spec
from infra.checks import RULES, load_rules
from infra.checks import userdata as userdata_rules
from infra.checks.adapters import all_workloads
from infra.common import cloudinit, compose
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT, Plan

SERVICES = ("frontend", "backend", "vision", "ollama")
STACK = ResourceKey("pulumi:pulumi:Stack", "dixi-test")
COMPONENT = ResourceKey("dixi:aws:Test", "dixi")
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
INSTANCE = "aws:ec2/instance:Instance"
DO_DROPLET = "digitalocean:index/droplet:Droplet"


def _r(type_: str, resource_name: str, id_: str = "", parent: ResourceKey | None = COMPONENT, **inputs: Any) -> RecordedResource:
    return RecordedResource(type_, resource_name, True, parent, inputs, id=id_ or f"{resource_name}-id", state=dict(inputs))


def _plan(*resources: RecordedResource, **fields: Any) -> RecordedPlan:
    component = RecordedResource(COMPONENT.type, COMPONENT.name, False, STACK, {})
    stack = RecordedResource(STACK.type, STACK.name, False, None, {})
    return RecordedPlan("dixi", "test", None, [stack, component, *resources], **fields)


def _user_data(compose_document: dict[str, Any] | None = None, script: str | None = None) -> str:
    document = compose_document or compose.render({s: f"registry.example/{s}:1" for s in SERVICES}, "llama3.2")
    return cloudinit.render(compose.dump(document), script or cloudinit.boot_script([("/var/lib/dixi/x", 10001)], []))


def _vm(user_data: str, name: str = "vm", **inputs: Any) -> RecordedResource:
    return _r(INSTANCE, name, **{"userData": user_data, "metadataOptions": {"httpTokens": "required"}, "instanceType": "t3.micro", **inputs})


def _policy_doc(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


def _vpc_with_lb(depends: bool) -> RecordedPlan:
    igw = _r("aws:ec2/internetGateway:InternetGateway", "dixi-igw", vpcId="vpc-1")
    a = _r("aws:ec2/subnet:Subnet", "dixi-a", vpcId="vpc-1", availabilityZone="us-east-1a")
    b = _r("aws:ec2/subnet:Subnet", "dixi-b", vpcId="vpc-1", availabilityZone="us-east-1b")
    lb = _r("aws:lb/loadBalancer:LoadBalancer", "dixi-lb", internal=False, subnets=[a.id, b.id])
    lb.dependencies = [a.key, b.key] + ([igw.key] if depends else [])
    return _plan(igw, a, b, lb)


def _host_with_role(depends: bool) -> RecordedPlan:
    role = _r("aws:iam/role:Role", "dixi-role", name="dixi-role")
    policy = _r("aws:iam/rolePolicy:RolePolicy", "dixi-role-policy", role=role.id, policy=_policy_doc("s3:GetObject", "arn:aws:s3:::b/*"))
    profile = _r("aws:iam/instanceProfile:InstanceProfile", "dixi-profile", name="dixi-profile", role="dixi-role")
    vm = _vm("", name="dixi-vm", iamInstanceProfile="dixi-profile")
    vm.dependencies = [profile.key] + ([policy.key] if depends else [])
    return _plan(role, policy, profile, vm)


def _broken_compose() -> str:
    document = yaml.safe_load(compose.dump(compose.render({s: "img" for s in SERVICES}, "m")))
    document["services"]["backend"]["depends_on"]["vision"]["condition"] = "service_ready"
    return _user_data(document)


def _stream_prefix() -> str:
    document = compose.render({s: "img" for s in SERVICES}, "m", {"driver": "awslogs", "options": {"awslogs-group": "/dixi/x", "awslogs-region": "us-east-1"}})
    document["services"]["backend"]["logging"]["options"]["awslogs-stream-prefix"] = "backend"
    return _user_data(document)


def _swallowing_script() -> str:
    return "#!/bin/bash\nset -euo pipefail\ndocker compose -f /opt/dixi/docker-compose.yml up -d || docker compose ps\n"


def _replaced_gpu_host() -> RecordedPlan:
    host = _vm("", name="dixi-gpu", userDataReplaceOnChange=True, instanceType="g4dn.xlarge")
    return _plan(host)


def _exposed_listener() -> RecordedPlan:
    lb = _r("aws:lb/loadBalancer:LoadBalancer", "dixi-lb", internal=False, subnets=[])
    lb.state["arn"] = "arn:lb"
    group = _r("aws:lb/targetGroup:TargetGroup", "dixi-ollama", port=11434)
    group.state["arn"] = "arn:tg"
    listener = _r("aws:lb/listener:Listener", "dixi-http", loadBalancerArn="arn:lb", port=80, defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}])
    return _plan(lb, group, listener)


def _backends(replicas: int, bus: bool = False) -> dict[str, Any]:
    """The cloud compose file with `replicas` backends, given the bus URL the spec wires when `bus`."""
    document = compose.render({s: "img" for s in SERVICES}, "m")
    backend = document["services"]["backend"]
    backend["deploy"] = {"replicas": replicas}
    if bus:
        backend["environment"] = spec.service_env(spec.BACKEND, lambda s: s.name, "m", event_bus_url=spec.EVENT_BUS.url("valkey"))
    return document


def _secret_in_user_data() -> RecordedPlan:
    password = _r("random:index/randomPassword:RandomPassword", "dixi-token")
    password.state["result"] = Secret("s3cr3t-token-value")
    return _plan(password, _vm(_user_data(script="#!/bin/bash\nset -e\necho s3cr3t-token-value\n")))


def _do_droplet_with_secret(block: bool) -> RecordedPlan:
    """A DigitalOcean Droplet whose secret-marked user data hands it a secret file, with or without the metadata block; tests/infra/test_do_checks.py has the rule's own tests."""
    password = _r("random:index/randomPassword:RandomPassword", "dixi-token")
    password.state["result"] = Secret("s3cr3t-token-value")
    steps = [f"iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}"] if block else []
    unit = ("/etc/systemd/system/dixi-metadata-block.service", f"[Service]\nType=oneshot\nExecStart=/usr/sbin/iptables -I DOCKER-USER {cloudinit.METADATA_BLOCK_RULE}\n")
    text = cloudinit.render(compose.dump(compose.render({s: "img" for s in SERVICES}, "m")), cloudinit.boot_script([], steps), files=[unit, ("/opt/dixi/secrets.env", "GESTURE_TOKEN=s3cr3t-token-value\n")])
    return _plan(password, _r(DO_DROPLET, "dixi-gpu", userData=Secret(text), size="s-2vcpu-4gb", region="tor1"))


def _cascading_gpu_droplet(through_balancer: bool = False) -> RecordedPlan:
    """A delete-first GPU Droplet whose private address is in the app Droplet's user data (or a balancer's instead)."""
    gpu = _r(DO_DROPLET, "dixi-gpu", id_="357862629", size="gpu-4000adax1-20gb", region="tor1")
    gpu.delete_before_replace = True
    gpu.state["ipv4AddressPrivate"] = "10.60.11.142"
    address = "10.60.3.3" if through_balancer else gpu.state["ipv4AddressPrivate"]
    app = _r(DO_DROPLET, "dixi-app-0", userData=_user_data(script=f"#!/bin/bash\nset -e\necho OLLAMA_BASE_URL=http://{address}:11434\n"), size="s-2vcpu-4gb", region="tor1")
    app.dependencies = [gpu.key]
    return _plan(gpu, app)


def _do_gpu_droplet(region: str) -> RecordedPlan:
    """The catalog's default GPU size in `region`; tests/infra/test_do_checks.py has the rule's own tests."""
    from infra.digitalocean import catalog

    return _plan(_r(DO_DROPLET, "dixi-gpu", size=catalog.DEFAULT_GPU_SIZE, region=region, image="gpu-h100x1-base"))


def _region_without_the_default_gpu() -> str:
    from infra.digitalocean import catalog

    return next(r for r in catalog.REGIONS if r not in catalog.GPU_REGIONS[catalog.DEFAULT_GPU_SIZE])


def _region_with_the_default_gpu() -> str:
    from infra.digitalocean import catalog

    return catalog.GPU_REGIONS[catalog.DEFAULT_GPU_SIZE][0]


def _gpu_capacity(protection: str) -> RecordedPlan:
    """A cluster with a capacity provider of EC2 instances and a service on it, each waiting for what it must."""
    cluster = _r("aws:ecs/cluster:Cluster", "dixi-cluster", name="dixi-s")
    group = _r("aws:autoscaling/group:Group", "dixi-asg", forceDelete=True, protectFromScaleIn=False)
    group.state["arn"] = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/dixi-asg"
    group.dependencies = [cluster.key]
    provider = _r("aws:ecs/capacityProvider:CapacityProvider", "dixi-gpu", name="dixi-gpu", autoScalingGroupProvider={"autoScalingGroupArn": group.state["arn"], "managedTerminationProtection": protection})
    association = _r("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "dixi-capacity", clusterName="dixi-s", capacityProviders=["FARGATE", "dixi-gpu"])
    service = _r("aws:ecs/service:Service", "dixi-ollama", name="ollama", capacityProviderStrategies=[{"capacityProvider": "dixi-gpu", "weight": 1}])
    service.dependencies = [association.key]
    return _plan(cluster, group, provider, association, service)


def _task_definition(container: dict[str, Any], **inputs: Any) -> RecordedPlan:
    """One ECS task definition (Fargate, 512 CPU units, 1 GiB) running `container`; tests/infra/test_ecs_checks.py has the rules' own tests."""
    fields = {"family": "dixi-task", "containerDefinitions": json.dumps([{"image": "img", "essential": True, **container}]), "cpu": "512", "memory": "1024", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], **inputs}
    return _plan(_r("aws:ecs/taskDefinition:TaskDefinition", "dixi-task", **fields))


def _gce_gpu_vm(maintenance: str) -> RecordedResource:
    """An instance template for n1-standard-4 with one T4 and no external IP; tests/infra/test_gcp_checks.py has the rule's own tests."""
    return _r("gcp:compute/instanceTemplate:InstanceTemplate", "dixi-gpu", machineType="n1-standard-4", guestAccelerators=[{"type": "nvidia-tesla-t4", "count": 1.0}],
              scheduling={"onHostMaintenance": maintenance}, networkInterfaces=[{"network": "dixi-vpc"}])


def _cloud_run_gpu(location: str) -> RecordedResource:
    """Ollama on Cloud Run with one L4, 4 CPU, 16 GiB, CPU always allocated, at most one instance; tests/infra/test_gcp_checks.py has the rule's own tests."""
    container = {"name": "ollama", "image": "ollama/ollama", "resources": {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}, "cpuIdle": False}}
    return _r("gcp:cloudrunv2/service:Service", "dixi-ollama", location=location,
              template={"containers": [container], "nodeSelector": {"accelerator": "nvidia-l4"}, "scaling": {"maxInstanceCount": 1.0}})


def _k8s(api_version: str, kind: str, name: str, **fields: Any) -> RecordedResource:
    """A Kubernetes object in namespace dixi as the provider registers it; tests/infra/test_k8s_checks.py has the rules' own tests."""
    module = api_version if "/" in api_version else f"core/{api_version}"
    return _r(f"kubernetes:{module}:{kind}", f"dixi-{name}", apiVersion=api_version, kind=kind, metadata={"name": name, "namespace": "dixi"}, **fields)


def _k8s_deployment(security: dict[str, Any]) -> RecordedResource:
    container = {"name": "web", "image": "registry.example/web:1", "securityContext": security}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}
    return _k8s("apps/v1", "Deployment", "web", spec={"replicas": 2.0, "selector": {"matchLabels": {"app": "web"}}, "template": template})


def _k8s_route(**rule: Any) -> RecordedResource:
    return _k8s("gateway.networking.k8s.io/v1", "HTTPRoute", "dixi", spec={"parentRefs": [{"name": "dixi"}], "rules": [{"backendRefs": [{"name": "backend", "port": 3001.0}], **rule}]})


# rule -> (a plan that breaks it, words its problem must contain)
BAD: dict[str, Callable[[], tuple[RecordedPlan, str]]] = {
    "checks-cover-entry-points": lambda: (_plan(_r("gcp:compute/unknownThing:TargetSslProxyFirewall", "dixi-fw")), "no check adapter reads"),
    "private-ports-not-public": lambda: (_plan(_r(SG_RULE, "dixi-r", ipProtocol="tcp", fromPort=11434, toPort=11434, cidrIpv4="0.0.0.0/0")), "port 11434 (ollama)"),
    "ssh-not-public": lambda: (_plan(_r(SG_RULE, "dixi-ssh", ipProtocol="tcp", fromPort=20, toPort=25, cidrIpv4="0.0.0.0/0")), "opens port 22 (SSH) to 0.0.0.0/0; SSH must be opened only to configured addresses"),
    "parented-by-component": lambda: (_plan(_r("aws:ec2/securityGroup:SecurityGroup", "stray", parent=STACK)), "not under a dixi:* component"),
    "mocks-answer-every-invoke": lambda: (_plan(unanswered_invokes=["aws:ec2/getAmi:getAmi"]), "no answer for the invoke aws:ec2/getAmi:getAmi"),
    "everything-priced": lambda: (_plan(_r("aws:ec2transitgateway/transitGateway:TransitGateway", "dixi-tgw")), "has no price"),
    "image-build-context": lambda: (_plan(_r("docker-build:index:Image", "dixi-img", context={"location": "app/nowhere"}, dockerfile={"location": "app/nowhere/Dockerfile"})), "'app/nowhere' does not exist"),
    "cloud-init-schema": lambda: (_plan(_vm("#cloud-config\nruncmd: 5\nwrite_files:\n  - path: /x\n    permissions: 644\n")), "runcmd"),
    "compose-spec": lambda: (_plan(_vm(_broken_compose())), "services/backend/depends_on"),
    "compose-log-options": lambda: (_plan(_vm(_stream_prefix())), "refuses the option 'awslogs-stream-prefix'"),
    "boot-fails-loudly": lambda: (_plan(_vm(_user_data(script=_swallowing_script()))), "starts the app but carries on when that fails"),
    "user-data-size": lambda: (_plan(_vm("#cloud-config\n" + "#" * 17000)), "EC2 accepts at most 16384"),
    "secret-not-in-user-data": lambda: (_secret_in_user_data(), "1 secret value(s) in plain text"),
    "replacement-order": lambda: (_replaced_gpu_host(), "holds GPU quota"),
    "replacement-cascade": lambda: (_cascading_gpu_droplet(), "holds ipv4AddressPrivate of dixi-gpu, which is replaced delete-first"),
    "alb-two-zones": lambda: (_plan(
        _r("aws:ec2/subnet:Subnet", "dixi-a", id_="subnet-a", availabilityZone="us-east-1a"),
        _r("aws:ec2/subnet:Subnet", "dixi-b", id_="subnet-b", availabilityZone="us-east-1a"),
        _r("aws:lb/loadBalancer:LoadBalancer", "dixi-alb", loadBalancerType="application", subnets=["subnet-a", "subnet-b"]),
    ), "1 availability zone"),
    "imdsv2-required": lambda: (_plan(_r(INSTANCE, "dixi-vm", metadataOptions={"httpTokens": "optional"})), "httpTokens is 'optional'"),
    "iam-policy": lambda: (_plan(_r("aws:iam/rolePolicy:RolePolicy", "dixi-p", policy=Secret(_policy_doc("s3:GetObjectt", "arn:aws:s3:::b/*")))), "Unknown action s3:GetObjectt"),
    "secret-read-scoped": lambda: (_plan(_r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "dixi-ssm", role="r", policyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")), "ssm:GetParameter, ssm:GetParameters on every resource"),
    "lb-after-internet-gateway": lambda: (_vpc_with_lb(depends=False), "does not wait for the internet gateway"),
    "compute-after-role-policies": lambda: (_host_with_role(depends=False), "does not wait for RolePolicy dixi-role-policy"),
    "event-bus-for-replicas": lambda: (_plan(_vm(_user_data(_backends(2)))), "runs backend with up to 2 replica(s) (/opt/dixi/docker-compose.yml: deploy.replicas 2), but its env has no EVENT_BUS_URL"),
    "ecs-container-definitions": lambda: (_task_definition({"name": "backend", "portMappings": [{"containerPort": 3001, "protocol": "TCP"}]}), "containerDefinitions[0].portMappings[0].protocol is 'TCP'"),
    "fargate-task-size": lambda: (_task_definition({"name": "x"}, cpu="256", memory="4096"), "with cpu 256 Fargate offers 512, 1024, 2048 MiB"),
    "ecs-gpu-placement": lambda: (_task_definition({"name": "x", "resourceRequirements": [{"type": "GPU", "value": "1"}]}), "requiresCompatibilities includes FARGATE, which offers no GPUs"),
    "ecs-log-options": lambda: (_task_definition({"name": "x", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/dixi/x", "awslogs-region": "us-east-1"}}}), "without awslogs-stream-prefix, which ECS requires on Fargate"),
    "ecs-matches-spec": lambda: (_task_definition({"name": "ollama", "portMappings": [{"containerPort": 8080}]}), "maps port(s) 8080, but spec.py serves ollama on 11434"),
    "ecs-capacity-teardown": lambda: (_gpu_capacity("ENABLED"), "has managedTerminationProtection ENABLED"),
    "gce-gpu-vm": lambda: (_plan(_gce_gpu_vm("MIGRATE")), "scheduling.onHostMaintenance is 'MIGRATE'"),
    "cloud-run-gpu": lambda: (_plan(_cloud_run_gpu("us-west1")), "runs in us-west1, which does not offer Cloud Run nvidia-l4 GPUs"),
    "k8s-schema": lambda: (_plan(_k8s_deployment({"readOnlyRootFileSystem": True})), "spec.template.spec.containers[0].securityContext: Additional properties are not allowed ('readOnlyRootFileSystem' was unexpected)"),
    "k8s-crd-schema": lambda: (_plan(_k8s_route(timeout="3600s")), "spec.rules[0]: Additional properties are not allowed ('timeout' was unexpected)"),
    "k8s-checkov": lambda: (_plan(_k8s_deployment({"privileged": True})), "CKV_K8S_16 fails on Deployment dixi/web: Container should not be privileged"),
    "do-catalog": lambda: (_do_gpu_droplet(_region_without_the_default_gpu()), "is offered only in"),
}  # fmt: skip

# rule -> a plan like the bad one, fixed: the rule must say nothing.
GOOD: dict[str, Callable[[], RecordedPlan]] = {
    "private-ports-not-public": lambda: _plan(
        _r(SG_RULE, "dixi-web", ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
        _r(SG_RULE, "dixi-lan", ipProtocol="tcp", fromPort=11434, toPort=11434, cidrIpv4="10.0.0.0/16"),
    ),
    "compose-spec": lambda: _plan(_vm(_user_data())),
    "compose-log-options": lambda: _plan(_vm(_user_data())),
    "boot-fails-loudly": lambda: _plan(_vm(_user_data())),
    "user-data-size": lambda: _plan(_vm(_user_data())),
    "lb-after-internet-gateway": lambda: _vpc_with_lb(depends=True),
    "compute-after-role-policies": lambda: _host_with_role(depends=True),
    "iam-policy": lambda: _plan(_r("aws:iam/rolePolicy:RolePolicy", "dixi-p", policy=_policy_doc("s3:GetObject", "arn:aws:s3:::b/*"))),
    "secret-read-scoped": lambda: _plan(_r("aws:iam/rolePolicy:RolePolicy", "dixi-p", policy=_policy_doc("ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/x"))),
    "event-bus-for-replicas": lambda: _plan(_vm(_user_data(_backends(2, bus=True)))),
    "ecs-capacity-teardown": lambda: _gpu_capacity("DISABLED"),
    "gce-gpu-vm": lambda: _plan(_gce_gpu_vm("TERMINATE")),
    "cloud-run-gpu": lambda: _plan(_cloud_run_gpu("us-central1")),
    "k8s-schema": lambda: _plan(_k8s_deployment({"readOnlyRootFilesystem": True})),
    "k8s-crd-schema": lambda: _plan(_k8s_route(timeouts={"request": "0s"})),
    "ssh-not-public": lambda: _plan(
        _r(SG_RULE, "dixi-ssh", ipProtocol="tcp", fromPort=22, toPort=22, cidrIpv4="203.0.113.0/24"),
        _r(SG_RULE, "dixi-web", ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
    ),
    "secret-not-in-user-data": lambda: _do_droplet_with_secret(block=True),
    "do-catalog": lambda: _do_gpu_droplet(_region_with_the_default_gpu()),
    "replacement-cascade": lambda: _cascading_gpu_droplet(through_balancer=True),
}  # fmt: skip

NEEDS_CLOUD_INIT = {"cloud-init-schema"}


def test_every_registered_rule_has_a_plan_that_breaks_it() -> None:
    assert set(BAD) == set(load_rules()), f"rules without a failing case: {set(load_rules()) - set(BAD)}; cases without a rule: {set(BAD) - set(load_rules())}"


@pytest.mark.parametrize("rule", sorted(BAD))
def test_the_rule_reports_the_plan_that_breaks_it(rule: str) -> None:
    if rule in NEEDS_CLOUD_INIT and shutil.which("cloud-init") is None:
        pytest.skip("Debian's cloud-init is not installed (.ci/run installs it)")
    load_rules()
    plan, words = BAD[rule]()
    problems = RULES[rule](plan, ROOT)
    assert problems, f"{rule} found nothing wrong with a plan that breaks it"
    assert any(words in p.message for p in problems), f"{rule}: {words!r} not in {[p.message for p in problems]}"


@pytest.mark.parametrize("rule", sorted(GOOD))
def test_the_rule_accepts_the_fixed_plan(rule: str) -> None:
    load_rules()
    assert RULES[rule](GOOD[rule](), ROOT) == []


def test_cloud_init_schema_warns_instead_of_crashing_where_cloud_init_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    load_rules()
    monkeypatch.setattr(userdata_rules, "cloud_init_binary", lambda: None)
    problems = RULES["cloud-init-schema"](_plan(_vm(_user_data())), ROOT)
    assert [p.severity for p in problems] == ["warning"] and "not validated" in problems[0].message


def test_alb_two_zones_does_not_count_a_subnet_it_cannot_see_as_a_zone() -> None:
    load_rules()
    a = _r("aws:ec2/subnet:Subnet", "dixi-a", id_="subnet-a", availabilityZone="us-east-1a")
    alb = _r("aws:lb/loadBalancer:LoadBalancer", "dixi-alb", loadBalancerType="application", subnets=["subnet-a", "subnet-elsewhere"])
    problems = RULES["alb-two-zones"](_plan(a, alb), ROOT)
    assert [p.severity for p in problems] == ["warning"] and "could not be judged" in problems[0].message and "subnet-elsewhere" in problems[0].message


def test_iam_policy_reads_an_attached_managed_policy_it_does_not_know_as_not_judged() -> None:
    load_rules()
    plan = _plan(_r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "dixi-x", role="r", policyArn="arn:aws:iam::aws:policy/AdministratorAccess"))
    problems = RULES["iam-policy"](plan, ROOT)
    assert [p.severity for p in problems] == ["warning"] and "does not hold" in problems[0].message


def test_user_data_of_a_launch_template_is_read_through_its_base64() -> None:
    load_rules()
    encoded = base64.b64encode(_user_data(script=_swallowing_script()).encode()).decode()
    template = _r("aws:ec2/launchTemplate:LaunchTemplate", "dixi-lt", userData=encoded, metadataOptions={"httpTokens": "required"})
    problems = RULES["boot-fails-loudly"](_plan(template), ROOT)
    assert problems and "carries on" in problems[0].message


def test_a_listener_forwarding_the_internet_to_ollama_is_an_exposure() -> None:
    load_rules()
    problems = RULES["private-ports-not-public"](_exposed_listener(), ROOT)
    assert problems and "listener 80 -> target port 11434" in problems[0].message


def test_a_secret_wrapped_user_data_is_reported_even_without_a_match() -> None:
    load_rules()
    vm = _vm("", name="dixi-vm")
    vm.inputs["userData"] = Secret(_user_data())
    problems = RULES["secret-not-in-user-data"](_plan(vm), ROOT)
    assert problems and "marked secret" in problems[0].message


def test_a_droplet_secret_without_the_metadata_block_is_an_error() -> None:
    load_rules()
    problems = RULES["secret-not-in-user-data"](_do_droplet_with_secret(block=False), ROOT)
    assert [p.severity for p in problems] == ["error"] and "blocks containers from the metadata service" in problems[0].message


def test_the_compose_log_vocabulary_matches_what_the_local_file_uses() -> None:
    local = yaml.safe_load((ROOT / compose.LOCAL_FILE).read_text())
    assert userdata_rules.log_option_errors(local) == [], "the generated local compose file must start too"


def test_the_rules_never_call_a_clean_plan_clean_without_an_adapter(tmp_path: Path) -> None:
    load_rules()
    unknown = _r("digitalocean:index/someNewBalancer:SomeNewLoadBalancer", "dixi-x")
    problems = RULES["checks-cover-entry-points"](_plan(unknown), ROOT)
    assert problems and problems[0].severity == "error"


# --- event-bus-for-replicas ------------------------------------------------------------------------

BUS = "event-bus-for-replicas"


def _bus_problems(plan: RecordedPlan) -> list[tuple[str, str]]:
    load_rules()
    return [(p.severity, p.message) for p in RULES[BUS](plan, ROOT)]


def test_the_default_aws_ec2_plan_runs_one_backend_replica_so_the_rule_looked_and_found_no_bus_needed(ec2_plan: Plan) -> None:
    load_rules()
    backends = [w for w in all_workloads(ec2_plan.recorded) if w.service == spec.BACKEND.name]
    assert [(w.resource.type, w.max_replicas) for w in backends] == [(INSTANCE, 1)], "the rule read the host's compose file and found the one backend it runs"
    assert {"OLLAMA_BASE_URL", "GESTURE_TOKEN"} <= backends[0].env and backends[0].unread_env == (), "its env was read, plain and from the secrets file"
    assert RULES[BUS](ec2_plan.recorded, ROOT) == []


def test_a_compose_backend_with_two_replicas_and_its_env_as_a_list_is_judged_by_that_list() -> None:
    document = _backends(2)
    backend = document["services"]["backend"]
    backend["environment"] = [f"{k}={v}" for k, v in backend["environment"].items()]
    assert [severity for severity, _ in _bus_problems(_plan(_vm(_user_data(document))))] == ["error"]
    backend["environment"].append(f"{spec.EVENT_BUS.url_env}={spec.EVENT_BUS.url('valkey')}")
    assert _bus_problems(_plan(_vm(_user_data(document)))) == []


def test_two_hosts_with_one_backend_each_are_two_replicas_that_need_the_bus() -> None:
    problems = _bus_problems(_plan(_vm(_user_data(_backends(1)), name="dixi-a"), _vm(_user_data(_backends(1)), name="dixi-b")))
    assert [severity for severity, _ in problems] == ["error", "error"] and "2 in all, across 2 workloads" in problems[0][1]


def test_a_vm_whose_user_data_has_no_readable_compose_file_could_not_be_judged() -> None:
    problems = _bus_problems(_plan(_vm("#!/bin/bash\nset -e\ncurl -fsSL https://example.com/compose.yml | docker compose -f - up -d\n")))
    assert [severity for severity, _ in problems] == ["warning"], "never clean without having looked, never an error without evidence"
    assert "no workload adapter found backend" in problems[0][1] and "could not be judged" in problems[0][1]


def test_containers_that_no_workload_adapter_reads_could_not_be_judged() -> None:
    # A task definition alone runs nothing the adapters count (an ECS service does, and is read).
    problems = _bus_problems(_plan(_r("aws:ecs/taskDefinition:TaskDefinition", "dixi-backend", family="dixi-backend", containerDefinitions="[]")))
    assert [severity for severity, _ in problems] == ["warning"] and "TaskDefinition dixi-backend" in problems[0][1]


def test_a_plan_that_runs_no_containers_has_nothing_for_the_rule_to_judge() -> None:
    assert _bus_problems(_plan(_r(SG_RULE, "dixi-web", ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"))) == []


def test_a_launch_template_that_boots_the_backend_cannot_say_how_many_hosts_it_makes() -> None:
    encoded = base64.b64encode(_user_data(_backends(1)).encode()).decode()
    template = _r("aws:ec2/launchTemplate:LaunchTemplate", "dixi-lt", userData=encoded, metadataOptions={"httpTokens": "required"})
    problems = _bus_problems(_plan(template))
    assert [severity for severity, _ in problems] == ["warning"] and "how many replicas share its events could not be judged" in problems[0][1]


def test_an_env_file_the_plan_does_not_hold_makes_the_rule_warn_instead_of_judging() -> None:
    document = _backends(3)
    document["services"]["backend"]["env_file"] = ["/etc/dixi/bus.env"]
    problems = _bus_problems(_plan(_vm(_user_data(document))))
    assert [severity for severity, _ in problems] == ["warning"] and "env_file /etc/dixi/bus.env" in problems[0][1]
    written = cloudinit.render(compose.dump(document), cloudinit.boot_script([], []), files=[("/etc/dixi/bus.env", f"{spec.EVENT_BUS.url_env}=redis://bus:6379/0\n")])
    assert _bus_problems(_plan(_vm(written))) == [], "an env file the user data writes is read"
