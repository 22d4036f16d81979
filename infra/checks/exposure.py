"""`private-ports-not-public`: vision, Ollama and the event bus are never reachable from the internet, on any cloud.

Reads every way in that the cloud adapters find (security group rules,
firewalls, load-balancer listeners, Kubernetes Services, Ingresses and
Gateway API routes) and reports each that lets the internet reach a private
service's port, every port, or a private service by name. The private
services are the spec's services without a public path (vision, Ollama) and
the event bus (`spec.EVENT_BUS`: its port, and any service named like a bus:
`valkey`, `redis`, `bus` as a word of the name, e.g. a chart's
`dixi-bus-valkey-primary`), which only the backend may reach.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from infra import spec
from infra.checks import Problem, problem, rule
from infra.checks.adapters import ALL_PORTS, Opening, all_openings
from infra.plan.model import RecordedPlan

RULE = "private-ports-not-public"
BUS: Final = "event bus"
# A Service (or app label) that is the bus by its name: Valkey and Redis charts name theirs so.
BUS_NAME: Final = re.compile(r"(^|[-_.])(valkey|redis|bus)([-_.]|$)", re.IGNORECASE)


def _private() -> list[tuple[str, int]]:
    """(name, port) of everything the internet must never reach."""
    return [(s.name, s.port) for s in spec.SERVICES if not s.is_public] + [(BUS, spec.EVENT_BUS.port)]


def _reaches(opening: Opening, name: str, port: int) -> bool:
    if opening.covers(port):
        return True
    if name == BUS:
        return any(BUS_NAME.search(service) for service in opening.services)
    return name in opening.services


@rule(RULE)
def private_ports_not_public(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for opening in all_openings(plan):
        world = ", ".join(sorted(opening.from_internet))
        if not world:
            continue
        how = f" ({opening.via})" if opening.via else ""
        # Port 0 is not a port: 1-65535 (DigitalOcean's "all") opens every one too.
        if opening.protocol == "all" or (opening.protocol == "tcp" and opening.from_port <= 1 and opening.to_port >= ALL_PORTS[1]):
            problems.append(problem(RULE, "error", opening.resource, f"opens all ports to {world}{how}; vision, Ollama and the event bus must never be reachable from the internet"))
            continue
        for name, port in _private():
            if _reaches(opening, name, port):
                subject = f"the {name}" if name == BUS else name
                problems.append(problem(RULE, "error", opening.resource, f"opens port {port} ({name}) to {world}{how}; {subject} must never be reachable from the internet"))
    return problems
