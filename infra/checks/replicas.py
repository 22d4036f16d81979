"""Rules on how many replicas of a service the plan runs, on every cloud (the workload adapters say where).

- `event-bus-for-replicas`: a service that shares events between its replicas
  (the backend's WebSocket fan-out, `spec.Service.event_bus`) and that the
  plan can run with more than one replica, counting every workload that runs
  it and their autoscaling maximums, gets the bus URL in its env
  (`EVENT_BUS_URL`). Without it each replica keeps its own in-process hub,
  and a client sees only the events of the replica it is connected to.

The rule reads workloads through `infra.checks.adapters.all_workloads`: the
compose files VMs boot (every cloud's `@user_data` adapters) and what each
cloud registers with `@workloads` (Kubernetes Deployments, StatefulSets,
ReplicaSets and Pods with their HorizontalPodAutoscalers, and ECS
services: `desiredCount` up to the `maxCapacity` of their
`ecs:service:DesiredCount` autoscaling target, env names from each
container's `environment` and `secrets`). Cloud Run, Container Apps and App
Platform have no workload adapter yet: their targets add one when they arrive.

It never says "clean" without having looked: when the plan runs containers
(`adapters.runs_containers`: a VM, a Kubernetes workload, a Helm release, a
container service) but no adapter found the service at all, it warns that it
could not judge; so it does for a workload whose replica count or env the
plan does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from infra import spec
from infra.checks import Problem, problem, rule
from infra.checks.adapters import Workload, all_workloads, runs_containers
from infra.plan.model import RecordedPlan

RULE: Final = "event-bus-for-replicas"
_LISTED: Final = 5


def _judge(service: spec.Service, found: list[Workload]) -> list[Problem]:
    bus = service.event_bus
    assert bus is not None
    problems = []
    for workload in found:
        if workload.max_replicas is None and bus.url_env not in workload.env:
            problems.append(problem(RULE, "warning", workload.resource, f"runs {service.name} ({workload.via}), so how many replicas share its events could not be judged; {service.name} needs {bus.url_env} once it runs {bus.required_from} or more"))
    counted = [w for w in found if w.max_replicas is not None]
    total = sum(w.max_replicas or 0 for w in counted)
    if not spec.needs_event_bus(service, total):
        return problems
    where = "" if len(counted) == 1 else f" ({total} in all, across {len(counted)} workloads)"
    for workload in counted:
        if bus.url_env in workload.env:
            continue
        runs = f"runs {service.name} with up to {workload.max_replicas} replica(s) ({workload.via}){where}"
        if workload.unread_env:
            problems.append(problem(RULE, "warning", workload.resource, f"{runs}; {bus.url_env} is not among the env names the plan holds, and {', '.join(workload.unread_env)} could not be read, so whether its replicas share events could not be judged"))
            continue
        problems.append(
            problem(
                RULE, "error", workload.resource,
                f"{runs}, but its env has no {bus.url_env}: each replica would keep its own in-process hub, so a WebSocket "
                f"client would see only the events of the replica it is connected to; provide a Redis-compatible server "
                f"(port {bus.port}) and wire it with spec.service_env(..., event_bus_url=...), its password as the secret {bus.password_env}",
            )
        )  # fmt: skip
    return problems


@rule(RULE)
def event_bus_for_replicas(plan: RecordedPlan, root: Path) -> list[Problem]:
    workloads = all_workloads(plan)
    problems = []
    for service in spec.SERVICES:
        if service.event_bus is None:
            continue
        found = [w for w in workloads if w.service == service.name]
        if found:
            problems.extend(_judge(service, found))
            continue
        runners = [r for r in plan.resources if runs_containers(r)]
        if runners:
            names = ", ".join(f"{r.class_name} {r.name}" for r in runners[:_LISTED]) + (" ..." if len(runners) > _LISTED else "")
            problems.append(
                problem(
                    RULE, "warning", runners[0],
                    f"the plan runs hosts or workloads ({names}), but no workload adapter found {service.name} in them, so whether its replicas "
                    f"share events ({service.event_bus.url_env}) could not be judged; register a @workloads adapter in the cloud's "
                    "infra/<cloud>/checks.py, or carry the compose file in the VM's user data",
                )
            )  # fmt: skip
    return problems
