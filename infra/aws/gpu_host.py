"""`GpuHost`: one GPU instance that boots a compose file, with its identity, its firewall and a data volume.

Creates, as children:
- an IAM role and instance profile. The role's one inline policy allows what
  the caller's work needs (`policy_statements`) plus exactly what Session
  Manager needs (`ssm:UpdateInstanceInformation` and the four
  `ssmmessages:*` channel actions; AWS's "custom IAM role for Session Manager"
  page), instead of `AmazonSSMManagedInstanceCore`, whose `ssm:GetParameter*`
  on `*` would let the host read every parameter in the account;
- a security group: the caller's load balancer group reaches `ingress_port`,
  nothing else gets in; everything may go out (registries, S3, SSM, mirrors);
- the data volume (encrypted gp3, mounted at /var/lib/dixi), its own resource
  so it outlives the host: a replacement host re-attaches it and finds its
  data, and `pulumi destroy` keeps it unless `retain_data` is false. It only
  grows: a `before_update` hook refuses a smaller size (EBS's ModifyVolume
  cannot shrink) with a line naming the config key, before anything changes,
  in preview too. A bigger size grows the volume in place and a timer on the
  host grows the filesystem within ten minutes;
- the instance: AMI from AWS's public SSM parameter for the GPU Deep Learning
  Base image, IMDSv2 required with hop limit 1 (containers cannot reach the
  instance credentials), encrypted gp3 root volume, no SSH key, cloud-init
  user data rendered by `infra.common.cloudinit`.

Replacement. The user data carries the compose file, whose images are digest
references, so every new image build replaces the host
(`userDataReplaceOnChange`). The host is delete-before-replace: the old host
goes first, so the account never needs GPU quota for two hosts, and the data
volume is free to move. Expect a few minutes of downtime per replacement.

Image updates. A newer AMI is published every few weeks; the host ignores
that change (`ignoreChanges: [ami]`) so it is not replaced for it alone. Any
replacement boots the newest AMI: on replace, the Pulumi engine checks the
program's new inputs again rather than the ignored old ones (pulumi/pulumi
pkg/resource/deploy/step_generator.go, "If we are going to perform a
replacement, we need to recompute the default values"). So hosts take a
patched image with each app update, or on demand with
`pulumi up --replace <the host's URN>`.

Ordering. The instance waits for its role's policy, so the boot script never
runs before the role may fetch the token, pull images and write logs; the
boot steps that call AWS retry as well (IAM is eventually consistent).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws.ebs as ebs
import pulumi_aws.ec2 as ec2
import pulumi_aws.iam as iam
import pulumi_aws.ssm as ssm
from pulumi import (
    Output,
    ResourceHook,
    ResourceHookArgs,
    ResourceHookBinding,
    ResourceHookOptions,
    ResourceOptions,
)

from infra.aws.firewall import allow_from_groups, allow_out_anywhere
from infra.common import cloudinit

# AWS's Deep Learning Base AMI: Ubuntu 22.04 with the NVIDIA driver, Docker,
# the NVIDIA container toolkit and the AWS CLI already installed.
GPU_AMI_PARAMETER: Final = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
DATA_MOUNT: Final = "/var/lib/dixi"
SESSION_MANAGER: Final = {
    "Sid": "SessionManager",
    "Effect": "Allow",
    "Action": [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ],
    "Resource": "*",
}
SIZE_KEY: Final = "dixi:dataVolumeGiB"


@dataclass(frozen=True)
class GpuHostArgs:
    instance_type: str
    root_volume_gib: int
    data_volume_gib: int
    retain_data: bool
    vpc_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    zone: pulumi.Input[str]
    ingress_port: int
    ingress_from_security_group: pulumi.Input[str]
    # What the host's work needs (besides Session Manager), as IAM statements.
    policy_statements: pulumi.Input[Sequence[dict[str, Any]]]
    compose_yaml: pulumi.Input[str]
    # The cloud's boot steps before compose starts, and what to do when the boot fails.
    boot_steps: pulumi.Input[Sequence[str]]
    on_failure: pulumi.Input[Sequence[str]]
    data_dirs: Sequence[tuple[str, int]]  # (directory under the data mount, owner uid)
    tags: dict[str, str]


def nvme_device(volume_id: str) -> str:
    """Where a Nitro instance (every GPU type we run) shows an EBS volume: by its id, not /dev/sdf."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def host_policy(statements: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [*statements, SESSION_MANAGER]})


def refuse_shrink(args: ResourceHookArgs) -> None:
    """`before_update` on the data volume: EBS volumes only grow, so say so before trying."""
    old = (args.old_inputs or {}).get("size")
    new = (args.new_inputs or {}).get("size")
    if isinstance(old, int | float) and isinstance(new, int | float) and new < old:
        raise ValueError(
            f"{SIZE_KEY}: {int(new)} is smaller than the data volume's {int(old)} GiB, and EBS volumes only grow "
            f"(ModifyVolume refuses a smaller size); set it to {int(old)} or more"
        )


class GpuHost(pulumi.ComponentResource):
    instance_id: Output[str]
    role_name: Output[str]
    security_group_id: Output[str]
    data_volume_id: Output[str]

    def __init__(self, name: str, args: GpuHostArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:GpuHost", name, None, opts)
        child = ResourceOptions(parent=self)
        role = iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                }
            ),
            tags=args.tags,
            opts=child,
        )
        policy = iam.RolePolicy(
            f"{name}-role", role=role.id, policy=Output.from_input(args.policy_statements).apply(host_policy), opts=child
        )
        profile = iam.InstanceProfile(f"{name}-profile", role=role.name, tags=args.tags, opts=child)

        group = ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="Dixi GPU host: the load balancer's port only", tags=args.tags, opts=child
        )
        allow_from_groups(
            name, group.id, args.ingress_port, [("lb", args.ingress_from_security_group)], "web", self, description="the app's web port, from the load balancer"
        )
        allow_out_anywhere(name, group.id, "ECR, S3, SSM, CloudWatch and package mirrors", self)

        no_shrink = ResourceHook(f"{name}-data-no-shrink", refuse_shrink, ResourceHookOptions(on_dry_run=True))
        volume = ebs.Volume(
            f"{name}-data",
            availability_zone=args.zone,
            size=args.data_volume_gib,
            type="gp3",
            encrypted=True,
            tags={**args.tags, "Name": f"{name}-data"},
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain_data, hooks=ResourceHookBinding(before_update=[no_shrink])),
        )
        script = Output.all(volume.id, args.boot_steps, args.on_failure).apply(
            lambda v: cloudinit.boot_script(
                args.data_dirs, list(v[1]), on_failure=list(v[2]), prepare_storage=cloudinit.data_volume_steps(nvme_device(v[0]), DATA_MOUNT)
            )
        )
        user_data = Output.all(args.compose_yaml, script, volume.id).apply(
            lambda v: cloudinit.render(v[0], v[1], cloudinit.data_volume_files(nvme_device(v[2]), DATA_MOUNT))
        )
        ami = ssm.get_parameter_output(name=GPU_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self))
        host = ec2.Instance(
            f"{name}-instance",
            ami=ami.value,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[group.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=True,
            # Every GPU type in the catalog is EBS-optimized by default at no charge; saying so
            # makes it explicit (checkov CKV_AWS_135) and refuses a type that is not.
            ebs_optimized=True,
            metadata_options=ec2.InstanceMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            root_block_device=ec2.InstanceRootBlockDeviceArgs(
                volume_size=args.root_volume_gib, volume_type="gp3", encrypted=True, delete_on_termination=True
            ),
            user_data=user_data,
            user_data_replace_on_change=True,
            tags={**args.tags, "Name": f"{name}-instance"},
            opts=ResourceOptions(
                parent=self,
                ignore_changes=["ami"],
                delete_before_replace=True,
                depends_on=[policy],
            ),
        )
        ec2.VolumeAttachment(
            f"{name}-data",
            device_name="/dev/sdf",
            volume_id=volume.id,
            instance_id=host.id,
            stop_instance_before_detaching=True,
            # A volume attaches to one host at a time: detach from the old host first.
            opts=ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.instance_id = host.id
        self.role_name = role.name
        self.security_group_id = group.id
        self.data_volume_id = volume.id
        self.register_outputs(
            {
                "instanceId": self.instance_id,
                "roleName": self.role_name,
                "securityGroupId": self.security_group_id,
                "dataVolumeId": self.data_volume_id,
            }
        )
