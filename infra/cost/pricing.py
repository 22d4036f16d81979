"""What a cloud tells the estimator: its dated prices and how its resources are billed.

Each cloud's `prices.py` exports `PRICER`, a `Pricer`; the estimator looks it
up by the provider package of each resource's type token (through
`infra.targets`), so a new cloud prices its resources without touching the
estimator. Every `Price` carries its source and the date it was read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from infra.plan.model import RecordedPlan, RecordedResource

HOURS_PER_MONTH: Final = 730
AS_OF: Final = "2026-11-30"


@dataclass(frozen=True)
class Price:
    amount: float  # USD per unit
    unit: str  # "hour", "GB-month", "GB", "LCU-hour", ...
    source: str
    as_of: str = AS_OF

    def monthly(self, count: float = 1.0) -> float:
        """The price of `count` units for a month: hourly prices times 730 hours, the rest as they are."""
        hours = HOURS_PER_MONTH if self.unit.endswith("hour") else 1
        return self.amount * hours * count


# (resource, plan) -> [(what it is billed as, USD a month)], or None for a type the pricer does not know.
PriceFn = Callable[[RecordedResource, RecordedPlan], "list[tuple[str, float]] | None"]


@dataclass(frozen=True)
class Pricer:
    price: PriceFn
    # Type-token prefixes of resources that cost nothing by themselves.
    free: tuple[str, ...]
    # Every price the pricer uses, for the tests that hold each to a source and a date.
    prices: tuple[Price, ...]
    # The seed's monthly figure for this cloud (shared/seed/deployment-architecture.md), if it has one.
    seed_monthly: float | None = None
    # GPUs a resource brings (the comparison table counts them); the plan lets a
    # resource that names its machines elsewhere (an Auto Scaling group and its
    # launch template) count them.
    gpus: Callable[[RecordedResource, RecordedPlan], int] = field(default=lambda r, plan: 0)
    # What the plan's workloads ask a cluster for (CPU, memory, GPUs), for
    # clouds whose objects cost nothing by themselves (Kubernetes); None when
    # the plan has none.
    requests: Callable[[RecordedPlan], dict[str, Any] | None] | None = None
