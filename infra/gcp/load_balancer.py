"""`GlobalLb`: a global external Application Load Balancer in front of Cloud Run services.

Creates, as children: a reserved global IPv4 address; per route a serverless
network endpoint group (the only way a load balancer reaches a Cloud Run
service: a NEG of type SERVERLESS that names the service) and a backend
service on it; a URL map that sends each route's paths (`/api` and `/api/*`)
to its backend and everything else to the route without paths. With a
domain: a Google-managed certificate, an SSL policy, an HTTPS proxy and a
port-443 forwarding rule, plus a second URL map that only redirects HTTP to
HTTPS, its HTTP proxy and a port-80 forwarding rule. Without one: an HTTP
proxy on the routing URL map and a port-80 forwarding rule.

Every backend service and forwarding rule says `EXTERNAL_MANAGED`: the
current global external Application Load Balancer (Envoy-based). `EXTERNAL`
is the classic one; pulumi_gcp 10.2 documents EXTERNAL_MANAGED as its
default, older providers and the Compute API defaulted to EXTERNAL, so the
scheme is pinned rather than left to whichever provider runs `up`.

The certificate: Google provisions it only once the domain's A record points
at this address (`dns_record`, which the user creates at their DNS host); it
turns ACTIVE some 10–60 minutes later, and `pulumi up` does not wait for it
(pulumi_gcp compute/managed_ssl_certificate.py: the resource "will return as
soon as the certificate object is created"). Until then HTTPS fails the
handshake; HTTP already redirects.

WebSockets (`/ws`) need no setting here: with serverless NEGs the load
balancer adds no timeout of its own, and Cloud Run ends every request,
WebSockets included, at the service's request timeout (default 300 s, at most
3600 s), so clients must reconnect. That timeout is the Cloud Run service's.

Left to the caller: the Cloud Run services themselves, whose ingress should be
`INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER` so the run.app URL is no way around
the load balancer. Left out: Cloud Armor, Cloud CDN, IAP, IPv6.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp.compute as compute
from pulumi import Output, ResourceOptions

SCHEME = "EXTERNAL_MANAGED"
# Every request logged: each entry is one request (a WebSocket is one, however
# many messages it carries), so a small app's volume stays far inside Cloud
# Logging's free monthly allotment, while sampling would drop exactly the rare
# failing request one goes looking for. Lower it if traffic grows.
LOG_SAMPLE_RATE = 1.0
# MODERN with TLS 1.2 at least: what every current browser and client library
# speaks, while TLS 1.0/1.1 (the COMPATIBLE profile's default minimum, TLS_1_0)
# are deprecated (RFC 8996). TLS_1_3 as minimum would need the RESTRICTED profile
# (pulumi_gcp compute/ssl_policy.py) and shut out older Android and Java clients.
TLS_PROFILE = "MODERN"
MIN_TLS_VERSION = "TLS_1_2"
PATH_MATCHER = "routes"


@dataclass(frozen=True)
class LbRoute:
    """Requests for `paths` (everything else when empty) go to the Cloud Run service named `cloud_run_service`."""

    name: str
    cloud_run_service: pulumi.Input[str]
    paths: tuple[str, ...] = ()

    def patterns(self) -> list[str]:
        """URL map path rules for the route's paths: `/api` matches `/api` itself and `/api/...`."""
        return [p for path in self.paths for p in (path, f"{path.rstrip('/')}/*")]


@dataclass(frozen=True)
class GlobalLbArgs:
    region: str
    routes: tuple[LbRoute, ...]
    domain: str | None
    labels: dict[str, str]

    def __post_init__(self) -> None:
        defaults = [r.name for r in self.routes if not r.paths]
        if len(defaults) != 1:
            raise ValueError(f"exactly one route must take the paths no other route takes; got {defaults or 'none'}")
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise ValueError(f"route names name the children, so they must be unique; got {names}")
        bad = [p for r in self.routes for p in r.paths if not p.startswith("/") or "*" in p]
        if bad:
            raise ValueError(f"route paths are plain prefixes starting with '/' (the '/*' rule is added for you); got {bad}")


class GlobalLb(pulumi.ComponentResource):
    url: Output[str]
    ip_address: Output[str]
    backend_service_ids: dict[str, Output[str]]
    dns_record: Output[dict[str, str]]

    def __init__(self, name: str, args: GlobalLbArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:gcp:GlobalLb", name, None, opts)
        child = ResourceOptions(parent=self)
        address = compute.GlobalAddress(
            f"{name}-ip", address_type="EXTERNAL", ip_version="IPV4", labels=args.labels, opts=child
        )

        self.backend_service_ids = {}
        for route in args.routes:
            neg = compute.RegionNetworkEndpointGroup(
                f"{name}-{route.name}",
                network_endpoint_type="SERVERLESS",
                region=args.region,
                cloud_run=compute.RegionNetworkEndpointGroupCloudRunArgs(service=route.cloud_run_service),
                opts=child,
            )
            # No health_checks and no timeout_sec: a backend service on a serverless NEG takes
            # neither. pulumi_gcp compute/backend_service.py: "A health check must be specified
            # unless the backend service uses an internet or serverless NEG"; the API rejects
            # timeoutSec with "Timeout sec is not supported for a backend service with Serverless
            # network endpoint groups" (terraform-google-modules/terraform-google-lb-http PR #358).
            backend = compute.BackendService(
                f"{name}-{route.name}",
                load_balancing_scheme=SCHEME,
                protocol="HTTPS",
                backends=[compute.BackendServiceBackendArgs(group=neg.id)],
                log_config=compute.BackendServiceLogConfigArgs(enable=True, sample_rate=LOG_SAMPLE_RATE),
                opts=child,
            )
            self.backend_service_ids[route.name] = backend.id

        default = next(r for r in args.routes if not r.paths)
        routing = compute.URLMap(
            f"{name}-routes",
            default_service=self.backend_service_ids[default.name],
            # "*": the same routes whether a client asks for the domain or the bare address.
            host_rules=[compute.URLMapHostRuleArgs(hosts=["*"], path_matcher=PATH_MATCHER)],
            path_matchers=[
                compute.URLMapPathMatcherArgs(
                    name=PATH_MATCHER,
                    default_service=self.backend_service_ids[default.name],
                    path_rules=[
                        compute.URLMapPathMatcherPathRuleArgs(paths=route.patterns(), service=self.backend_service_ids[route.name])
                        for route in args.routes
                        if route.paths
                    ],
                )
            ],
            opts=child,
        )

        if args.domain:
            certificate = compute.ManagedSslCertificate(
                f"{name}-cert", managed=compute.ManagedSslCertificateManagedArgs(domains=[args.domain]), opts=child
            )
            policy = compute.SSLPolicy(f"{name}-tls", profile=TLS_PROFILE, min_tls_version=MIN_TLS_VERSION, opts=child)
            https = compute.TargetHttpsProxy(
                f"{name}-https", url_map=routing.id, ssl_certificates=[certificate.id], ssl_policy=policy.id, opts=child
            )
            self._forwarding_rule(f"{name}-https", address, https.id, "443", args.labels)
            redirect = compute.URLMap(
                f"{name}-redirect",
                default_url_redirect=compute.URLMapDefaultUrlRedirectArgs(
                    https_redirect=True, strip_query=False, redirect_response_code="MOVED_PERMANENTLY_DEFAULT"
                ),
                opts=child,
            )
            http = compute.TargetHttpProxy(f"{name}-http", url_map=redirect.id, opts=child)
            self._forwarding_rule(f"{name}-http", address, http.id, "80", args.labels)
            domain = args.domain
            self.url = Output.from_input(f"https://{domain}")
            self.dns_record = address.address.apply(lambda ip: {"name": domain, "type": "A", "value": ip})
        else:
            http = compute.TargetHttpProxy(f"{name}-http", url_map=routing.id, opts=child)
            self._forwarding_rule(f"{name}-http", address, http.id, "80", args.labels)
            self.url = address.address.apply(lambda ip: f"http://{ip}")
            self.dns_record = Output.from_input({})

        self.ip_address = address.address
        self.register_outputs(
            {
                "url": self.url,
                "ipAddress": self.ip_address,
                "backendServiceIds": self.backend_service_ids,
                "dnsRecord": self.dns_record,
            }
        )

    def _forwarding_rule(
        self, name: str, address: compute.GlobalAddress, target: pulumi.Input[str], port: str, labels: dict[str, str]
    ) -> compute.GlobalForwardingRule:
        """The internet's way in on `port`: the reserved address, to `target` (a proxy)."""
        return compute.GlobalForwardingRule(
            name,
            load_balancing_scheme=SCHEME,
            ip_protocol="TCP",
            ip_address=address.address,
            port_range=port,
            target=target,
            labels=labels,
            opts=ResourceOptions(parent=self),
        )
