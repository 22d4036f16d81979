"""`GpuCapacity`: GPU instances for ECS tasks, scaled by an ECS capacity provider, that never hold `pulumi destroy` up.

Creates, as children:
- the container instances' IAM role and instance profile; the role's one
  inline policy allows exactly what the ECS agent does for this cluster
  (register, poll, report state: the ECS actions of AWS's
  `AmazonEC2ContainerServiceforEC2Role`, which the ECS guide offers "as a
  guide when creating a custom policy" (instance_IAM_role.html), less
  CreateCluster, scoped to the cluster and its container instances per the
  Service Authorization Reference for ECS).
  Nothing else: images, logs and secrets are the task execution roles'
  business, and tasks get their own roles;
- the instances' security group: nothing gets in (tasks use `awsvpc`, so
  each task has its own network interface and security group), everything
  may go out (the ECS endpoints, registries, through the NAT gateway);
- a launch template: the ECS-optimized Amazon Linux 2023 GPU AMI resolved
  from its public SSM parameter at each launch (`resolve:ssm:`, so a new
  AMI needs no `pulumi up` and changes no input), IMDSv2 required with hop
  limit 1 and `ECS_AWSVPC_BLOCK_IMDS` (tasks cannot read the instance's
  credentials), an encrypted gp3 root volume, and user data that joins the
  cluster;
- an Auto Scaling group over the private subnets, from 0 to `max_instances`
  instances, which the capacity provider's managed scaling sizes to the GPU
  tasks placed on it;
- the capacity provider.

Teardown. The known ECS failure (pulumi/pulumi-aws#1621,
hashicorp/terraform-provider-aws#11409 and #18849, aws/containers-roadmap#2862)
is a cluster or Auto Scaling group that cannot be deleted because instances
with scale-in protection stay registered. Here managed termination
protection is off and the group does not protect new instances from scale
in, so nothing keeps an instance alive; the group is deleted with
`force_delete`, which terminates its instances without waiting for lifecycle
hooks (docs.aws.amazon.com/autoscaling/ec2/userguide/resource-deletion-protection.html).
The order comes from the graph: services -> the cluster's capacity
providers -> this capacity provider -> the group -> the launch template and
the cluster, so destroy removes the tasks, then the instances, then the
cluster. The cost of turning protection off: a scale-in may stop an instance
that still runs a task, which ECS then starts again elsewhere. With one GPU
task per instance and `max_instances` equal to the GPU tasks, managed
scaling has nothing to scale in while they run.

Replacement. A new launch template version (another instance type, say)
applies to instances launched after it; running ones are not replaced, so
the account never needs GPU quota for more than `max_instances` at once.

Left out: Spot instances, warm pools, SSH keys and Session Manager on the
instances (ECS Exec would be the way into a task).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_aws.autoscaling as autoscaling
import pulumi_aws.ec2 as ec2
import pulumi_aws.ecs as ecs
import pulumi_aws.iam as iam
from pulumi import Output, ResourceOptions

from infra.aws import catalog
from infra.aws.firewall import allow_out_anywhere

# The AMI's 30 GiB root (catalog) holds the OS, the NVIDIA driver and Docker;
# the Ollama image is about 4 GB and its models live on EFS, not here.
ROOT_VOLUME_GIB = 60


@dataclass(frozen=True)
class GpuCapacityArgs:
    stack: str
    cluster_name: str
    cluster_arn: pulumi.Input[str]
    region: str
    instance_type: str
    max_instances: int
    vpc_id: pulumi.Input[str]
    # The private subnets in zones that offer the instance type.
    subnet_ids: pulumi.Input[Sequence[str]]
    tags: dict[str, str]


def agent_statements(cluster_arn: str, cluster_name: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """What the ECS agent of a container instance does for one cluster, as IAM statements."""
    return [
        {
            "Sid": "EcsAgentCluster",
            "Effect": "Allow",
            "Action": [
                "ecs:DeregisterContainerInstance",
                "ecs:RegisterContainerInstance",
                "ecs:SubmitAttachmentStateChanges",
                "ecs:SubmitContainerStateChange",
                "ecs:SubmitTaskStateChange",
            ],
            "Resource": cluster_arn,
        },
        {
            "Sid": "EcsAgentInstance",
            "Effect": "Allow",
            "Action": ["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState"],
            "Resource": f"arn:aws:ecs:{region}:{account_id}:container-instance/{cluster_name}/*",
        },
        # DiscoverPollEndpoint takes no resource (Service Authorization Reference, Amazon ECS).
        {"Sid": "EcsAgentDiscover", "Effect": "Allow", "Action": "ecs:DiscoverPollEndpoint", "Resource": "*"},
    ]


def user_data(cluster_name: str) -> str:
    """The boot script that joins the cluster; the GPU AMI already turns GPU support on."""
    settings = {
        "ECS_CLUSTER": cluster_name,
        "ECS_ENABLE_GPU_SUPPORT": "true",
        # awsvpc tasks cannot reach the instance metadata service (and its credentials).
        "ECS_AWSVPC_BLOCK_IMDS": "true",
        "ECS_ENABLE_TASK_IAM_ROLE": "true",
    }
    lines = "\n".join(f"{k}={v}" for k, v in settings.items())
    return f"#!/bin/bash\nset -euo pipefail\ncat >> /etc/ecs/ecs.config <<'EOF'\n{lines}\nEOF\n"


class GpuCapacity(pulumi.ComponentResource):
    capacity_provider_name: Output[str]
    auto_scaling_group_name: Output[str]
    role_name: Output[str]
    security_group_id: Output[str]

    def __init__(self, name: str, args: GpuCapacityArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:GpuCapacity", name, None, opts)
        child = ResourceOptions(parent=self)
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role = iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
            tags=args.tags,
            opts=child,
        )
        policy = iam.RolePolicy(
            f"{name}-role",
            role=role.id,
            policy=Output.all(args.cluster_arn, caller.account_id).apply(
                lambda v: json.dumps({"Version": "2012-10-17", "Statement": agent_statements(v[0], args.cluster_name, args.region, v[1])})
            ),
            opts=child,
        )
        profile = iam.InstanceProfile(f"{name}-profile", role=role.name, tags=args.tags, opts=child)
        group = ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="Dixi GPU container instances: nothing in", tags=args.tags, opts=child
        )
        allow_out_anywhere(name, group.id, "ECS, ECR and registries, through the NAT gateway", self)
        template = ec2.LaunchTemplate(
            f"{name}-template",
            # Resolved at each launch: https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html
            image_id=f"resolve:ssm:{catalog.ECS_GPU_AMI_PARAMETER}",
            instance_type=args.instance_type,
            iam_instance_profile=ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=[group.id],
            metadata_options=ec2.LaunchTemplateMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            block_device_mappings=[
                ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=catalog.ECS_GPU_AMI_ROOT_DEVICE,
                    ebs=ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=ROOT_VOLUME_GIB, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            user_data=base64.b64encode(user_data(args.cluster_name).encode()).decode(),
            update_default_version=True,
            tag_specifications=[ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={**args.tags, "Name": f"{name}"})],
            tags=args.tags,
            # An instance must never boot before its role may register it with the cluster.
            opts=ResourceOptions(parent=self, depends_on=[policy]),
        )
        group_of_hosts = autoscaling.Group(
            f"{name}-asg",
            min_size=0,
            max_size=args.max_instances,
            vpc_zone_identifiers=args.subnet_ids,
            launch_template=autoscaling.GroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            protect_from_scale_in=False,
            force_delete=True,
            health_check_type="EC2",
            tags=[
                # ECS manages the group's size through the capacity provider (its docs ask for this tag).
                autoscaling.GroupTagArgs(key="AmazonECSManaged", value="true", propagate_at_launch=True),
                *(autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True) for k, v in args.tags.items()),
            ],
            # Managed scaling sets the desired capacity; the program never does.
            opts=ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        provider = ecs.CapacityProvider(
            f"{name}-provider",
            # Letters, digits, hyphens and underscores, and never starting with aws, ecs or fargate (CreateCapacityProvider).
            name=re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{args.stack}"),
            auto_scaling_group_provider=ecs.CapacityProviderAutoScalingGroupProviderArgs(
                auto_scaling_group_arn=group_of_hosts.arn,
                managed_termination_protection="DISABLED",
                managed_draining="ENABLED",
                managed_scaling=ecs.CapacityProviderAutoScalingGroupProviderManagedScalingArgs(
                    status="ENABLED", target_capacity=100, minimum_scaling_step_size=1, maximum_scaling_step_size=1
                ),
            ),
            tags=args.tags,
            opts=child,
        )
        self.capacity_provider_name = provider.name
        self.auto_scaling_group_name = group_of_hosts.name
        self.role_name = role.name
        self.security_group_id = group.id
        self.register_outputs(
            {
                "capacityProviderName": self.capacity_provider_name,
                "autoScalingGroupName": self.auto_scaling_group_name,
                "roleName": self.role_name,
                "securityGroupId": self.security_group_id,
            }
        )
