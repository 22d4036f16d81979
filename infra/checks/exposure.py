"""Rules on what the internet can reach, on any cloud, read through every way in the cloud adapters find.

The ways in are security group rules, firewalls, database trusted sources,
load-balancer listeners, Kubernetes Services, Ingresses and Gateway API routes
(`infra.checks.adapters.all_openings`).

- `private-ports-not-public`: vision, Ollama and the event bus are never
  reachable from the internet. Reports each way in that lets the internet
  reach a private service's port, every port, or a private service by name.
  The private services are the spec's services without a public path (vision,
  Ollama) and the event bus (`spec.EVENT_BUS`: its port, and any service named
  like a bus: `valkey`, `redis`, `bus` as a word of the name, e.g. a chart's
  `dixi-bus-valkey-primary` or a managed Valkey cluster), which only the
  backend may reach.
- `ssh-not-public`: no way in lets the internet (0.0.0.0/0 or ::/0) reach TCP
  port 22, alone, in a range or as "all ports". SSH, where a stack opens it
  at all, is opened only to the addresses its config names.
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
SSH_RULE: Final = "ssh-not-public"
SSH_PORT: Final = 22
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


def _ports(opening: Opening) -> str:
    low, high = opening.from_port, opening.to_port
    return f"port {low}" if low == high else f"ports {low}-{high}"


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
                # Reached by name (a Service, a cluster's engine) on a port of its own: say that port.
                ports = f"port {port}" if opening.covers(port) else _ports(opening)
                problems.append(problem(RULE, "error", opening.resource, f"opens {ports} ({name}) to {world}{how}; {subject} must never be reachable from the internet"))
    return problems


@rule(SSH_RULE)
def ssh_not_public(plan: RecordedPlan, root: Path) -> list[Problem]:
    problems = []
    for opening in all_openings(plan):
        world = ", ".join(sorted(opening.from_internet))
        if world and opening.covers(SSH_PORT):
            how = f" ({opening.via})" if opening.via else ""
            problems.append(problem(SSH_RULE, "error", opening.resource, f"opens port {SSH_PORT} (SSH) to {world}{how}; SSH must be opened only to configured addresses"))
    return problems
