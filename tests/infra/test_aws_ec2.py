"""The aws-ec2 stack, as recorded under the mocks: what it creates, and the defects a real account would show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import spec
from infra.aws import catalog
from infra.aws.checks import INSTANCE
from infra.aws.gpu_host import GPU_AMI_PARAMETER, SESSION_MANAGER, refuse_shrink
from infra.aws.load_balancer import TLS_POLICY
from infra.aws.mocks import zone_answers
from infra.checks.adapters import all_openings
from infra.common import cloudinit
from infra.plan.model import RecordedPlan, RecordedResource, ResourceKey, Secret
from infra.plan.run import ROOT, Plan, plan_stack

PlanOf = Callable[..., Plan]
BUCKET = "aws:s3/bucket:Bucket"
VOLUME = "aws:ebs/volume:Volume"
SUBNET = "aws:ec2/subnet:Subnet"
ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"


def _instance(plan: Plan) -> RecordedResource:
    (host,) = plan.recorded.of_type(INSTANCE)
    return host


def _user_data(plan: Plan) -> str:
    value = _instance(plan).inputs["userData"]
    assert isinstance(value, str), "user data must be a plain (non-secret) string: it holds no secret"
    return value


def _files(plan: Plan) -> dict[str, str]:
    return cloudinit.files_in(_user_data(plan))


def _script(plan: Plan) -> str:
    return _files(plan)[cloudinit.BOOT_SCRIPT_PATH]


def _compose(plan: Plan) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(_files(plan)[cloudinit.COMPOSE_PATH])
    return document


def _host_policy(plan: Plan) -> list[dict[str, Any]]:
    (policy,) = plan.recorded.of_type("aws:iam/rolePolicy:RolePolicy")
    statements: list[dict[str, Any]] = json.loads(policy.inputs["policy"])["Statement"]
    return statements


def _errors(plan: Plan) -> list[str]:
    return [f"{p.rule}: {p.message}" for p in plan.problems if p.severity == "error"]


def test_the_default_stack_has_no_problems(ec2_plan: Plan) -> None:
    assert ec2_plan.problems == [], f"the default aws-ec2 plan must be clean: {ec2_plan.problems}"


# 1. No container starts: Docker's awslogs driver has no awslogs-stream-prefix.


def test_containers_log_with_options_dockers_awslogs_driver_accepts(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:logRetentionDays": "14"})
    (group,) = plan.recorded.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 14
    for name, service in _compose(plan)["services"].items():
        logging = service["logging"]
        assert logging["driver"] == "awslogs", name
        assert set(logging["options"]) == {"awslogs-group", "awslogs-region", "tag"}, f"{name}: {logging['options']}"
        assert logging["options"]["awslogs-group"] == group.inputs["name"]
        assert logging["options"]["tag"] == f"{name}/{{{{.ID}}}}", "streams are named <service>/<container id>"
    assert not [p for p in plan.problems if p.rule == "compose-log-options"]


# 2. The boot script fails loudly and says where.


def test_the_boot_script_stops_at_the_first_failure_and_never_swallows_the_start(ec2_plan: Plan) -> None:
    script = _script(ec2_plan)
    assert script.splitlines()[2] == "set -Eeuo pipefail"
    assert "trap 'boot_failed $LINENO' ERR" in script
    up = [line for line in script.splitlines() if "compose" in line and " up " in f"{line} "]
    assert up == [f"docker compose -f {cloudinit.COMPOSE_PATH} up -d"], up
    assert "wait_for Health.Status healthy" in script, "the boot waits until the load balancer's services are healthy"


def _run_bash(script: str, tmp_path: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "boot.sh"
    file.write_text(script)
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run(["bash", str(file)], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_a_failed_boot_step_runs_the_failure_report_and_exits_non_zero(tmp_path: Path) -> None:
    lines = cloudinit.preamble(on_failure=["echo reported-to-the-log-group"], log_path=str(tmp_path / "boot.log"))
    result = _run_bash("\n".join([*lines, "echo step-one", "false", "echo never-reached"]) + "\n", tmp_path)
    assert result.returncode != 0, "cloud-init must see the failure"
    assert "step-one" in result.stdout and "never-reached" not in result.stdout
    assert "DIXI BOOT FAILED (exit 1 at line" in result.stdout and "reported-to-the-log-group" in result.stdout, result.stdout
    assert "DIXI BOOT FAILED" in (tmp_path / "boot.log").read_text(), "the boot log keeps it"


def test_an_unhealthy_service_fails_the_boot(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    # A container that never becomes healthy: `ps -q` finds it, `inspect` says starting.
    docker.write_text('#!/bin/sh\ncase "$*" in *"ps -q"*) echo c0ffee ;; inspect*) echo starting ;; esac\n')
    docker.chmod(0o755)
    lines = cloudinit.preamble(on_failure=["echo reported"], log_path=str(tmp_path / "boot.log"))
    result = _run_bash("\n".join([*lines, "wait_for Health.Status healthy 1 backend", "echo done"]) + "\n", tmp_path, f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode != 0 and "done" not in result.stdout
    assert "backend: Health.Status is not healthy" in result.stdout and "reported" in result.stdout, result.stdout


def test_a_failed_boot_sends_the_boot_log_to_the_stacks_log_group(ec2_plan: Plan) -> None:
    script = _script(ec2_plan)
    failure = script[script.index("boot_failed() {") : script.index("trap 'boot_failed")]
    assert "aws logs put-log-events --region us-east-1 --log-group-name /dixi/aws-ec2" in failure
    assert 'stream="boot/${instance_id:-unknown}"' in failure
    statements = {s["Sid"]: s for s in _host_policy(ec2_plan)}
    assert statements["Logs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_the_boot_script_is_valid_bash_and_shellcheck_clean(ec2_plan: Plan, tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text(_script(ec2_plan))
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([str(Path(sys.executable).parent / "shellcheck"), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_shellcheck_catches_a_broken_boot_step(tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text(cloudinit.boot_script([("/var/lib/dixi/x", 10001)], ["cd $TARGET_DIR"]))
    result = subprocess.run([str(Path(sys.executable).parent / "shellcheck"), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "SC2086" in result.stdout, "an unquoted variable must be caught"


def test_boot_steps_that_call_aws_retry(ec2_plan: Plan) -> None:
    script = _script(ec2_plan)
    for call in ("aws ssm get-parameter", "ecr_login us-east-1", "aws s3 sync", "docker compose -f /opt/dixi/docker-compose.yml pull"):
        (line,) = [x for x in script.splitlines() if call in x and not x.lstrip().startswith(("ecr_login()", "#"))]
        assert "retry " in line, f"{call} must retry: {line}"


# 3. Replacement order: the GPU host goes before its replacement comes.


def test_the_gpu_host_is_deleted_before_its_replacement_is_created(ec2_plan: Plan) -> None:
    host = _instance(ec2_plan)
    assert host.inputs["userDataReplaceOnChange"] is True, "a new image build replaces the host"
    assert host.delete_before_replace, "two GPU hosts at once would need twice the GPU quota"
    (attachment,) = ec2_plan.recorded.of_type("aws:ec2/volumeAttachment:VolumeAttachment")
    assert attachment.delete_before_replace, "the data volume attaches to one host at a time"


def test_the_plan_json_records_the_replacement_options(ec2_plan: Plan) -> None:
    from infra.plan.output import to_json

    document = to_json(ec2_plan)
    (host,) = [r for r in document["resources"] if r["type"] == INSTANCE]
    assert host["deleteBeforeReplace"] is True and host["ignoreChanges"] == ["ami"] and host["replaceOnChanges"] == []
    assert {"type": "aws:iam/rolePolicy:RolePolicy", "name": "dixi-gpu-role"} in host["dependsOn"]
    subnets = [r for r in document["resources"] if r["type"] == SUBNET]
    assert subnets and all(s["ignoreChanges"] == ["availabilityZone"] for s in subnets)


# 4. Zones come from live lookups once, then stay.


def _inputs(plan: RecordedPlan) -> dict[tuple[str, str], Any]:
    return {(r.type, r.name): json.dumps(r.inputs, sort_keys=True, default=repr) for r in plan.resources}


def _zone_of(plan: RecordedPlan, type_: str) -> set[str]:
    return {str(r.inputs["availabilityZone"]) for r in plan.of_type(type_)}


def test_different_lookup_answers_change_no_input_of_an_existing_stack() -> None:
    first = plan_stack("aws-ec2", invoke_overrides=zone_answers(["us-east-1a", "us-east-1b", "us-east-1c"], ["us-east-1b", "us-east-1c"]))
    later = zone_answers(["us-east-1c", "us-east-1d", "us-east-1f"], ["us-east-1d", "us-east-1f"])  # an impaired zone, new offerings
    fresh = plan_stack("aws-ec2", invoke_overrides=later)
    assert _zone_of(fresh.recorded, SUBNET) != _zone_of(first.recorded, SUBNET), "the lookups do decide a new stack's zones"
    again = plan_stack("aws-ec2", prior=first.recorded, invoke_overrides=later)
    changed = sorted(k for k, v in _inputs(again.recorded).items() if _inputs(first.recorded).get(k) != v)
    assert changed == [], f"a second run with other lookup answers must change nothing; changed: {changed}"


def test_another_instance_type_keeps_the_subnets_and_the_data_volume_where_they_are() -> None:
    first = plan_stack("aws-ec2")
    bigger = plan_stack("aws-ec2", overrides={"dixi:gpuInstanceType": "g5.xlarge"}, prior=first.recorded, invoke_overrides=zone_answers(["us-east-1a", "us-east-1b"], ["us-east-1a"]))
    assert _zone_of(bigger.recorded, SUBNET) == _zone_of(first.recorded, SUBNET)
    assert _zone_of(bigger.recorded, VOLUME) == _zone_of(first.recorded, VOLUME), "the data volume must not move (that replaces it)"
    assert _instance(bigger).inputs["instanceType"] == "g5.xlarge"


def test_the_host_sits_in_a_zone_that_offers_its_instance_type(ec2_plan: Plan) -> None:
    asked = [a for t, a in ec2_plan.recorded.invokes if t == OFFERINGS]
    assert asked and asked[0]["filters"] == [{"name": "instance-type", "values": ["g4dn.xlarge"]}]
    subnet = ec2_plan.recorded.producer(_instance(ec2_plan).inputs["subnetId"], SUBNET)
    assert subnet is not None and subnet.inputs["availabilityZone"] in ("us-east-1b", "us-east-1c"), "the mocks offer the type in b and c only"
    (volume,) = ec2_plan.recorded.of_type(VOLUME)
    assert volume.inputs["availabilityZone"] == subnet.inputs["availabilityZone"], "the data volume sits in the host's zone"


def test_zones_offering_the_type_come_first_then_the_others() -> None:
    from infra.aws.network import pick_zones

    assert pick_zones(["a", "b", "c", "d"], ["c"]) == ["c", "a"]
    assert pick_zones(["a", "b", "c"], []) == ["a", "b"]
    assert pick_zones(["a", "b", "c"], ["c", "b"]) == ["b", "c"]


# 5. Least privilege: Session Manager without the managed policy; the token for this role only.


def test_the_host_role_allows_exactly_its_work_and_session_manager(ec2_plan: Plan) -> None:
    statements = _host_policy(ec2_plan)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        "s3:ListBucket", "s3:GetObject", "logs:CreateLogStream", "logs:PutLogEvents", "ssm:GetParameter", "kms:Decrypt",
        *SESSION_MANAGER["Action"],
    }  # fmt: skip
    star = {s["Sid"] for s in statements if s["Resource"] == "*"}
    assert star == {"EcrLogin", "SessionManager"}, "only actions without resource-level permissions may name *"
    assert not ec2_plan.recorded.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), (
        "no managed policy: AmazonSSMManagedInstanceCore grants ssm:GetParameter* on every parameter"
    )
    (pull,) = [s for s in statements if s["Sid"] == "EcrPull"]
    assert len(pull["Resource"]) == len(spec.SERVICES) and all(":repository/" in r for r in pull["Resource"])


def test_the_token_is_encrypted_with_a_stack_key_that_the_host_may_use_through_ssm_only(ec2_plan: Plan) -> None:
    (key,) = ec2_plan.recorded.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 7
    (parameter,) = ec2_plan.recorded.of_type("aws:ssm/parameter:Parameter")
    assert parameter.inputs["type"] == "SecureString" and parameter.inputs["keyId"] == key.state["arn"], "not the account-wide aws/ssm key"
    statements = {s["Sid"]: s for s in _host_policy(ec2_plan)}
    assert statements["GestureTokenParameter"]["Resource"] == parameter.state["arn"]
    decrypt = statements["GestureTokenDecrypt"]
    assert decrypt["Resource"] == key.state["arn"]
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "ssm.us-east-1.amazonaws.com",
        "kms:EncryptionContext:PARAMETER_ARN": parameter.state["arn"],
    }


# 6. Destroy a week later needs no registry token.


def test_images_are_kept_on_destroy_and_their_repositories_force_deleted(ec2_plan: Plan) -> None:
    images = ec2_plan.recorded.of_type("docker-build:index:Image")
    assert len(images) == len(spec.SERVICES) and all(i.retain_on_delete for i in images), "destroy must not call the registry"
    repos = ec2_plan.recorded.of_type("aws:ecr/repository:Repository")
    assert repos and all(r.inputs["forceDelete"] is True for r in repos), "deleting the repository deletes the images"


# 7. The root volume is never smaller than the image.


def test_the_root_volume_minimum_is_the_gpu_images_snapshot(plan_of: PlanOf) -> None:
    from infra.config import ConfigError

    assert catalog.GPU_AMI_ROOT_SNAPSHOT_GIB == 75
    assert _instance(plan_of(**{"dixi:rootVolumeGiB": "75"})).inputs["rootBlockDevice"]["volumeSize"] == 75
    with pytest.raises(ConfigError, match=r"allowed: 75 to 16384 \(the GPU image.s root snapshot is 75 GiB"):
        plan_of(**{"dixi:rootVolumeGiB": "74"})


# 8. What the API needs first, the graph says first.


def test_the_load_balancer_waits_for_the_internet_gateway(ec2_plan: Plan) -> None:
    (alb,) = ec2_plan.recorded.of_type("aws:lb/loadBalancer:LoadBalancer")
    (gateway,) = ec2_plan.recorded.of_type("aws:ec2/internetGateway:InternetGateway")
    assert gateway.key in alb.depends_on, "ELB refuses an internet-facing load balancer in a VPC without a gateway"


def test_the_host_waits_for_its_role_policy(ec2_plan: Plan) -> None:
    (policy,) = ec2_plan.recorded.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policy.key in _instance(ec2_plan).depends_on


# 9. After a reboot the containers find their data.


def test_docker_never_starts_without_the_data_mount(ec2_plan: Plan) -> None:
    files = _files(ec2_plan)
    assert files["/etc/systemd/system/docker.service.d/dixi-data.conf"].endswith("[Unit]\nRequiresMountsFor=/var/lib/dixi\n")
    script = _script(ec2_plan)
    assert "ext4 defaults,nofail 0 2" in script, "the host still boots (and reaches Session Manager) without the volume"
    assert script.index("mount /var/lib/dixi") < script.index("systemctl restart docker"), "Docker restarts after the mount exists"


def test_the_data_volume_is_encrypted_kept_on_destroy_and_formatted_only_when_blank(ec2_plan: Plan) -> None:
    (volume,) = ec2_plan.recorded.of_type(VOLUME)
    assert volume.retain_on_delete is True, "Ollama's models and the logs outlive destroy by default"
    assert volume.inputs["encrypted"] is True and volume.inputs["type"] == "gp3" and volume.inputs["size"] == 100
    (attachment,) = ec2_plan.recorded.of_type("aws:ec2/volumeAttachment:VolumeAttachment")
    assert attachment.inputs["volumeId"] == volume.id and attachment.inputs["instanceId"] == _instance(ec2_plan).id
    device = f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume.id.replace('-', '')}"
    script = _script(ec2_plan)
    assert f"blkid {device} >/dev/null 2>&1 || mkfs.ext4" in script, "formats only a blank volume"
    assert script.index("mount /var/lib/dixi") < script.index("install -d -m 0750"), "mounts before creating the data dirs"


def test_each_volume_directory_on_the_host_belongs_to_the_uid_its_container_runs_as(ec2_plan: Plan) -> None:
    script = _script(ec2_plan)
    for service in spec.SERVICES:
        for volume in service.volumes:
            line = f"install -d -m 0750 -o {service.run_as_uid} -g {service.run_as_uid} /var/lib/dixi/{volume.name}"
            assert line in script, f"{service.name} could not write {volume.name}"


# 10. How hosts get a patched image.


def test_a_new_ami_alone_does_not_replace_the_host_but_any_replacement_takes_it(ec2_plan: Plan) -> None:
    host = _instance(ec2_plan)
    asked = [args["name"] for token, args in ec2_plan.recorded.invokes if token == "aws:ssm/getParameter:getParameter"]
    assert asked == [GPU_AMI_PARAMETER], "the AMI comes from AWS's public SSM parameter, not a hard-coded id"
    assert host.inputs["ami"].startswith("ami-") and host.ignore_changes == ["ami"]
    readme = (ROOT / "README.md").read_text()
    assert "pulumi up --replace" in readme and "newest AMI" in readme, "the README says how a host gets a patched image"


# 11. HTTPS that a user can follow.


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
    assert not plan.recorded.of_type("aws:route53/record:Record"), "without a zone the user adds the records"
    assert {o.from_port for o in all_openings(plan.recorded) if o.from_internet and o.resource.type.startswith("aws:vpc")} == {80, 443}
    assert _errors(plan) == []


def test_with_a_route53_zone_up_writes_the_validation_and_alias_records_itself(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:domain": "dixi.example.com", "dixi:route53ZoneId": "Z0123456789ABCDEFGHIJ"})
    records = {r.name: r.inputs for r in plan.recorded.of_type("aws:route53/record:Record")}
    (cert,) = plan.recorded.of_type("aws:acm/certificate:Certificate")
    option = cert.state["domainValidationOptions"][0]
    validation = records["dixi-web-cert-validation"]
    assert (validation["name"], validation["type"], validation["records"]) == (option["resourceRecordName"], "CNAME", [option["resourceRecordValue"]])
    (validated,) = plan.recorded.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert validated.inputs["validationRecordFqdns"], "up waits for the record it wrote, not for a person"
    alias = records["dixi-web-alias"]
    (alb,) = plan.recorded.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alias["name"] == "dixi.example.com" and alias["aliases"][0]["name"] == alb.state["dnsName"]
    assert _errors(plan) == []


def test_the_readme_prints_the_validation_record_while_up_waits() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "aws acm describe-certificate" in readme and "DomainValidationOptions" in readme


def test_without_a_domain_the_alb_serves_plain_http_forwarding_to_the_frontend(ec2_plan: Plan) -> None:
    listeners = ec2_plan.recorded.of_type("aws:lb/listener:Listener")
    assert [(lsn.inputs["port"], lsn.inputs["protocol"]) for lsn in listeners] == [(80, "HTTP")]
    assert listeners[0].inputs["defaultActions"][0]["type"] == "forward"
    (group,) = ec2_plan.recorded.of_type("aws:lb/targetGroup:TargetGroup")
    assert group.inputs["port"] == 80 and group.inputs["healthCheck"]["path"] == spec.FRONTEND.readiness.path
    (alb,) = ec2_plan.recorded.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is False and alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["idleTimeout"] >= 3600, "WebSocket clients need a long idle timeout"
    assert ec2_plan.recorded.outputs["url"].startswith("http://")


# 12. The data volume grows, and never shrinks.


def test_a_timer_grows_the_data_filesystem_to_the_volumes_size(ec2_plan: Plan) -> None:
    files = _files(ec2_plan)
    (volume,) = ec2_plan.recorded.of_type(VOLUME)
    device = f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume.id.replace('-', '')}"
    assert f"ExecStart=/sbin/resize2fs {device}" in files["/etc/systemd/system/dixi-grow-data.service"]
    assert "OnUnitActiveSec=10min" in files["/etc/systemd/system/dixi-grow-data.timer"]
    assert "systemctl enable --now dixi-grow-data.timer" in _script(ec2_plan)


def test_a_smaller_data_volume_is_refused_before_anything_changes(ec2_plan: Plan) -> None:
    from pulumi import ResourceHookArgs

    (volume,) = ec2_plan.recorded.of_type(VOLUME)
    assert volume.hooks == {"before_update": ["dixi-gpu-data-no-shrink"]}

    def update(old: int, new: int) -> ResourceHookArgs:
        return ResourceHookArgs("urn", "vol-1", "dixi-gpu-data", VOLUME, new_inputs={"size": float(new)}, old_inputs={"size": float(old)})

    with pytest.raises(ValueError, match=r"dixi:dataVolumeGiB: 50 is smaller than the data volume's 100 GiB.*set it to 100 or more"):
        refuse_shrink(update(100, 50))
    refuse_shrink(update(100, 200))  # growing is fine


# 13. Every image source the config accepts can be pulled.


def test_a_prebuilt_image_from_another_accounts_ecr_is_logged_in_to_and_allowed(plan_of: PlanOf) -> None:
    ref = "210987654321.dkr.ecr.us-west-2.amazonaws.com/team/dixi-backend@sha256:" + "a" * 64
    plan = plan_of(**{"dixi:images": json.dumps([f"backend={ref}"])})
    assert "retry ecr_login us-west-2 210987654321.dkr.ecr.us-west-2.amazonaws.com" in _script(plan)
    (pull,) = [s for s in _host_policy(plan) if s["Sid"] == "EcrPull"]
    assert "arn:aws:ecr:us-west-2:210987654321:repository/team/dixi-backend" in pull["Resource"]
    assert _compose(plan)["services"]["backend"]["image"] == ref
    assert plan.recorded.outputs["imageSources"]["backend"] == f"prebuilt: {ref}"
    assert "dixi-images-backend" not in {i.name for i in plan.recorded.of_type("docker-build:index:Image")}
    assert "dixi-images-backend" not in {r.name for r in plan.recorded.of_type("aws:ecr/repository:Repository")}


def test_a_public_prebuilt_image_needs_no_login(plan_of: PlanOf) -> None:
    ref = "ghcr.io/acme/dixi-frontend:1.2.3"
    plan = plan_of(**{"dixi:images": json.dumps([f"frontend={ref}"])})
    assert "ghcr.io" not in _script(plan).split("ecr_login()")[1]
    assert _compose(plan)["services"]["frontend"]["image"] == ref


# What the stack is made of.


def test_the_gpu_host_uses_the_ssm_gpu_ami_imdsv2_and_an_encrypted_root_volume(ec2_plan: Plan) -> None:
    host = _instance(ec2_plan).inputs
    assert host["instanceType"] == "g4dn.xlarge"
    assert host["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    root = host["rootBlockDevice"]
    assert root["encrypted"] is True and root["volumeType"] == "gp3" and root["volumeSize"] == 100
    assert "keyName" not in host, "no SSH key: admin access is through Session Manager"


def test_vision_and_ollama_are_not_reachable_from_the_internet(ec2_plan: Plan) -> None:
    host_rules = [r for r in ec2_plan.recorded.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.startswith("dixi-gpu")]
    assert len(host_rules) == 1 and host_rules[0].inputs["fromPort"] == 80 == host_rules[0].inputs["toPort"]
    assert "referencedSecurityGroupId" in host_rules[0].inputs and "cidrIpv4" not in host_rules[0].inputs
    published = {name: s.get("ports") for name, s in _compose(ec2_plan)["services"].items() if s.get("ports")}
    assert published == {"frontend": ["80:8080"]}, "only the frontend is published on the host"


def test_the_models_bucket_is_kept_on_destroy_with_the_settings_that_keep_it_private(ec2_plan: Plan) -> None:
    (bucket,) = ec2_plan.recorded.of_type(BUCKET)
    assert bucket.retain_on_delete is True and bucket.inputs["forceDestroy"] is False
    guards = [r for r in ec2_plan.recorded.children_of(bucket.parent) if r.type != BUCKET]  # type: ignore[arg-type]
    assert len(guards) == 6 and all(r.retain_on_delete for r in guards), "the kept bucket stays private and encrypted"
    (lifecycle,) = ec2_plan.recorded.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.depends_on == [ResourceKey("aws:s3/bucketVersioning:BucketVersioning", "dixi-models")], "noncurrent rules wait for versioning"
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled" and "expiration" not in rule, "the current version of a model never expires"
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 90 and rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
    (sse,) = ec2_plan.recorded.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (block,) = ec2_plan.recorded.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert ec2_plan.recorded.outputs["dataKeptOnDestroy"] is True


def test_with_retain_data_false_destroy_deletes_the_bucket_and_the_volume(plan_of: PlanOf) -> None:
    plan = plan_of(**{"dixi:retainData": "false"})
    (bucket,) = plan.recorded.of_type(BUCKET)
    assert bucket.retain_on_delete is False and bucket.inputs["forceDestroy"] is True
    (volume,) = plan.recorded.of_type(VOLUME)
    assert volume.retain_on_delete is False


def test_the_user_data_holds_no_secret(ec2_plan: Plan) -> None:
    user_data = _user_data(ec2_plan)
    (password,) = ec2_plan.recorded.of_type("random:index/randomPassword:RandomPassword")
    token = password.state["result"]
    token = token.value if isinstance(token, Secret) else token
    assert token and token not in user_data, "the gesture token must not be in the user data"
    assert "mock-ecr-password" not in user_data
    assert "--name /dixi/aws-ec2/gesture-token --with-decryption" in user_data, "the host fetches the token at boot"


def test_the_compose_file_wires_every_service_from_the_spec_and_gives_a_gpu_to_ollama_only(plan_of: PlanOf, ec2_plan: Plan) -> None:
    services = _compose(ec2_plan)["services"]
    assert set(services) == {s.name for s in spec.SERVICES}
    backend = services["backend"]["environment"]
    assert backend["VISION_SERVICE_URL"] == "http://vision:5000" and backend["OLLAMA_BASE_URL"] == "http://ollama:11434"
    assert services["vision"]["environment"]["BACKEND_URL"] == "http://backend:3001"
    assert {n for n, s in services.items() if "deploy" in s} == {"ollama"}, "vision runs on the CPU unless opted in"
    opted = _compose(plan_of(**{"dixi:visionGpu": "true"}))["services"]
    assert {n for n, s in opted.items() if "deploy" in s} == {"ollama", "vision"}
    assert "GESTURE_TOKEN" not in json.dumps(services), "secrets come from the env file, not the compose file"
    assert all(s["security_opt"] == ["no-new-privileges:true"] for s in services.values())
    assert {n for n, s in services.items() if s.get("read_only")} == {"frontend", "backend", "vision"}


def test_the_host_compose_file_carries_the_specs_open_file_limits(ec2_plan: Plan) -> None:
    # The host's Docker would otherwise give each container a soft limit of 1024, at the WebSocket cap.
    services = _compose(ec2_plan)["services"]
    limits = {n: s["ulimits"]["nofile"] for n, s in services.items() if "ulimits" in s}
    expected = {s.name: {"soft": s.max_open_files, "hard": s.max_open_files} for s in spec.SERVICES if s.max_open_files}
    assert limits == expected and set(limits) == {"backend", "frontend"}, limits
    assert services["backend"]["environment"]["WS_MAX_CLIENTS"] == str(spec.WS_MAX_CLIENTS)
    assert all(limit["soft"] > spec.WS_MAX_CLIENTS for limit in limits.values())


def test_each_service_gets_an_ecr_repository_and_an_image_built_from_app(ec2_plan: Plan) -> None:
    repos = ec2_plan.recorded.of_type("aws:ecr/repository:Repository")
    assert len(repos) == len(spec.SERVICES) and all(r.inputs["imageScanningConfiguration"]["scanOnPush"] for r in repos)
    images = {i.name: i.inputs["context"] for i in ec2_plan.recorded.of_type("docker-build:index:Image")}
    assert sorted(c["location"] for c in images.values()) == sorted(s.build_context for s in spec.SERVICES)
    assert images["dixi-images-backend"]["named"] == {"common": {"location": "app/common"}}
    assert ec2_plan.recorded.outputs["imageSources"]["backend"] == "build: app/backend"


def _without_depends_on(plan: Plan, type_: str) -> RecordedPlan:
    """A copy of the recorded plan as if the resource of `type_` had no explicit dependsOn."""
    import copy

    broken = copy.deepcopy(plan.recorded)
    for resource in broken.of_type(type_):
        resource.dependencies = [d for d in resource.dependencies if d not in resource.depends_on]
        resource.depends_on = []
    return broken


def test_the_graph_rules_follow_the_real_references_of_the_stack(ec2_plan: Plan) -> None:
    from infra.checks import RULES, load_rules

    load_rules()
    assert RULES["compute-after-role-policies"](ec2_plan.recorded, ROOT) == []
    unordered = _without_depends_on(ec2_plan, INSTANCE)
    (problem,) = RULES["compute-after-role-policies"](unordered, ROOT)
    assert "does not wait for RolePolicy dixi-gpu-role" in problem.message, "found through the profile's name and its role"
    assert RULES["lb-after-internet-gateway"](ec2_plan.recorded, ROOT) == []
    unordered = _without_depends_on(ec2_plan, "aws:lb/loadBalancer:LoadBalancer")
    (problem,) = RULES["lb-after-internet-gateway"](unordered, ROOT)
    assert "dixi-net-igw" in problem.message


def test_two_deployments_in_one_stack_never_collide(ec2_plan: Plan) -> None:
    from collections import Counter

    from infra.aws.ec2_docker import Ec2DockerDeployment, Ec2DockerDeploymentArgs
    from infra.plan.engine import record

    def program() -> None:
        for name in ("dixi", "dixi-two"):
            args = Ec2DockerDeploymentArgs(
                stack="s", region="us-east-1", instance_type="g4dn.xlarge", root_volume_gib=100, data_volume_gib=100, domain=None,
                route53_zone_id=None, ollama_model="llama3.2", vision_gpu=False, retain_data=True, log_retention_days=30, vpc_cidr="10.20.0.0/16",
            )  # fmt: skip
            Ec2DockerDeployment(name, args)

    plan = record("dixi", "s", ec2_plan.recorded.config, {}, [], program, ROOT)
    keys = Counter(r.key for r in plan.resources)
    assert [k for k, n in keys.items() if n > 1] == [], "resource names derive from the component's name"
    physical = Counter((r.type, r.inputs["name"]) for r in plan.resources if r.custom and isinstance(r.inputs.get("name"), str))
    assert [k for k, n in physical.items() if n > 1] == [], "physical names (log group, parameter) derive from it too"
