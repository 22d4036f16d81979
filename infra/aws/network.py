"""`Network`: a VPC with two public subnets in two availability zones, their zones pinned at creation.

Creates the VPC, an internet gateway, one public subnet in each of two
available zones (an ALB needs two), their route table, and takes over the
VPC's default security group with no rules so nothing can use it by accident.
With `nat_gateways` (1 or 2) it also creates a private subnet in each of the
two zones, with no public addresses, whose traffic out leaves through NAT
gateways in the public subnets (one shared, or one per zone so that losing a
zone does not cut the other zone's egress), and a gateway endpoint for S3 on
the private route tables: free, and ECR serves image layers from S3, so most
image-pull bytes skip the NAT's per-GB charge.
Zones listed in `preferred_zones` come first, so the first subnet (where a
caller puts its host) is in a zone that offers the host's instance type: not
every zone has every GPU type.

The zones come from live lookups (the region's available zones, the zones
offering an instance type), and a subnet's zone forces its replacement. So
each subnet ignores later changes to its zone (`ignoreChanges`): the zones are
chosen once, at creation, and stay in the state. A lookup that answers
differently later (an impaired zone, a new offering, another instance type)
changes nothing. What follows the zone (a data volume) reads it from the
subnet's output, which is the pinned value. A subnet replaced for another
reason (a new `dixi:vpcCidr`) takes the zones the lookups give then.

Without NAT gateways (`aws-ec2`) there are no private subnets: the host sits
in a public subnet with a public address for egress (ECR, S3, SSM, package
mirrors), and its security group admits nothing from the internet; a NAT
gateway would add about $33 a month for no gain in reachability.

Left out on purpose: interface VPC endpoints (ECR, CloudWatch Logs, SSM,
ECS). They would not replace the NAT: Ollama pulls its models from
registry.ollama.ai and public images come from Docker Hub, both on the
internet. Five endpoints in two zones cost about $73 a month on top of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_aws.ec2 as ec2
from pulumi import Output, ResourceOptions

ZONES = 2


@dataclass(frozen=True)
class NetworkArgs:
    cidr: str
    tags: dict[str, str]
    preferred_zones: pulumi.Input[Sequence[str]] = field(default_factory=list)
    # 0: public subnets only; 1: private subnets behind one shared NAT gateway; 2: one per zone.
    nat_gateways: int = 0

    def __post_init__(self) -> None:
        if self.nat_gateways not in range(ZONES + 1):
            raise ValueError(f"nat_gateways is 0 (no private subnets), 1 (shared) or {ZONES} (one per zone), not {self.nat_gateways}")


def zones_offering(instance_type: str, parent: pulumi.Resource) -> Output[list[str]]:
    """The region's zones that offer `instance_type` (a live lookup: pass it as `preferred_zones`, never as a zone itself)."""
    offered = ec2.get_instance_type_offerings_output(
        location_type="availability-zone",
        filters=[ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[instance_type])],
        opts=pulumi.InvokeOutputOptions(parent=parent),
    )
    return offered.locations


def pick_zones(available: Sequence[str], preferred: Sequence[str], count: int = ZONES) -> list[str]:
    """`count` zones from `available`, those in `preferred` first, each group in the API's order."""
    ordered = [z for z in available if z in preferred] + [z for z in available if z not in preferred]
    return ordered[:count]


def subnet_cidrs(cidr: str, count: int = ZONES) -> list[str]:
    """`count` equal subnets carved from `cidr`: /20s from a /16, never smaller than an ALB's /27."""
    network = ipaddress.IPv4Network(cidr)
    prefix = min(network.prefixlen + 4, 27)
    return [str(s) for s in list(network.subnets(new_prefix=prefix))[:count]]


class Network(pulumi.ComponentResource):
    vpc_id: Output[str]
    cidr: Output[str]
    internet_gateway_id: Output[str]
    public_subnet_ids: list[Output[str]]
    public_subnet_zones: list[Output[str]]
    private_subnet_ids: list[Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:Network", name, None, opts)
        child = ResourceOptions(parent=self)
        available = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        zones = Output.all(available.names, args.preferred_zones).apply(lambda v: pick_zones(v[0], v[1]))

        vpc = ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**args.tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={**args.tags, "Name": f"{name}-default-unused"},
            opts=child,
        )
        gateway = ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=args.tags, opts=child)
        routes = ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags={**args.tags, "Name": f"{name}-public"},
            opts=child,
        )
        cidrs = subnet_cidrs(args.cidr, 2 * ZONES if args.nat_gateways else ZONES)
        self.public_subnet_ids, self.public_subnet_zones, self.private_subnet_ids = [], [], []
        for index, cidr in enumerate(cidrs[:ZONES]):
            subnet = ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones[index],
                map_public_ip_on_launch=False,
                tags={**args.tags, "Name": f"{name}-public-{index}"},
                # Chosen once from live lookups; see the module docstring.
                opts=ResourceOptions(parent=self, ignore_changes=["availabilityZone"]),
            )
            ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            self.public_subnet_ids.append(subnet.id)
            self.public_subnet_zones.append(subnet.availability_zone)

        if args.nat_gateways:
            self._private(name, args, vpc, gateway, cidrs[ZONES:])

        self.vpc_id = vpc.id
        self.cidr = vpc.cidr_block
        self.internet_gateway_id = gateway.id
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "cidr": self.cidr,
                "internetGatewayId": self.internet_gateway_id,
                "publicSubnetIds": self.public_subnet_ids,
                "publicSubnetZones": self.public_subnet_zones,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _private(self, name: str, args: NetworkArgs, vpc: ec2.Vpc, gateway: ec2.InternetGateway, cidrs: Sequence[str]) -> None:
        """Private subnets in the public subnets' zones, out through NAT, S3 through a gateway endpoint."""
        child = ResourceOptions(parent=self)
        nats = []
        for index in range(args.nat_gateways):
            address = ec2.Eip(f"{name}-nat-{index}", domain="vpc", tags={**args.tags, "Name": f"{name}-nat-{index}"}, opts=child)
            nats.append(
                ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=address.allocation_id,
                    subnet_id=self.public_subnet_ids[index],
                    tags={**args.tags, "Name": f"{name}-nat-{index}"},
                    # A NAT gateway in a VPC without an attached internet gateway cannot reach anything.
                    opts=ResourceOptions(parent=self, depends_on=[gateway]),
                )
            )
        tables = []
        for index, cidr in enumerate(cidrs):
            nat = nats[index % len(nats)]
            table = ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                routes=[ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**args.tags, "Name": f"{name}-private-{index}"},
                opts=child,
            )
            subnet = ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                # The same zone as the public subnet (and NAT) of the same index; pinned like it.
                availability_zone=self.public_subnet_zones[index],
                map_public_ip_on_launch=False,
                tags={**args.tags, "Name": f"{name}-private-{index}"},
                opts=ResourceOptions(parent=self, ignore_changes=["availabilityZone"]),
            )
            ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=child)
            self.private_subnet_ids.append(subnet.id)
            tables.append(table)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=region.region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables],
            tags={**args.tags, "Name": f"{name}-s3"},
            opts=child,
        )
