"""`ModelStore`: an encrypted EFS file system for Ollama's models, reachable from the caller's tasks only, kept on destroy.

Creates, as children: the file system (encrypted at rest with the AWS-managed
key, Elastic throughput, General Purpose mode), its security group (NFS,
2049, from the security groups the caller names, nothing else), a mount
target in each of the caller's subnets, and an access point that roots the
tasks in `/<directory>` as the container's uid, creating it owned by that
uid on first use. With `retain` (`dixi:retainData`) `pulumi destroy` leaves
the file system, and the models in it, in the account; mount targets,
the access point and the security group are deleted (they hold no data).

Why EFS for Ollama's models (the choice the `aws` stack makes). The store
must outlive the task and the GPU host, which the capacity provider's
Auto Scaling group replaces at will:
- EFS: survives both, in any zone; a model is read once per container start
  at EFS Elastic throughput, up to about 500 MiB/s per client (the EFS
  performance page, docs.aws.amazon.com/efs/latest/ug/performance.html, lists
  per-client limits by mode; 500 MiB/s is the classic per-client figure,
  newer clients may go higher): llama3.2's ~2 GB loads in about 4 s, plus
  NFS latency. About $3 a month for 10 GB (`infra.aws.prices`).
- A per-host EBS data volume: an ASG's instances get volumes from the launch
  template, deleted with the instance, so a replaced host starts empty and
  pulls the model again from registry.ollama.ai through the NAT gateway
  (tens of seconds for 2 GB, plus $0.045/GB); a gp3 volume reads at a
  125 MiB/s baseline (docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html),
  about 16 s for the same model. Keeping one volume across hosts needs
  attach/detach scripting in the boot, which ECS capacity providers do not do.
- Instance store plus a pull from the models bucket: g4dn's NVMe is fastest,
  but empty after every stop or replacement: every start copies the models
  in first, and the bucket sync has to be written and kept in the boot.
EFS costs a few seconds at load for no scripting and no lost models. The
GPU instances mount it through the ECS agent with the EFS mount helper,
which the ECS-optimized AMIs ship (aws/amazon-ecs-ami: al2023.pkr.hcl runs
scripts/append-efs-client-info.sh, which writes into its
/etc/amazon/efs/efs-utils.conf); Fargate has it built in.

Left out: EFS backups (the models can be pulled again; `dixi:retainData`
keeps them across destroy), a customer-managed KMS key, lifecycle rules to
Infrequent Access (models are read on every start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.efs as efs
from pulumi import Output, ResourceOptions

from infra.aws.firewall import allow_from_groups, enumerate_labels

NFS_PORT = 2049


@dataclass(frozen=True)
class ModelStoreArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]]
    directory: str  # the access point's root, e.g. "/ollama"
    owner_uid: int
    retain: bool
    tags: dict[str, str]


class ModelStore(pulumi.ComponentResource):
    file_system_id: Output[str]
    file_system_arn: Output[str]
    access_point_id: Output[str]
    access_point_arn: Output[str]
    mount_target_ids: list[Output[str]]

    def __init__(self, name: str, args: ModelStoreArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:ModelStore", name, None, opts)
        child = ResourceOptions(parent=self)
        store = efs.FileSystem(
            f"{name}",
            encrypted=True,
            throughput_mode="elastic",
            performance_mode="generalPurpose",
            tags={**args.tags, "Name": f"{name}"},
            opts=ResourceOptions(parent=self, retain_on_delete=args.retain),
        )
        group = ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, description="Dixi model store: NFS from Ollama only", tags=args.tags, opts=child)
        allow_from_groups(name, group.id, NFS_PORT, list(enumerate_labels(args.client_security_group_ids)), "NFS", self)
        self.mount_target_ids = [
            efs.MountTarget(f"{name}-{index}", file_system_id=store.id, subnet_id=subnet, security_groups=[group.id], opts=child).id
            for index, subnet in enumerate(args.subnet_ids)
        ]
        point = efs.AccessPoint(
            f"{name}-ap",
            file_system_id=store.id,
            posix_user=efs.AccessPointPosixUserArgs(uid=args.owner_uid, gid=args.owner_uid),
            root_directory=efs.AccessPointRootDirectoryArgs(
                path=args.directory,
                creation_info=efs.AccessPointRootDirectoryCreationInfoArgs(owner_uid=args.owner_uid, owner_gid=args.owner_uid, permissions="750"),
            ),
            tags=args.tags,
            opts=child,
        )
        self.file_system_id = store.id
        self.file_system_arn = store.arn
        self.access_point_id = point.id
        self.access_point_arn = point.arn
        self.register_outputs(
            {
                "fileSystemId": self.file_system_id,
                "fileSystemArn": self.file_system_arn,
                "accessPointId": self.access_point_id,
                "accessPointArn": self.access_point_arn,
                "mountTargetIds": self.mount_target_ids,
            }
        )
