"""`DockerDroplet`: one Droplet that boots a compose file, with, for a GPU Droplet, a volume for its data.

Creates the Droplet in the stack's VPC, tagged with its role's tag (the
firewall and the load balancer find it by tag), with DigitalOcean's
monitoring agent (the memory and disk alerts need it), no IPv6, graceful
shutdown before deletion, the SSH keys of `dixi:doSshKeys`, and the user
data from `infra.common.cloudinit`, sent as a secret (it carries the host's
secrets: `infra.digitalocean.boot`). With a volume: a block storage volume
of its own (a separate resource, so it outlives every Droplet) and its
attachment; the boot mounts it by its by-id path.

Replacement. The API cannot change user data, the image or the region of a
Droplet (docs.digitalocean.com/products/droplets/how-to/provide-user-data:
"You cannot modify user data after a Droplet is created"), so a new image
digest in the compose file replaces the Droplet. A GPU Droplet is replaced
delete-first (`replace_first`): GPU Droplets are scarce (per-account limits
and regional capacity), and the volume can be attached to one Droplet only.
App Droplets are replaced create-first: the load balancer picks up the new
one by its tag while the old one still serves. A new size replaces the
Droplet too (`replaceOnChanges`): the provider would otherwise power it off
and resize it in place (resource_droplet.go: `size` is not ForceNew), all
app Droplets at once, and refuse a size with a smaller disk. The SSH keys are
fixed at creation as well: changing `dixi:doSshKeys` replaces every Droplet.

The provider gives a Droplet's delete 60 s by default, and a graceful
shutdown that takes longer fails the delete; the stack allows 10 minutes.

Destroy: the volume is kept (`retainOnDelete`) unless `retain` is false;
Droplets go. A kept volume must be deleted by hand or imported into the next
stack (`pulumi import digitalocean:index/volume:Volume ...`): a volume's name
is unique in its region.

Left out: backups (the state worth keeping is the volume), reserved IPs (the
load balancer is the way in), Droplet autoscale pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean
from pulumi import Output, ResourceOptions

# Time for a graceful shutdown (and the volume's detach) before the delete fails.
DELETE_TIMEOUT = "10m"


@dataclass(frozen=True)
class DataVolume:
    name: str  # physical; unique in its region
    size_gib: int
    retain: bool
    description: str


@dataclass(frozen=True)
class DockerDropletArgs:
    physical_name: str
    region: str
    size: str
    image: str
    vpc_id: pulumi.Input[str]
    user_data: pulumi.Input[str]
    tags: Sequence[pulumi.Input[str]]
    ssh_keys: Sequence[str] = field(default_factory=list)
    replace_first: bool = False
    volume: DataVolume | None = None


class DockerDroplet(pulumi.ComponentResource):
    droplet_id: Output[str]
    droplet_urn: Output[str]
    private_ip: Output[str]
    volume_id: Output[str] | None

    def __init__(self, name: str, args: DockerDropletArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:DockerDroplet", name, None, opts)
        volume = None
        if args.volume is not None:
            volume = digitalocean.Volume(
                f"{name}-data",
                name=args.volume.name,
                region=args.region,
                size=args.volume.size_gib,
                description=args.volume.description,
                opts=ResourceOptions(parent=self, retain_on_delete=args.volume.retain),
            )
        droplet = digitalocean.Droplet(
            name,
            name=args.physical_name,
            region=args.region,
            size=args.size,
            image=args.image,
            vpc_uuid=args.vpc_id,
            user_data=Output.secret(args.user_data),
            tags=list(args.tags),
            ssh_keys=list(args.ssh_keys) or None,
            monitoring=True,
            ipv6=False,
            graceful_shutdown=True,
            volume_ids=[volume.id] if volume is not None else None,
            opts=ResourceOptions(
                parent=self,
                delete_before_replace=args.replace_first,
                replace_on_changes=["size"],
                custom_timeouts=pulumi.CustomTimeouts(delete=DELETE_TIMEOUT),
            ),
        )
        self.volume_id = volume.id if volume is not None else None
        self.droplet_id = droplet.id
        self.droplet_urn = droplet.droplet_urn
        self.private_ip = droplet.ipv4_address_private
        outputs: dict[str, object] = {"dropletId": self.droplet_id, "dropletUrn": self.droplet_urn, "privateIp": self.private_ip}
        if self.volume_id is not None:
            outputs["volumeId"] = self.volume_id
        self.register_outputs(outputs)
