"""How Kubernetes objects are billed: not at all by themselves; what they ask the cluster for instead.

A Deployment or a Service costs nothing; the nodes they land on do, and those
belong to the cluster (priced by the cloud that builds it, e.g. AKS in
infra/azure/prices.py) or to whoever runs it (the `k8s` kind). So every
`kubernetes:` resource is free here, and `requests` sums what the plan's
workloads ask the scheduler for: CPU, memory and GPUs, at the most pods each
can run. That is what a user of an existing cluster needs to know: will it fit.

Counted: Deployments, StatefulSets and ReplicaSets (`spec.replicas`, unset: 1)
and bare Pods, every container's `resources.requests` (`cpu`, `memory`) and
the GPUs in its limits (`nvidia.com/gpu`, which Kubernetes requires equal to
the request). Left out, and named in the result: what Helm releases run (the
offline plan does not render charts), DaemonSets (one pod per node),
init containers (they finish before the others start), and autoscalers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from infra.cost.pricing import Pricer
from infra.plan.model import RecordedPlan, RecordedResource, as_dict, as_list, reveal

SCALED: Final = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:ReplicaSet")
POD: Final = "kubernetes:core/v1:Pod"
HELM: Final = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
GPU: Final = "nvidia.com/gpu"
# Packages a plan of workloads alone holds (the `k8s` kind); anything else brings machines.
_CLUSTER_ONLY: Final = frozenset({"kubernetes", "random", "docker-build", "pulumi"})
_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: Final = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def cpu_cores(quantity: Any) -> float:
    """A Kubernetes CPU quantity (`500m`, `2`, `0.5`) in cores."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text or 0)


def memory_bytes(quantity: Any) -> float:
    """A Kubernetes memory quantity (`512Mi`, `1G`, `1e9`, `1024`) in bytes."""
    text = str(quantity).strip()
    for suffixes in (_BINARY, _DECIMAL):
        for suffix, factor in suffixes.items():
            if text.endswith(suffix):
                return float(text[: -len(suffix)]) * factor
    return float(text or 0)


def _pods(r: RecordedResource) -> tuple[int, Mapping[str, Any]]:
    """How many pods `r` runs, and their pod spec."""
    inputs = as_dict(reveal(r.inputs))
    if r.type == POD:
        return 1, as_dict(inputs.get("spec"))
    spec = as_dict(inputs.get("spec"))
    replicas = spec.get("replicas")
    return (1 if replicas is None else int(replicas)), as_dict(as_dict(spec.get("template")).get("spec"))


def requests(plan: RecordedPlan) -> dict[str, Any] | None:
    """What the plan's workloads request at their most pods, or None when it has no Kubernetes workload."""
    workloads = plan.of_type(*SCALED, POD)
    if not workloads:
        return None
    cpu = memory = 0.0
    gpus = pods = 0
    for r in workloads:
        count, pod = _pods(r)
        pods += count
        for container in as_list(pod.get("containers")):
            resources = as_dict(as_dict(container).get("resources"))
            wanted, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
            cpu += count * cpu_cores(wanted.get("cpu", 0))
            memory += count * memory_bytes(wanted.get("memory", 0))
            gpus += count * int(limits.get(GPU) or wanted.get(GPU) or 0)
    left_out = [f"Helm release {r.name} ({as_dict(reveal(r.inputs)).get('chart')})" for r in plan.of_type(*HELM)]
    return {
        "pods": pods,
        "cpu_cores": round(cpu, 3),
        "memory_gib": round(memory / 2**30, 3),
        "gpus": gpus,
        "left_out": sorted(left_out),
    }


def _price(r: RecordedResource, plan: RecordedPlan) -> list[tuple[str, float]] | None:
    return None  # every Kubernetes object is free by itself (see the module docstring)


def _gpus(r: RecordedResource, plan: RecordedPlan) -> int:
    """GPUs a workload holds, for the comparison table (the k8s kind has no GPU machines of its own)."""
    if r.type not in (*SCALED, POD) or any(other.custom and other.package not in _CLUSTER_ONLY for other in plan.resources):
        return 0  # the cluster is in the plan: its cloud counts the GPUs of its machines
    count, pod = _pods(r)
    return count * sum(int(as_dict(as_dict(as_dict(c).get("resources")).get("limits")).get(GPU) or 0) for c in as_list(pod.get("containers")))


PRICER = Pricer(price=_price, free=("kubernetes:",), prices=(), gpus=_gpus, requests=requests)
