"""`GcpNetwork`: a VPC with one regional subnet, Cloud NAT for its traffic out, and the one firewall rule into Ollama.

Creates, as children: a custom-mode VPC (no auto subnets), one subnet in the
stack's region with Private Google Access (Cloud Run's Direct VPC egress
reaches Google APIs and internal `run.app` services through it), a Cloud
Router and a Cloud NAT gateway for every range of the subnet (the GPU VM has
no external IP; its image pulls and model downloads leave through NAT), and
a firewall rule that admits TCP 11434 to the VMs tagged `ollama_tag` from the
subnet's own range only: Cloud Run's Direct VPC egress takes its addresses
from that range, and Google documents network tags and service accounts as
unsupported sources for such traffic (cloud.google.com/run/docs/configuring/vpc-direct-vpc).

Nothing is open to 0.0.0.0/0. Google's health-check ranges reach the GPU VM
through a rule of the VM's own component. Left out: a second subnet for
Cloud Run (one /20 holds both the VM and the tasks' addresses), VPC flow logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp.compute as compute
from pulumi import Output, ResourceOptions

from infra import spec

SUBNET_CIDR = "10.30.0.0/20"


@dataclass(frozen=True)
class GcpNetworkArgs:
    region: str
    ollama_tag: str | None  # None: no VM runs Ollama, no rule into it
    cidr: str = SUBNET_CIDR


class GcpNetwork(pulumi.ComponentResource):
    network_id: Output[str]
    network_self_link: Output[str]
    subnetwork_id: Output[str]
    subnetwork_self_link: Output[str]
    cidr: Output[str]

    def __init__(self, name: str, args: GcpNetworkArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:GcpNetwork", name, None, opts)
        child = ResourceOptions(parent=self)
        network = compute.Network(f"{name}", auto_create_subnetworks=False, routing_mode="REGIONAL", description="Dixi", opts=child)
        subnet = compute.Subnetwork(
            f"{name}-subnet",
            network=network.id,
            region=args.region,
            ip_cidr_range=args.cidr,
            private_ip_google_access=True,
            opts=child,
        )
        router = compute.Router(f"{name}-router", network=network.id, region=args.region, opts=child)
        compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        if args.ollama_tag is not None:
            self._to_ollama(name, network, args.ollama_tag, args.cidr)

        self.network_id = network.id
        self.network_self_link = network.self_link
        self.subnetwork_id = subnet.id
        self.subnetwork_self_link = subnet.self_link
        self.cidr = Output.from_input(args.cidr)
        self.register_outputs(
            {
                "networkId": self.network_id,
                "networkSelfLink": self.network_self_link,
                "subnetworkId": self.subnetwork_id,
                "subnetworkSelfLink": self.subnetwork_self_link,
                "cidr": self.cidr,
            }
        )

    def _to_ollama(self, name: str, network: compute.Network, tag: str, cidr: str) -> None:
        compute.Firewall(
            f"{name}-to-ollama",
            network=network.id,
            direction="INGRESS",
            source_ranges=[cidr],
            target_tags=[tag],
            allows=[compute.FirewallAllowArgs(protocol="tcp", ports=[str(spec.OLLAMA.port)])],
            description="Ollama from the subnet (the backend's Direct VPC egress) only",
            opts=ResourceOptions(parent=self),
        )
