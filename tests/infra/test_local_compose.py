"""`app/docker-compose.yml` is rendered from the app spec, and the committed file is what the spec renders.

The hand-written overlays beside it are held to the spec too: merged on the
main file (the Compose spec's merge rules) each is a valid compose file, and
`docker-compose.replicas.yml` takes the event bus's env name and port from
`infra/spec.py` and runs a second backend that is the first but for its port.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from infra import cli, spec
from infra.checks.userdata import compose_errors
from infra.common import compose
from infra.plan.run import ROOT

REPLICAS = ROOT / "app" / "docker-compose.replicas.yml"
SECOND_BACKEND = "backend-2"
BUS_HOST = "valkey"
# The Compose spec's exceptions to "sequences append" (13-merge.md, Shell commands).
_REPLACED = frozenset({"command", "entrypoint", "test"})
_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _merged(base: Any, override: Any, key: str = "") -> Any:
    """`override` merged on `base` the Compose spec's way (13-merge.md): mappings merge, sequences append."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merged(base[k], v, str(k)) if k in base else v
        return out
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED:
        return base + [item for item in override if item not in base]
    assert type(base) is type(override) or key in _REPLACED, f"{key}: a {type(base).__name__} overridden by a {type(override).__name__}; write the overlay in the main file's shape"
    return override


def _main() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / compose.LOCAL_FILE).read_text())
    return loaded


def _overlay(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _with_replicas() -> dict[str, Any]:
    merged: dict[str, Any] = _merged(_main(), _overlay(REPLICAS))
    return merged


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
        for var in service.links:
            assert var in entry["environment"], f"{service.name} lacks {var}"
        assert entry.get("read_only", False) == (service.scratch_paths is not None)
        assert entry.get("tmpfs") == (list(service.scratch_paths) if service.scratch_paths is not None else None)
    assert services["backend"]["environment"]["GESTURE_TOKEN"].startswith("${GESTURE_TOKEN:?")


def _published_beyond_loopback(document: dict[str, Any]) -> dict[str, list[Any]]:
    """Per service, the published ports that bind more than loopback (short or long syntax)."""
    wide: dict[str, list[Any]] = {}
    for name, entry in document["services"].items():
        for port in entry.get("ports", []):
            if isinstance(port, dict):
                host_ip = port.get("host_ip", "")
            else:
                # [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]; an IPv6 host is bracketed.
                host_ip = str(port).rsplit(":", 2)[0] if str(port).count(":") >= 2 else ""
            if host_ip.strip("[]") not in _LOOPBACK:
                wide.setdefault(name, []).append(port)
    return wide


def test_only_the_page_is_published_beyond_loopback_by_the_local_file_and_every_overlay() -> None:
    # /metrics, /docs and the unauthenticated vision and Ollama APIs must not
    # face the developer's network; the page is what the network may see.
    for overlay in [None, *sorted((ROOT / "app").glob("docker-compose.*.yml"))]:
        document = _main() if overlay is None else _merged(_main(), _overlay(overlay))
        wide = _published_beyond_loopback(document)
        where = overlay.name if overlay else compose.LOCAL_FILE
        assert set(wide) <= {spec.FRONTEND.name}, f"{where} publishes beyond loopback: {wide}"
    services = _main()["services"]
    for service in spec.SERVICES:
        if service is not spec.FRONTEND:
            assert services[service.name]["ports"] == [f"127.0.0.1:{service.port}:{service.port}"], service.name
    caught = {
        "services": {
            "backend": {"ports": ["3001:3001", {"target": 3001, "published": "3002"}]},
            "vision": {"ports": ["0.0.0.0:5000:5000", "127.0.0.1:5001:5000", "[::1]:5002:5000"]},
        }
    }
    assert _published_beyond_loopback(caught) == {
        "backend": ["3001:3001", {"target": 3001, "published": "3002"}],
        "vision": ["0.0.0.0:5000:5000"],
    }, "the check must see every syntax that binds all interfaces"


def test_the_websocket_path_gets_open_files_above_the_backends_client_cap() -> None:
    # Each /ws client is one socket in the backend and two in nginx; the rest
    # (requests, pools, logs) keeps at least the runtime's default of 1024.
    default = 1024
    services = _with_replicas()["services"]
    for name, per_client in ((spec.BACKEND.name, 1), (SECOND_BACKEND, 1), (spec.FRONTEND.name, 2)):
        cap = int(services[spec.BACKEND.name]["environment"]["WS_MAX_CLIENTS"])
        assert cap == spec.WS_MAX_CLIENTS, "the backend runs the cap the spec sized the limit for"
        nofile = services[name]["ulimits"]["nofile"]
        assert nofile["soft"] == nofile["hard"], f"{name}: the process starts with the whole limit"
        assert nofile["soft"] >= per_client * cap + default, f"{name}: {nofile} leaves no headroom above {cap} clients"


def test_an_overlay_changes_services_the_main_file_has_or_adds_one_it_defines_in_full() -> None:
    main = set(_main()["services"])
    for overlay in sorted((ROOT / "app").glob("docker-compose.*.yml")):
        for name, entry in _overlay(overlay)["services"].items():
            assert name in main or "image" in entry or "build" in entry, f"{overlay.name}: {name} is not in the main file, so it needs an image or a build (a misspelt name would add a broken service)"


def test_every_overlay_merged_on_the_main_file_is_valid_against_the_compose_spec() -> None:
    overlays = sorted((ROOT / "app").glob("docker-compose.*.yml"))
    assert REPLICAS in overlays
    for overlay in overlays:
        assert compose_errors(_merged(_main(), _overlay(overlay))) == [], overlay.name
    broken = _merged(_main(), {"services": {"valkey": {"image": "valkey/valkey", "publish": ["6379"]}}})
    assert compose_errors(broken), "the validator must be able to fail"


def test_the_replicas_overlay_gives_both_backends_the_bus_url_the_spec_names() -> None:
    bus = spec.BACKEND.event_bus
    assert bus is not None
    services = _with_replicas()["services"]
    for name in (spec.BACKEND.name, SECOND_BACKEND):
        url = services[name]["environment"][bus.url_env]
        assert url == bus.url(BUS_HOST), f"{name}: {bus.url_env} must be what the spec builds for the bus host"
        assert urlsplit(url).port == bus.port
        assert services[name]["depends_on"][BUS_HOST] == {"condition": "service_healthy"}
    assert spec.needs_event_bus(spec.BACKEND, 2), "two replicas are what the spec says needs the bus"
    assert not any(bus.url_env in (entry.get("environment") or {}) for entry in _main()["services"].values()), "one backend (the main file alone) keeps its in-process hub"


def test_the_bus_container_publishes_no_port_keeps_nothing_and_is_health_checked() -> None:
    valkey = _with_replicas()["services"][BUS_HOST]
    assert "ports" not in valkey, "the bus is reachable only on the compose network"
    assert valkey["image"].startswith("valkey/valkey:") and valkey["image"].split(":")[1][0].isdigit(), "a pinned version tag"
    assert valkey["healthcheck"]["test"] == ["CMD", "valkey-cli", "ping"]
    assert valkey["read_only"] is True and "volumes" not in valkey
    command = valkey["command"]
    assert command[command.index("--save") + 1] == "" and command[command.index("--appendonly") + 1] == "no"
    assert "--port" not in command, f"the server listens on its default port, the spec's {spec.EVENT_BUS.port}"


def test_the_second_backend_is_the_first_but_for_its_port_log_file_and_network_alias() -> None:
    services = _with_replicas()["services"]
    first, second = copy.deepcopy(services[spec.BACKEND.name]), copy.deepcopy(services[SECOND_BACKEND])
    assert "ports" in first and "ports" not in second, "a second container cannot bind the first one's loopback port"
    assert first["environment"].pop("LOG_FILE") != second["environment"].pop("LOG_FILE"), "two processes never append to one log file"
    assert second.pop("networks") == {compose.NETWORK: {"aliases": [spec.BACKEND.name]}}, "the frontend's and vision's `backend` reaches both"
    first.pop("ports")
    first.pop("networks")
    assert second == first, "backend-2 drifted from the backend that infra/spec.py renders; copy the change into the overlay"
    assert services["frontend"]["depends_on"][SECOND_BACKEND] == {"condition": "service_healthy"}, "nginx resolves `backend` once, when it starts"
