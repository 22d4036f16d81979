"""Turn a recorded plan into monthly figures (730 hours a month).

Each priced resource becomes one or more items with the SKU it is billed as;
usage-priced items say the usage they assume. Each resource is priced by the
`Pricer` of its provider's cloud (`infra.targets`); resources that cost
nothing by themselves (VPCs, security groups, IAM, ...) are in the pricer's
`free` list and get no item. Unknown priced types are not guessed at: they
are listed in `unpriced` so a reader sees what the total leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra import targets
from infra.cost.pricing import AS_OF, HOURS_PER_MONTH, Pricer
from infra.plan.model import RecordedPlan, ResourceKey

# Providers that every cloud uses and that bill nothing themselves.
FREE_EVERYWHERE = ("random:", "docker-build:", "pulumi:", "time:")


def pricers() -> dict[str, Pricer]:
    """Provider package -> the pricer of its cloud."""
    found: dict[str, Pricer] = {}
    for cloud in targets.CLOUDS.values():
        module = cloud.module("prices")
        if module is not None:
            found.update(dict.fromkeys(cloud.providers, module.PRICER))
    return found


@dataclass(frozen=True)
class CostItem:
    resource: ResourceKey
    sku: str
    monthly: float

    def as_json(self) -> dict[str, Any]:
        return {"resource": self.resource.as_json(), "sku": self.sku, "monthly": round(self.monthly, 2)}


@dataclass
class CostReport:
    items: list[CostItem] = field(default_factory=list)
    unpriced: list[ResourceKey] = field(default_factory=list)
    seed_monthly: float | None = None
    gpus: int = 0
    # What the workloads request from a cluster (infra/k8s/prices.py), when the plan runs some.
    requests: dict[str, Any] | None = None

    @property
    def monthly(self) -> float:
        return round(sum(sorted(i.monthly for i in self.items)), 2)

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "currency": "USD",
            "hours_per_month": HOURS_PER_MONTH,
            "monthly": self.monthly,
            "items": [i.as_json() for i in self.items],
            "prices_as_of": AS_OF,
        }
        if self.unpriced:
            result["unpriced"] = [k.as_json() for k in self.unpriced]
        if self.seed_monthly is not None:
            result["seed_monthly"] = self.seed_monthly
        if self.requests is not None:
            result["requests"] = self.requests
        return result


def estimate(plan: RecordedPlan) -> CostReport:
    report = CostReport()
    by_provider = pricers()
    kind = targets.KINDS.get(getattr(plan.config, "stack_kind", ""))
    if kind is not None:
        home = targets.CLOUDS[kind.cloud].module("prices")
        report.seed_monthly = home.PRICER.seed_monthly if home is not None else None
    for r in plan.resources:
        if not r.custom or r.type.startswith(FREE_EVERYWHERE):
            continue
        pricer = by_provider.get(r.package)
        items = pricer.price(r, plan) if pricer is not None else None
        if pricer is not None:
            report.gpus += pricer.gpus(r, plan)
        if items is None:
            if pricer is None or not r.type.startswith(pricer.free):
                report.unpriced.append(r.key)
            continue
        # Cents per item, so the items add up to the total exactly, in any order.
        report.items.extend(CostItem(r.key, sku, round(monthly, 2)) for sku, monthly in items)
    for pricer in {id(p): p for p in by_provider.values()}.values():
        if pricer.requests is not None and report.requests is None:
            report.requests = pricer.requests(plan)
    # Registration order varies run to run; by resource (stable within one), two estimates diff cleanly.
    report.items.sort(key=lambda i: i.resource)
    report.unpriced.sort()
    return report
