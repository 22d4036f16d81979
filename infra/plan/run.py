"""Plan one stack: validate its config, run the program under the recording mocks, check and price it.

This is what `dixi plan` and the tests call. The program run is the real
`__main__.py`, exactly as `pulumi up` would run it.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path

from infra import config as dixi_config
from infra.checks import Problem, run_checks
from infra.cost.estimate import CostReport, estimate
from infra.plan import stackfiles
from infra.plan.engine import RecordedPlan, record

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Plan:
    recorded: RecordedPlan
    problems: list[Problem]
    cost: CostReport

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def plan_stack(stack: str, root: Path = ROOT, overrides: dict[str, str] | None = None) -> Plan:
    """Plan `stack` from the stack files under `root`; `overrides` replaces config values (tests).

    Raises `ConfigError` (nothing registered) when the config is bad.
    """
    files = stackfiles.load(root, stack)
    values = {**files.values, **(overrides or {})}
    cfg = dixi_config.parse(values, files.stack_file)

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    recorded, _ = record(files.project, stack, values, files.secret_keys, cfg.region, program)
    recorded.config = cfg
    problems = run_checks(recorded, root)
    return Plan(recorded, problems, estimate(recorded))
