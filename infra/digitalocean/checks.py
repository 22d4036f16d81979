"""DigitalOcean check adapters: how the cross-cloud rules read DigitalOcean firewalls, load balancers and Droplets.

Openings (input names confirmed by recording the pulumi_digitalocean 4.84
classes under the offline engine, and in the SDK files named):
- cloud firewalls, `digitalocean:index/firewall:Firewall`
  (pulumi_digitalocean/firewall.py, `FirewallInboundRuleArgs` in _inputs.py):
  each of `inboundRules[]` with `action` allow (the default; deny rules are
  skipped), `protocol` tcp/udp (icmp carries no port), `portRange` ("80",
  "8000-9000", "1-65535" or "all"; unset is every port) and
  `sourceAddresses`. Sources named by Droplet id, tag, load balancer uid or
  Kubernetes cluster id are DigitalOcean resources, not the internet: they add
  no CIDR.
- load balancers, `digitalocean:index/loadBalancer:LoadBalancer`
  (pulumi_digitalocean/load_balancer.py, `LoadBalancerForwardingRuleArgs`):
  each of `forwardingRules[]` lets whoever reaches the balancer reach its
  Droplets' `targetPort` (from `entryPort`), over `targetProtocol` (udp stays
  udp, everything else is tcp). That is the internet unless `network` is
  INTERNAL; `firewall.allows` ("cidr:1.2.3.0/24", "ip:1.2.3.4") narrows the
  sources to those addresses, and `firewall.denies` is not read (a deny list
  leaves the rest of the internet in).

User data: Droplets' `userData` (pulumi_digitalocean/droplet.py), plain text;
the API takes at most 64 KiB ("It must be plain text and may not exceed 64 KiB
in size": Droplet create, user_data, https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplets/operation/droplets_create).

Judged: the VPC NAT gateway (egress only).

Left out: App Platform apps and managed Kubernetes (DOKS Services are read by
the Kubernetes adapters), database firewalls (they guard managed databases,
not the app's services; uncovered, so `checks-cover-entry-points` reports one
if a stack grows one), and Droplets without a firewall (a Droplet that no
firewall covers accepts every port: a rule for the stack kind, not an adapter).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from infra.checks.adapters import (
    INTERNET,
    Opening,
    UserData,
    int_or,
    judged,
    openings,
    port_range,
    user_data,
)
from infra.plan.model import RecordedPlan, RecordedResource, Secret, reveal

FIREWALL: Final = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER: Final = "digitalocean:index/loadBalancer:LoadBalancer"
DROPLET: Final = "digitalocean:index/droplet:Droplet"
# Droplet create, user_data: "must be plain text and may not exceed 64 KiB in size".
USER_DATA_LIMIT: Final = 64 * 1024

judged("digitalocean:index/vpcNatGateway:VpcNatGateway", "egress only: lets nothing in")


def _inputs(r: RecordedResource) -> dict[str, Any]:
    """`r`'s inputs with secrets unwrapped: the engine marks a whole object secret once one field in it is."""
    found: dict[str, Any] = reveal(r.inputs)
    return found


def _cidrs(values: Any) -> frozenset[str]:
    """Addresses as CIDRs: a bare IPv4 or IPv6 address is one host."""
    found = set()
    for value in reveal(values) or []:
        text = str(value).strip()
        if text:
            found.add(text if "/" in text else f"{text}/{128 if ':' in text else 32}")
    return frozenset(found)


@openings(FIREWALL)
def _firewall(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    for rule in _inputs(r).get("inboundRules") or []:
        protocol = str(rule.get("protocol") or "").lower()
        if str(rule.get("action") or "allow").lower() != "allow" or protocol not in ("tcp", "udp"):
            continue
        low, high = port_range(rule.get("portRange"))
        yield Opening(r, protocol, low, high, _cidrs(rule.get("sourceAddresses")), via=f"inbound rule {protocol} {rule.get('portRange') or 'all'}")


def _balancer_sources(balancer: dict[str, Any]) -> frozenset[str]:
    """The internet, or the addresses `firewall.allows` lets in ("cidr:1.2.3.0/24", "ip:1.2.3.4")."""
    allows = [str(a) for a in ((balancer.get("firewall") or {}).get("allows")) or []]
    if not allows:
        return INTERNET
    return _cidrs(a.partition(":")[2] for a in allows)


@openings(LOAD_BALANCER)
def _load_balancer(r: RecordedResource, plan: RecordedPlan) -> Iterator[Opening]:
    i = _inputs(r)
    if str(i.get("network") or "EXTERNAL").upper() == "INTERNAL":
        return
    sources = _balancer_sources(i)
    for rule in i.get("forwardingRules") or []:
        port = int_or(rule.get("targetPort"), 0)
        protocol = "udp" if str(rule.get("targetProtocol")).lower() == "udp" else "tcp"
        yield Opening(r, protocol, port, port, sources, via=f"entry port {int_or(rule.get('entryPort'), 0)} -> target port {port}")


@user_data(DROPLET)
def _droplet_user_data(r: RecordedResource) -> list[UserData]:
    raw = r.inputs.get("userData")
    text = reveal(raw)
    if not isinstance(text, str) or not text:
        return []
    return [UserData(r, text, USER_DATA_LIMIT, "DigitalOcean (Droplet user_data)", isinstance(raw, Secret))]
