"""Suite-wide rule: in CI nothing may be skipped.

Tests skip where a validator or a Debian tool is missing (cloud-init on a Mac,
say). `.ci/run` installs all of them, so under CI=true a skip means a missing
install step, and the run fails instead of going green with less tested.
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reasons = sorted({str(getattr(r, "longrepr", ""))[-200:] for r in skipped})
        print(f"\nCI=true and {len(skipped)} test(s) were skipped; .ci/run must install what they need:")
        for reason in reasons:
            print(f"  {reason}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
