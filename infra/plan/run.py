"""Plan one stack: validate its config, run the program under the recording mocks, check and price it.

This is what `dixi plan` and the tests call. The program run is the real
`__main__.py`, exactly as `pulumi up` would run it.
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra import config as dixi_config
from infra.checks import Problem, run_checks
from infra.cost.estimate import CostReport, estimate
from infra.plan import stackfiles
from infra.plan.engine import record
from infra.plan.mocking import InvokeAnswer
from infra.plan.model import RecordedPlan

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Plan:
    recorded: RecordedPlan
    problems: list[Problem]
    cost: CostReport

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity)


def plan_stack(
    stack: str,
    root: Path = ROOT,
    overrides: Mapping[str, str] | None = None,
    *,
    prior: RecordedPlan | None = None,
    invoke_overrides: Mapping[str, InvokeAnswer] | None = None,
    skip_rules: frozenset[str] = frozenset(),
) -> Plan:
    """Plan `stack` from the stack files under `root`; `overrides` replaces config values (tests).

    `prior` is an earlier plan of the same stack, standing in for its state
    (see `infra.plan.engine.record`); `invoke_overrides` changes what a lookup
    answers; `skip_rules` names rules not to run. Raises `ConfigError` (nothing
    registered) when the config is bad.
    """
    files = stackfiles.load(root, stack)
    values = {**files.values, **(overrides or {})}
    cfg = dixi_config.parse(values, files.stack_file, files.defaults)

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    recorded = record(
        files.project, stack, cfg, values, files.secret_keys, program, root,
        prior=prior, invoke_overrides=invoke_overrides,
    )  # fmt: skip
    cost = estimate(recorded)
    return Plan(recorded, run_checks(recorded, root, skip_rules), cost)
