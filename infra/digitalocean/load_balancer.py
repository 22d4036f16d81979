"""`PublicLoadBalancer`: the DigitalOcean load balancer in front of the app Droplets, with HTTPS when a domain is set.

Creates a regional load balancer in the stack's VPC that sends to the
Droplets carrying the app tag (new Droplets join by their tag, so a replaced
Droplet needs no change here), on their frontend port. DigitalOcean load
balancers route by port only, never by path (docs.digitalocean.com/products/
networking/load-balancers/details/limits), so everything goes to the
frontend, whose nginx proxies `/api` and `/ws` to the backend on its own
Droplet.

- Health check: HTTP `GET` of the frontend's readiness path, every 10 s, 5 s
  to answer, out after 3 failures, back after 3 passes.
- WebSockets: the load balancer upgrades them on HTTP and HTTPS rules
  (docs.digitalocean.com/glossary/keep-alive); the idle timeout is at its
  most (`catalog.LB_IDLE_TIMEOUT_SECONDS`) so a quiet `/ws` is not cut while
  the backend's pings are the only traffic.
- With `dixi:domain`: a Let's Encrypt certificate (`Certificate`,
  type lets_encrypt; DigitalOcean answers its DNS challenge, so the domain's
  zone must be in the account's DNS: the zone is looked up first and `up`
  stops with the lookup's error when it is not), HTTPS on 443 to HTTP on the
  Droplets, HTTP redirected to HTTPS, and an A record for the domain. The
  load balancer's own automatic Let's Encrypt records are off, so the one
  record is the stack's and goes with it on destroy.
- The certificate is named by Pulumi (a suffix): a new one (a changed
  domain) is created and moved to before the old one is deleted.

Left out: sticky sessions (any frontend serves any client; events reach
every backend through the bus), PROXY protocol, the load balancer's own
firewall (the Droplets' firewall lets only this balancer in), HTTP/2 and
HTTP/3 entry rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
from pulumi import Output, ResourceOptions

from infra.digitalocean import catalog

HEALTH_INTERVAL_SECONDS = 10
HEALTH_TIMEOUT_SECONDS = 5
UNHEALTHY_THRESHOLD = 3
HEALTHY_THRESHOLD = 3
SIZE_UNIT = 1
DNS_TTL_SECONDS = 300


@dataclass(frozen=True)
class PublicLoadBalancerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    droplet_tag: pulumi.Input[str]
    target_port: int
    health_path: str
    domain: str | None
    zone: str | None


def http_check(port: int, path: str) -> digitalocean.LoadBalancerHealthcheckArgs:
    return digitalocean.LoadBalancerHealthcheckArgs(
        protocol="http",
        port=port,
        path=path,
        check_interval_seconds=HEALTH_INTERVAL_SECONDS,
        response_timeout_seconds=HEALTH_TIMEOUT_SECONDS,
        unhealthy_threshold=UNHEALTHY_THRESHOLD,
        healthy_threshold=HEALTHY_THRESHOLD,
    )


def record_name(domain: str, zone: str) -> str:
    """The record's name inside its zone: `@` for the zone's apex."""
    if domain == zone:
        return "@"
    if not domain.endswith("." + zone):
        raise ValueError(f"{domain} is not inside the zone {zone}")
    return domain[: -len(zone) - 1]


class PublicLoadBalancer(pulumi.ComponentResource):
    id: Output[str]
    ip: Output[str]
    url: Output[str]

    def __init__(self, name: str, args: PublicLoadBalancerArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:PublicLoadBalancer", name, None, opts)
        child = ResourceOptions(parent=self)
        http = digitalocean.LoadBalancerForwardingRuleArgs(entry_port=80, entry_protocol="http", target_port=args.target_port, target_protocol="http")
        rules = [http]
        certificate = None
        if args.domain and args.zone:
            # Fails `up` with DigitalOcean's "not found" when the zone is not in the account's DNS.
            zone = digitalocean.get_domain_output(name=args.zone, opts=pulumi.InvokeOutputOptions(parent=self))
            certificate = digitalocean.Certificate(f"{name}-cert", type="lets_encrypt", domains=[zone.name.apply(lambda _: args.domain or "")], opts=child)
            rules.append(
                digitalocean.LoadBalancerForwardingRuleArgs(
                    entry_port=443, entry_protocol="https", target_port=args.target_port, target_protocol="http", certificate_name=certificate.name
                )
            )
        balancer = digitalocean.LoadBalancer(
            name,
            region=args.region,
            vpc_uuid=args.vpc_id,
            droplet_tag=args.droplet_tag,
            size_unit=SIZE_UNIT,
            forwarding_rules=rules,
            healthcheck=http_check(args.target_port, args.health_path),
            redirect_http_to_https=certificate is not None,
            http_idle_timeout_seconds=catalog.LB_IDLE_TIMEOUT_SECONDS.stop - 1,
            enable_backend_keepalive=True,
            disable_lets_encrypt_dns_records=True,
            network="EXTERNAL",
            opts=child,
        )
        if args.domain and args.zone:
            digitalocean.DnsRecord(
                f"{name}-record",
                domain=args.zone,
                type="A",
                name=record_name(args.domain, args.zone),
                value=balancer.ip,
                ttl=DNS_TTL_SECONDS,
                opts=child,
            )
        self.id = balancer.id
        self.ip = balancer.ip
        self.url = Output.from_input(f"https://{args.domain}") if certificate is not None else Output.concat("http://", balancer.ip)
        self.register_outputs({"id": self.id, "ip": self.ip, "url": self.url})


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str  # "http" or "tcp"


@dataclass(frozen=True)
class InternalLoadBalancerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    droplet_tag: pulumi.Input[str]
    ports: tuple[Port, ...]
    health_port: int
    health_path: str


class InternalLoadBalancer(pulumi.ComponentResource):
    """A load balancer with no public address, in the VPC: a fixed private address for the GPU Droplet's services.

    The app Droplets reach Ollama and the bus at this address, not at the GPU
    Droplet's own, which changes with every replacement: were it in their user
    data, Pulumi would delete them before the delete-first GPU Droplet (it
    deletes the dependents a delete-before-replace would replace:
    pulumi/pulumi pkg/resource/deploy/step_generator.go) and the whole app
    would be down for the GPU Droplet's boot. "Internal load balancers have no
    public IPs and are only accessible to resources on the same VPC network"
    (digitalocean/openapi, load_balancer_base.yml, `network`). Ollama goes
    through an HTTP rule with the longest idle timeout (an answer may take
    minutes before its first byte); the bus through TCP (its clients PING
    every few seconds when idle).
    """

    id: Output[str]
    ip: Output[str]

    def __init__(self, name: str, args: InternalLoadBalancerArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:digitalocean:InternalLoadBalancer", name, None, opts)
        balancer = digitalocean.LoadBalancer(
            name,
            region=args.region,
            vpc_uuid=args.vpc_id,
            droplet_tag=args.droplet_tag,
            size_unit=SIZE_UNIT,
            network="INTERNAL",
            forwarding_rules=[
                digitalocean.LoadBalancerForwardingRuleArgs(entry_port=p.port, entry_protocol=p.protocol, target_port=p.port, target_protocol=p.protocol)
                for p in args.ports
            ],
            healthcheck=http_check(args.health_port, args.health_path),
            http_idle_timeout_seconds=catalog.LB_IDLE_TIMEOUT_SECONDS.stop - 1,
            opts=ResourceOptions(parent=self),
        )
        self.id = balancer.id
        self.ip = balancer.ip
        self.register_outputs({"id": self.id, "ip": self.ip})
