"""Dockerfiles, .dockerignore files and the Compose file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

APP = Path(__file__).resolve().parents[2] / "app"
SERVICES = ["frontend", "backend", "vision", "ollama"]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} is not installed (it comes from app/requirements-test.txt)"
    return str(path)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_self_contained_build_context(service: str) -> None:
    context = APP / service
    assert (context / "Dockerfile").is_file(), f"{service} has no Dockerfile"
    assert (context / ".dockerignore").is_file(), f"{service} has no .dockerignore"
    for line in (context / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            for source in line.split()[1:-1]:
                if not source.startswith("--"):
                    assert (context / source).exists(), f"{service}: COPY source {source} missing"


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_passes_each_dockerfile_with_no_warnings(service: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "style", str(APP / service / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"hadolint on {service}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_image_is_pinned_non_root_and_health_checked(service: str) -> None:
    text = (APP / service / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases, f"{service}: no FROM"
    for base in bases:
        assert re.search(r":\d+\.\d+\.\d+", base), f"{service}: base {base} is not pinned to x.y.z"
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"{service}: runs as root"
    check = re.search(r"^HEALTHCHECK\s.*?\n\s*CMD (.*)$", text, re.MULTILINE)
    assert check, f"{service}: no HEALTHCHECK ... CMD"
    assert "curl" not in check.group(1), f"{service}: the base images have no curl"


def test_the_compose_file_validates_against_the_compose_spec() -> None:
    files = sorted(str(p) for p in APP.glob("docker-compose*.yml"))
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"compose spec check:\n{result.stdout}{result.stderr}"


def test_the_compose_file_wires_ports_health_and_private_services() -> None:
    compose = yaml.safe_load((APP / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == set(SERVICES), services.keys()
    assert services["frontend"]["ports"] == ["5173:8080"], services["frontend"]["ports"]
    for private in ("backend", "vision", "ollama"):
        for port in services[private]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{private} is published beyond loopback: {port}"
    for name, service in services.items():
        assert service["networks"] == ["dixi-network"], f"{name} is off dixi-network"
        for dep, cond in service.get("depends_on", {}).items():
            assert cond == {"condition": "service_healthy"}, f"{name} -> {dep}: {cond}"
    assert set(services["backend"]["depends_on"]) == {"vision", "ollama"}
    env = services["backend"]["environment"]
    assert env["VISION_SERVICE_URL"] == "http://vision:5000", env
    assert env["OLLAMA_BASE_URL"] == "http://ollama:11434", env
    assert "ollama-models:/var/lib/ollama" in services["ollama"]["volumes"]
    assert "models:/app/models" in services["vision"]["volumes"]
    assert "logs:/app/logs" in services["backend"]["volumes"]


@pytest.mark.parametrize("service", ["backend", "vision"])
def test_runtime_requirements_are_pinned(service: str) -> None:
    for line in (APP / service / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"{service}: {line!r} is not pinned"


def test_nginx_body_limit_matches_the_frame_limit() -> None:
    from dixi_backend.settings import Settings as Backend
    from dixi_vision.settings import Settings as Vision

    template = (APP / "frontend" / "nginx" / "default.conf.template").read_text()
    match = re.search(r"client_max_body_size\s+(\d+)m;", template)
    assert match, "nginx has no client_max_body_size in MiB"
    limit = int(match.group(1)) * 1024 * 1024
    assert limit == Backend().max_frame_bytes == Vision().max_frame_bytes, "frame limits differ"
