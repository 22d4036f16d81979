"""`app/docker-compose.yml` is rendered from the app spec, and the committed file is what the spec renders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra import cli, spec
from infra.common import compose
from infra.plan.run import ROOT


def test_the_committed_local_compose_file_is_what_the_spec_renders(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", "compose", "--check"]) == 0, "run `dixi render compose` after changing infra/spec.py"


def test_a_stale_local_compose_file_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app").mkdir()
    stale = (ROOT / compose.LOCAL_FILE).read_text().replace("5173:8080", "5174:8080")
    (tmp_path / compose.LOCAL_FILE).write_text(stale)
    assert cli.main(["render", "compose", "--check", "--root", str(tmp_path)]) == 1
    assert "run `dixi render compose`" in capsys.readouterr().err
    assert cli.main(["render", "compose", "--root", str(tmp_path)]) == 0
    assert cli.main(["render", "compose", "--check", "--root", str(tmp_path)]) == 0


def test_the_local_file_carries_the_specs_ports_env_and_read_only_roots() -> None:
    services = yaml.safe_load((ROOT / compose.LOCAL_FILE).read_text())["services"]
    for service in spec.SERVICES:
        entry = services[service.name]
        assert entry["ports"][0].endswith(f":{service.port}"), service.name
        if service is not spec.FRONTEND:
            assert entry["ports"][0].startswith("127.0.0.1:"), f"{service.name} is published on loopback only"
        for var in service.links:
            assert var in entry["environment"], f"{service.name} lacks {var}"
        assert entry.get("read_only", False) == (service.scratch_paths is not None)
        assert entry.get("tmpfs") == (list(service.scratch_paths) if service.scratch_paths is not None else None)
    assert services["backend"]["environment"]["GESTURE_TOKEN"].startswith("${GESTURE_TOKEN:?")


def test_the_overlays_name_services_the_main_file_has() -> None:
    main = set(yaml.safe_load((ROOT / compose.LOCAL_FILE).read_text())["services"])
    for overlay in sorted((ROOT / "app").glob("docker-compose.*.yml")):
        assert set(yaml.safe_load(overlay.read_text())["services"]) <= main, overlay.name
