"""`private-ports-not-public`: vision and Ollama are never reachable from the internet, on any cloud.

Reads every way in that the cloud adapters find (security group rules,
firewalls, load-balancer listeners, Kubernetes Services and Ingresses) and
reports each that lets the internet reach a private service's port, every
port, or a private service by name.
"""

from __future__ import annotations

from pathlib import Path

from infra import spec
from infra.checks import Problem, problem, rule
from infra.checks.adapters import ALL_PORTS, all_openings
from infra.plan.model import RecordedPlan

RULE = "private-ports-not-public"


@rule(RULE)
def private_ports_not_public(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    private = [s for s in spec.SERVICES if not s.is_public]
    for opening in all_openings(plan):
        world = ", ".join(sorted(opening.from_internet))
        if not world:
            continue
        how = f" ({opening.via})" if opening.via else ""
        # Port 0 is not a port: 1-65535 (DigitalOcean's "all") opens every one too.
        if opening.protocol == "all" or (opening.protocol == "tcp" and opening.from_port <= 1 and opening.to_port >= ALL_PORTS[1]):
            problems.append(problem(RULE, "error", opening.resource, f"opens all ports to {world}{how}; vision and Ollama must never be reachable from the internet"))
            continue
        for service in private:
            if opening.covers(service.port) or service.name in opening.services:
                problems.append(
                    problem(RULE, "error", opening.resource, f"opens port {service.port} ({service.name}) to {world}{how}; {service.name} must never be reachable from the internet")
                )
    return problems
