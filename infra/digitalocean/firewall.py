"""`role_firewall`: the cloud firewall of one Droplet role (app, GPU), by tag.

DigitalOcean cloud firewalls drop everything not allowed, in both directions
(docs.digitalocean.com/products/networking/firewalls/how-to/configure-rules),
so each role's firewall lists its few ways in and the ways out it needs:
DNS, HTTP and HTTPS to the internet (packages, images, Ollama's model pulls,
Spaces, the monitoring agent), NTP, and anything inside the VPC (the GPU
Droplet, the managed bus). Sources are the load balancer's id and the app
Droplets' tag, never an address range of the internet; SSH is opened only
to `dixi:doSshSources`, and not at all by default.

Creates one `Firewall`; the caller passes the tag, created before it (a
firewall naming a tag that does not exist yet is refused by the API).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean
from pulumi import ResourceOptions

INTERNET = ["0.0.0.0/0", "::/0"]
SSH_PORT = 22


@dataclass(frozen=True)
class Inbound:
    port: int
    from_load_balancers: Sequence[pulumi.Input[str]] = field(default_factory=list)
    from_tags: Sequence[pulumi.Input[str]] = field(default_factory=list)
    from_addresses: Sequence[str] = field(default_factory=list)


def outbound_rules(vpc_cidr: str) -> list[digitalocean.FirewallOutboundRuleArgs]:
    rules = [
        digitalocean.FirewallOutboundRuleArgs(protocol=protocol, port_range="53", destination_addresses=INTERNET) for protocol in ("udp", "tcp")
    ]
    rules += [digitalocean.FirewallOutboundRuleArgs(protocol="tcp", port_range=port, destination_addresses=INTERNET) for port in ("80", "443")]
    rules.append(digitalocean.FirewallOutboundRuleArgs(protocol="udp", port_range="123", destination_addresses=INTERNET))
    rules += [digitalocean.FirewallOutboundRuleArgs(protocol=protocol, port_range="1-65535", destination_addresses=[vpc_cidr]) for protocol in ("tcp", "udp")]
    rules.append(digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=INTERNET))
    return rules


def role_firewall(
    name: str, tag: pulumi.Input[str], inbound: Sequence[Inbound], ssh_sources: Sequence[str], vpc_cidr: str, parent: pulumi.Resource
) -> digitalocean.Firewall:
    rules = [
        digitalocean.FirewallInboundRuleArgs(
            protocol="tcp",
            port_range=str(i.port),
            source_load_balancer_uids=list(i.from_load_balancers) or None,
            source_tags=list(i.from_tags) or None,
            source_addresses=list(i.from_addresses) or None,
        )
        for i in inbound
    ]
    if ssh_sources:
        rules.append(digitalocean.FirewallInboundRuleArgs(protocol="tcp", port_range=str(SSH_PORT), source_addresses=list(ssh_sources)))
    return digitalocean.Firewall(
        name, tags=[tag], inbound_rules=rules, outbound_rules=outbound_rules(vpc_cidr), opts=ResourceOptions(parent=parent)
    )
