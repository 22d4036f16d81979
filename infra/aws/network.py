"""`Network`: a VPC with two public subnets in two availability zones, their zones pinned at creation.

Creates the VPC, an internet gateway, one public subnet in each of two
available zones (an ALB needs two), their route table, and takes over the
VPC's default security group with no rules so nothing can use it by accident.
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

Left out on purpose: private subnets and NAT gateways. Hosts sit in a public
subnet with a public address for egress (ECR, S3, SSM, package mirrors), but
their security groups admit nothing from the internet. A NAT gateway would
add about $33 a month for no gain in reachability.
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
        self.public_subnet_ids, self.public_subnet_zones = [], []
        for index, cidr in enumerate(subnet_cidrs(args.cidr)):
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
            }
        )
