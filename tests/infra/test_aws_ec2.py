"""The aws-ec2 stack, as recorded under the mocks: what it creates and how it is configured."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from infra import spec
from infra.aws.ec2_docker import GPU_AMI_PARAMETER, TLS_POLICY
from infra.checks.aws import WORLD, ingress_rules
from infra.common import cloudinit
from infra.plan.engine import RecordedResource, Secret
from infra.plan.run import Plan

PlanOf = Callable[..., Plan]

INSTANCE = "aws:ec2/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"


def _instance(plan: Plan) -> RecordedResource:
    (host,) = plan.recorded.of_type(INSTANCE)
    return host


def _user_data(plan: Plan) -> str:
    value = _instance(plan).inputs["userData"]
    assert isinstance(value, str), "user data must be a plain (non-secret) string: it holds no secret"
    return value


def _compose(plan: Plan) -> dict:
    files = cloudinit.files_in(_user_data(plan))
    return yaml.safe_load(files[cloudinit.COMPOSE_PATH])


def test_the_default_stack_has_no_error_problems(ec2_plan: Plan) -> None:
    errors = [p for p in ec2_plan.problems if p.severity == "error"]
    assert errors == [], f"the default aws-ec2 plan must be clean: {errors}"


def test_the_vpc_has_two_public_subnets_in_two_zones_behind_the_alb(ec2_plan: Plan) -> None:
    subnets = ec2_plan.recorded.of_type("aws:ec2/subnet:Subnet")
    zones = {s.inputs["availabilityZone"] for s in subnets}
    assert len(subnets) == 2 and len(zones) == 2, f"two subnets in two zones, got {zones}"
    (alb,) = ec2_plan.recorded.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert sorted(alb.inputs["subnets"]) == sorted(s.id for s in subnets)
    assert alb.inputs["internal"] is False and alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["idleTimeout"] >= 3600, "WebSocket clients need a long idle timeout"


def test_the_host_sits_in_a_zone_that_offers_its_instance_type(ec2_plan: Plan) -> None:
    asked = [a for t, a in ec2_plan.recorded.invokes if t == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"]
    assert asked and asked[0]["filters"] == [{"name": "instance-type", "values": ["g4dn.xlarge"]}]
    subnet = ec2_plan.recorded.by_id(_instance(ec2_plan).inputs["subnetId"])
    assert subnet is not None and subnet.inputs["availabilityZone"] in ("us-east-1b", "us-east-1c"), (
        "the mocks offer the type in b and c only; the host must not land in a"
    )


def test_zones_offering_the_type_come_first_then_the_others() -> None:
    from infra.aws.network import pick_zones

    assert pick_zones(["a", "b", "c", "d"], ["c"]) == ["c", "a"]
    assert pick_zones(["a", "b", "c"], []) == ["a", "b"]
    assert pick_zones(["a", "b", "c"], ["c", "b"]) == ["b", "c"]


def test_without_a_domain_the_alb_serves_plain_http_forwarding_to_the_frontend(ec2_plan: Plan) -> None:
    listeners = ec2_plan.recorded.of_type("aws:lb/listener:Listener")
    assert [(lsn.inputs["port"], lsn.inputs["protocol"]) for lsn in listeners] == [(80, "HTTP")]
    assert listeners[0].inputs["defaultActions"][0]["type"] == "forward"
    assert ec2_plan.recorded.of_type("aws:acm/certificate:Certificate") == []
    (group,) = ec2_plan.recorded.of_type("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["port"] == 80 and group.inputs["healthCheck"]["path"] == spec.FRONTEND.readiness.path
    assert ec2_plan.recorded.outputs["url"].startswith("http://")


def test_with_a_domain_the_alb_serves_https_with_acm_and_redirects_http(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:domain": "dixi.example.com"})
    listeners = {lsn.inputs["port"]: lsn for lsn in plan.recorded.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    https = listeners[443].inputs
    assert https["protocol"] == "HTTPS" and https["sslPolicy"] == TLS_POLICY and https["certificateArn"]
    redirect = listeners[80].inputs["defaultActions"][0]
    assert redirect["type"] == "redirect" and redirect["redirect"]["protocol"] == "HTTPS"
    (cert,) = plan.recorded.of_type("aws:acm/certificate:Certificate")
    assert cert.inputs["domainName"] == "dixi.example.com" and cert.inputs["validationMethod"] == "DNS"
    assert plan.recorded.outputs["url"] == "https://dixi.example.com"
    assert plan.recorded.outputs["certificateValidationRecords"][0]["type"] == "CNAME"
    open_ports = {i.from_port for i in ingress_rules(plan.recorded) if i.cidrs & WORLD}
    assert open_ports == {80, 443}
    assert not [p for p in plan.problems if p.severity == "error"]


def test_the_gpu_host_uses_the_ssm_gpu_ami_imdsv2_and_an_encrypted_root_volume(ec2_plan: Plan) -> None:
    host = _instance(ec2_plan).inputs
    asked = [args["name"] for token, args in ec2_plan.recorded.invokes if token == "aws:ssm/getParameter:getParameter"]
    assert asked == [GPU_AMI_PARAMETER], "the AMI comes from AWS's public SSM parameter, not a hard-coded id"
    assert host["ami"].startswith("ami-")
    assert host["instanceType"] == "g4dn.xlarge"
    assert host["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    root = host["rootBlockDevice"]
    assert root["encrypted"] is True and root["volumeType"] == "gp3" and root["volumeSize"] == 100
    assert "keyName" not in host, "no SSH key: admin access is through Session Manager"
    assert host["iamInstanceProfile"]


def test_the_instance_size_and_volume_follow_the_config(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:gpuInstanceType": "g5.xlarge", "dixi:rootVolumeGiB": "200"})
    host = _instance(plan).inputs
    assert host["instanceType"] == "g5.xlarge" and host["rootBlockDevice"]["volumeSize"] == 200


def test_the_host_role_allows_exactly_ecr_pull_models_read_log_writes_and_the_token(ec2_plan: Plan) -> None:
    (policy,) = ec2_plan.recorded.of_type("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        "s3:ListBucket", "s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
        "ssm:GetParameter",
    }
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if statement["Action"] != "ecr:GetAuthorizationToken":
            assert statement["Resource"] != "*", f"{statement['Sid']} must be scoped to the stack's resources"
    (pull,) = [s for s in statements if s["Sid"] == "EcrPull"]
    assert len(pull["Resource"]) == len(spec.SERVICES) and all(":repository/" in r for r in pull["Resource"])
    attachments = [a.inputs["policyArn"] for a in ec2_plan.recorded.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_vision_and_ollama_are_not_reachable_from_the_internet(ec2_plan: Plan) -> None:
    for ingress in ingress_rules(ec2_plan.recorded):
        if ingress.cidrs & WORLD:
            for port in (spec.VISION.port, spec.OLLAMA.port):
                assert not ingress.from_port <= port <= ingress.to_port, f"{ingress.resource.name} opens {port} to the world"
            assert ingress.protocol == "tcp" and ingress.from_port in (80, 443)
    host_rules = [
        r for r in ec2_plan.recorded.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("dixi-host")
    ]
    assert len(host_rules) == 1 and host_rules[0].inputs["fromPort"] == 80 == host_rules[0].inputs["toPort"]
    assert "referencedSecurityGroupId" in host_rules[0].inputs and "cidrIpv4" not in host_rules[0].inputs
    published = {name: s.get("ports") for name, s in _compose(ec2_plan)["services"].items() if s.get("ports")}
    assert published == {"frontend": ["80:8080"]}, "only the frontend is published on the host"


def test_the_models_bucket_is_kept_on_destroy_by_default(ec2_plan: Plan) -> None:
    (bucket,) = ec2_plan.recorded.of_type(BUCKET)
    assert bucket.retain_on_delete is True and bucket.inputs["forceDestroy"] is False
    settings = ec2_plan.recorded.children_of(bucket.parent)  # type: ignore[arg-type]
    guards = [r for r in settings if r.type.startswith("aws:s3/bucket") and r.type != BUCKET]
    assert guards and all(r.retain_on_delete for r in guards), "the kept bucket stays private and encrypted"
    assert ec2_plan.recorded.outputs["dataKeptOnDestroy"] is True


def test_the_models_bucket_and_data_volume_are_deleted_on_destroy_when_retain_data_is_false(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:retainData": "false"})
    (bucket,) = plan.recorded.of_type(BUCKET)
    assert bucket.retain_on_delete is False and bucket.inputs["forceDestroy"] is True
    (volume,) = plan.recorded.of_type("aws:ebs/volume:Volume")
    assert volume.retain_on_delete is False


def test_the_data_volume_is_encrypted_kept_on_destroy_and_in_the_hosts_zone(ec2_plan: Plan) -> None:
    (volume,) = ec2_plan.recorded.of_type("aws:ebs/volume:Volume")
    assert volume.retain_on_delete is True, "Ollama's models and the logs outlive destroy by default"
    assert volume.inputs["encrypted"] is True and volume.inputs["type"] == "gp3" and volume.inputs["size"] == 100
    host = _instance(ec2_plan)
    subnet = ec2_plan.recorded.by_id(host.inputs["subnetId"])
    assert subnet is not None and volume.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]
    (attachment,) = ec2_plan.recorded.of_type("aws:ec2/volumeAttachment:VolumeAttachment")
    assert attachment.inputs["volumeId"] == volume.id and attachment.inputs["instanceId"] == host.id
    script = cloudinit.files_in(_user_data(ec2_plan))[cloudinit.BOOT_SCRIPT_PATH]
    device = f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume.id.replace('-', '')}"
    assert f"blkid {device} >/dev/null 2>&1 || mkfs.ext4" in script, "formats only a blank volume"
    assert script.index("mount /var/lib/dixi") < script.index("install -d -m 0750"), "mounts before creating the data dirs"


def test_the_boot_script_is_valid_bash_and_shellcheck_clean(ec2_plan: Plan, tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text(cloudinit.files_in(_user_data(ec2_plan))[cloudinit.BOOT_SCRIPT_PATH])
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_shellcheck_catches_a_broken_boot_step(tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text(cloudinit.boot_script([("/var/lib/dixi/x", 10001)], ["cd $TARGET_DIR"]))
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "SC2086" in result.stdout, "an unquoted variable must be caught"


def test_the_models_bucket_is_versioned_encrypted_and_private(ec2_plan: Plan) -> None:
    r = ec2_plan.recorded
    (versioning,) = r.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (sse,) = r.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (block,) = r.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


def test_the_log_group_has_the_configured_retention_and_receives_the_containers_logs(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:logRetentionDays": "14"})
    (group,) = plan.recorded.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 14
    for name, service in _compose(plan)["services"].items():
        assert service["logging"]["driver"] == "awslogs", name
        assert service["logging"]["options"]["awslogs-group"] == group.inputs["name"]


def test_the_user_data_contains_no_secret_in_plain_text(ec2_plan: Plan) -> None:
    user_data = _user_data(ec2_plan)
    (password,) = ec2_plan.recorded.of_type("random:index/randomPassword:RandomPassword")
    token = password.state["result"]
    token = token.value if isinstance(token, Secret) else token
    assert token and token not in user_data, "the gesture token must not be in the user data"
    assert "mock-ecr-password" not in user_data, "the ECR password must not be in the user data"
    (parameter,) = ec2_plan.recorded.of_type("aws:ssm/parameter:Parameter")
    assert parameter.inputs["type"] == "SecureString" and isinstance(parameter.inputs["value"], Secret)
    assert f"--name {parameter.inputs['name']} --with-decryption" in user_data, "the host fetches the token at boot"


def test_the_user_data_installs_docker_logs_in_to_ecr_and_starts_the_compose_file(ec2_plan: Plan) -> None:
    user_data = _user_data(ec2_plan)
    assert user_data.startswith("#cloud-config")
    script = cloudinit.files_in(user_data)[cloudinit.BOOT_SCRIPT_PATH]
    for step in ("apt-get install -y -q docker.io", "nvidia-container-toolkit", "aws ecr get-login-password",
                 "docker login", "aws s3 sync", f"docker compose -f {cloudinit.COMPOSE_PATH} up -d"):
        assert step in script, f"boot script lacks {step!r}"


def test_the_compose_file_wires_every_service_from_the_spec(ec2_plan: Plan) -> None:
    services = _compose(ec2_plan)["services"]
    assert set(services) == {s.name for s in spec.SERVICES}
    backend = services["backend"]["environment"]
    assert backend["VISION_SERVICE_URL"] == "http://vision:5000" and backend["OLLAMA_BASE_URL"] == "http://ollama:11434"
    assert backend["OLLAMA_MODEL"] == "llama3.2"
    assert services["vision"]["environment"]["BACKEND_URL"] == "http://backend:3001"
    for gpu in ("vision", "ollama"):
        assert services[gpu]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert "GESTURE_TOKEN" not in json.dumps(services), "secrets come from the env file, not the compose file"
    for name, service in services.items():
        assert service["security_opt"] == ["no-new-privileges:true"], name
    assert {n for n, s in services.items() if s.get("read_only")} == {"frontend", "backend", "vision"}


def test_each_service_gets_an_ecr_repository_and_an_image_built_from_app(ec2_plan: Plan) -> None:
    repos = ec2_plan.recorded.of_type("aws:ecr/repository:Repository")
    assert len(repos) == len(spec.SERVICES)
    assert all(r.inputs["imageScanningConfiguration"]["scanOnPush"] for r in repos)
    images = {i.name: i.inputs["context"] for i in ec2_plan.recorded.of_type("docker-build:index:Image")}
    assert sorted(c["location"] for c in images.values()) == sorted(s.build_context for s in spec.SERVICES)
    assert images["dixi-images-backend"]["named"] == {"common": {"location": "app/common"}}
    assert ec2_plan.recorded.outputs["imageSources"]["backend"] == "build: app/backend"


def test_prebuilt_images_from_config_are_used_and_not_built(plan_of: PlanOf) -> None:
    ref = "ghcr.io/acme/dixi-backend@sha256:" + "a" * 64
    plan = plan_of(**{"dixi:images": json.dumps([f"backend={ref}"])})
    built = {i.name for i in plan.recorded.of_type("docker-build:index:Image")}
    assert "dixi-images-backend" not in built and len(built) == len(spec.SERVICES) - 1
    assert _compose(plan)["services"]["backend"]["image"] == ref
    assert plan.recorded.outputs["imageSources"]["backend"] == f"prebuilt: {ref}"


def test_every_child_of_the_deployment_is_parented_and_named_after_it(ec2_plan: Plan) -> None:
    for resource in ec2_plan.recorded.resources:
        if resource.type == "pulumi:pulumi:Stack":
            continue
        assert resource.parent is not None, f"{resource.type} {resource.name} has no parent"
        assert resource.name.startswith("dixi"), resource.name


def test_each_volume_directory_on_the_host_belongs_to_the_uid_its_container_runs_as(ec2_plan: Plan) -> None:
    script = cloudinit.files_in(_user_data(ec2_plan))[cloudinit.BOOT_SCRIPT_PATH]
    for service in spec.SERVICES:
        for volume in service.volumes:
            line = f"install -d -m 0750 -o {service.run_as_uid} -g {service.run_as_uid} /var/lib/dixi/{volume.name}"
            assert line in script, f"{service.name} could not write {volume.name}"
