"""AWS rules: what the EC2/ELB APIs enforce, and our security rules for AWS resources.

- `private-ports-not-public`: no security group rule opens the vision or Ollama
  port (or all ports) to 0.0.0.0/0 or ::/0.
- `alb-two-zones`: an application load balancer has subnets in at least two zones
  (the ELB API refuses fewer).
- `imdsv2-required`: every instance and launch template requires IMDSv2 tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import spec
from infra.checks import Problem, problem, rule
from infra.plan.engine import RecordedPlan, RecordedResource

WORLD = {"0.0.0.0/0", "::/0"}
ALL_PROTOCOLS = {"-1", "all"}


@dataclass(frozen=True)
class Ingress:
    resource: RecordedResource
    protocol: str
    from_port: int
    to_port: int
    cidrs: frozenset[str]


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def ingress_rules(plan: RecordedPlan) -> Iterator[Ingress]:
    """Every ingress rule in the plan, whichever of AWS's three ways declares it."""
    for r in plan.resources:
        i = r.inputs
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            cidrs = {c for c in (i.get("cidrIpv4"), i.get("cidrIpv6")) if c}
            yield Ingress(r, str(i.get("ipProtocol", "")), _int(i.get("fromPort"), 0), _int(i.get("toPort"), 65535), frozenset(cidrs))
        elif r.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and i.get("type") == "ingress":
            cidrs = set(i.get("cidrBlocks") or []) | set(i.get("ipv6CidrBlocks") or [])
            yield Ingress(r, str(i.get("protocol", "")), _int(i.get("fromPort"), 0), _int(i.get("toPort"), 65535), frozenset(cidrs))
        elif r.type == "aws:ec2/securityGroup:SecurityGroup":
            for block in i.get("ingress") or []:
                cidrs = set(block.get("cidrBlocks") or []) | set(block.get("ipv6CidrBlocks") or [])
                yield Ingress(r, str(block.get("protocol", "")), _int(block.get("fromPort"), 0), _int(block.get("toPort"), 65535), frozenset(cidrs))


@rule("private-ports-not-public")
def private_ports_not_public(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    names = {s.port: s.name for s in spec.SERVICES if not s.is_public}
    for ingress in ingress_rules(plan):
        world = sorted(ingress.cidrs & WORLD)
        if not world:
            continue
        every_port = ingress.protocol in ALL_PROTOCOLS or (ingress.from_port <= 0 and ingress.to_port >= 65535)
        if every_port:
            problems.append(problem("private-ports-not-public", "error", ingress.resource, f"opens all ports to {', '.join(world)}; vision and Ollama must never be reachable from the internet"))
            continue
        for port, service in sorted(names.items()):
            if ingress.from_port <= port <= ingress.to_port:
                problems.append(problem("private-ports-not-public", "error", ingress.resource, f"opens port {port} ({service}) to {', '.join(world)}; {service} must never be reachable from the internet"))
    return problems


@rule("alb-two-zones")
def alb_two_zones(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for alb in plan.of_type("aws:lb/loadBalancer:LoadBalancer") + plan.of_type("aws:alb/loadBalancer:LoadBalancer"):
        if alb.inputs.get("loadBalancerType", "application") != "application":
            continue
        ids = list(alb.inputs.get("subnets") or []) + [m.get("subnetId") for m in alb.inputs.get("subnetMappings") or []]
        zones, unknown = set(), 0
        for subnet_id in ids:
            subnet = plan.by_id(str(subnet_id))
            zone = subnet.inputs.get("availabilityZone") if subnet else None
            if zone:
                zones.add(zone)
            else:
                unknown += 1
        if len(zones) + unknown < 2:
            problems.append(problem("alb-two-zones", "error", alb, f"has subnets in {len(zones)} availability zone(s) ({', '.join(sorted(zones)) or 'none'}); an application load balancer needs subnets in at least two"))
    return problems


@rule("imdsv2-required")
def imdsv2_required(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for vm in plan.of_type("aws:ec2/instance:Instance") + plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        tokens = (vm.inputs.get("metadataOptions") or {}).get("httpTokens")
        if tokens != "required":
            problems.append(problem("imdsv2-required", "error", vm, f"metadataOptions.httpTokens is {tokens!r}; it must be 'required' (IMDSv2) so a request forged through the app cannot read the instance's credentials"))
    return problems
