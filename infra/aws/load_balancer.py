"""`PublicAlb`: an internet-facing Application Load Balancer in front of one or more target ports.

Creates, as children: the load balancer's security group (the internet on 80,
and 443 with a domain; out only to the VPC on the target ports), one target
group per route with the route's health check, the listeners, and with a
domain an ACM certificate and an HTTP->HTTPS redirect. With a Route 53 hosted
zone it also writes the certificate's validation record and an alias record
for the domain, so `pulumi up` needs no hand-made DNS; without one, `up`
waits (up to 75 minutes) for the user to add the validation CNAME, which the
README says how to read while it waits.

Each route forwards its path patterns (or everything else, for the route
without paths) to its target port. Targets are the caller's to register
(an instance, or an ECS service), through `target_group_arns`.

The load balancer waits for `wait_for` (the network, whose internet gateway
ELB requires for an internet-facing load balancer). WebSockets: a 1 hour idle
timeout keeps quiet `/ws` clients connected.

Left out: access logs and deletion protection (a review question, not a
default that would make `pulumi destroy` fail), WAF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws.acm as acm
import pulumi_aws.ec2 as ec2
import pulumi_aws.lb as lb
import pulumi_aws.route53 as route53
import pulumi_aws.vpc as vpc
from pulumi import Output, ResourceOptions

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
WORLD_V4 = "0.0.0.0/0"
IDLE_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class AlbRoute:
    """Traffic for `paths` (everything else when empty) goes to targets listening on `port`."""

    name: str
    port: int
    health_path: str
    paths: tuple[str, ...] = ()
    target_type: str = "instance"

    def patterns(self) -> list[str]:
        """ALB path patterns for the route's paths: `/api` matches `/api` and `/api/...`."""
        return [p for path in self.paths for p in (path, f"{path.rstrip('/')}/*")]


@dataclass(frozen=True)
class PublicAlbArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    routes: tuple[AlbRoute, ...]
    domain: str | None
    route53_zone_id: str | None
    tags: dict[str, str]
    wait_for: Sequence[pulumi.Resource] = field(default_factory=list)

    def __post_init__(self) -> None:
        defaults = [r.name for r in self.routes if not r.paths]
        if len(defaults) != 1:
            raise ValueError(f"exactly one route must take the paths no other route takes; got {defaults or 'none'}")
        if self.route53_zone_id and not self.domain:
            raise ValueError("a Route 53 zone needs a domain")


class PublicAlb(pulumi.ComponentResource):
    url: Output[str]
    dns_name: Output[str]
    zone_id: Output[str]
    arn: Output[str]
    security_group_id: Output[str]
    target_group_arns: dict[str, Output[str]]
    certificate_validation_records: Output[list[dict[str, str]]]

    def __init__(self, name: str, args: PublicAlbArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("dixi:aws:PublicAlb", name, None, opts)
        child = ResourceOptions(parent=self)
        web_ports = [80, 443] if args.domain else [80]
        group = ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="Dixi load balancer: web from the internet", tags=args.tags, opts=child
        )
        for port in web_ports:
            vpc.SecurityGroupIngressRule(
                f"{name}-in-{port}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=WORLD_V4,
                description=f"web {port} from the internet",
                opts=child,
            )
        for port in sorted({r.port for r in args.routes}):
            vpc.SecurityGroupEgressRule(
                f"{name}-out-{port}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=args.vpc_cidr,
                description=f"to targets on {port} in the VPC",
                opts=child,
            )

        self.target_group_arns = {}
        groups: dict[str, lb.TargetGroup] = {}
        for route in args.routes:
            groups[route.name] = lb.TargetGroup(
                f"{name}-{route.name}",
                port=route.port,
                protocol="HTTP",
                target_type=route.target_type,
                vpc_id=args.vpc_id,
                deregistration_delay=30,
                health_check=lb.TargetGroupHealthCheckArgs(
                    path=route.health_path, matcher="200-399", interval=15, healthy_threshold=2, unhealthy_threshold=3
                ),
                tags=args.tags,
                opts=child,
            )
            self.target_group_arns[route.name] = groups[route.name].arn

        balancer = lb.LoadBalancer(
            f"{name}",
            load_balancer_type="application",
            internal=False,
            security_groups=[group.id],
            subnets=list(args.subnet_ids),
            drop_invalid_header_fields=True,
            idle_timeout=IDLE_TIMEOUT_SECONDS,
            tags=args.tags,
            # ELB refuses an internet-facing load balancer in a VPC without an internet gateway.
            opts=ResourceOptions(parent=self, depends_on=list(args.wait_for)),
        )
        default = next(r for r in args.routes if not r.paths)
        forward = [lb.ListenerDefaultActionArgs(type="forward", target_group_arn=groups[default.name].arn)]

        records: Output[list[dict[str, str]]] = Output.from_input([])
        if args.domain:
            certificate = acm.Certificate(
                f"{name}-cert", domain_name=args.domain, validation_method="DNS", tags=args.tags, opts=child
            )
            option = certificate.domain_validation_options.apply(lambda options: options[0])
            records = certificate.domain_validation_options.apply(
                lambda options: [
                    {"name": str(o.resource_record_name), "type": str(o.resource_record_type), "value": str(o.resource_record_value)}
                    for o in options
                ]
            )
            fqdns: list[Output[str]] = []
            if args.route53_zone_id:
                validation = route53.Record(
                    f"{name}-cert-validation",
                    zone_id=args.route53_zone_id,
                    name=option.apply(lambda o: str(o.resource_record_name)),
                    type=option.apply(lambda o: str(o.resource_record_type)),
                    records=[option.apply(lambda o: str(o.resource_record_value))],
                    ttl=300,
                    allow_overwrite=True,
                    opts=child,
                )
                fqdns.append(validation.fqdn)
                route53.Record(
                    f"{name}-alias",
                    zone_id=args.route53_zone_id,
                    name=args.domain,
                    type="A",
                    aliases=[route53.RecordAliasArgs(name=balancer.dns_name, zone_id=balancer.zone_id, evaluate_target_health=True)],
                    opts=child,
                )
            validated = acm.CertificateValidation(
                f"{name}-cert", certificate_arn=certificate.arn, validation_record_fqdns=fqdns or None, opts=child
            )
            main = lb.Listener(
                f"{name}-https",
                load_balancer_arn=balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=validated.certificate_arn,
                default_actions=forward,
                opts=child,
            )
            lb.Listener(
                f"{name}-http",
                load_balancer_arn=balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"),
                    )
                ],
                opts=child,
            )
            self.url = Output.from_input(f"https://{args.domain}")
        else:
            main = lb.Listener(f"{name}-http", load_balancer_arn=balancer.arn, port=80, protocol="HTTP", default_actions=forward, opts=child)
            self.url = balancer.dns_name.apply(lambda dns: f"http://{dns}")

        for priority, route in enumerate((r for r in args.routes if r.paths), start=10):
            lb.ListenerRule(
                f"{name}-{route.name}",
                listener_arn=main.arn,
                priority=priority,
                actions=[lb.ListenerRuleActionArgs(type="forward", target_group_arn=groups[route.name].arn)],
                conditions=[lb.ListenerRuleConditionArgs(path_pattern=lb.ListenerRuleConditionPathPatternArgs(values=route.patterns()))],
                opts=child,
            )

        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.arn = balancer.arn
        self.security_group_id = group.id
        self.certificate_validation_records = records
        self.register_outputs(
            {
                "url": self.url,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "arn": self.arn,
                "securityGroupId": self.security_group_id,
                "targetGroupArns": self.target_group_arns,
                "certificateValidationRecords": self.certificate_validation_records,
            }
        )
