"""The app spec: the seed's values, and wiring that every target can trust."""

from __future__ import annotations

import pytest

from infra import spec


def test_the_services_carry_the_seeds_ports_paths_and_probes() -> None:
    assert {s.name: s.port for s in spec.SERVICES} == {"frontend": 8080, "backend": 3001, "vision": 5000, "ollama": 11434}
    assert spec.BACKEND.public_paths == ("/api", "/ws") and spec.FRONTEND.public_paths == ("/",)
    assert spec.FRONTEND.port == 8080, "nginx runs unprivileged, so not on the seed's port 80"
    assert (spec.BACKEND.liveness.path, spec.BACKEND.readiness.path) == ("/api/health/live", "/api/health/ready")
    r = spec.BACKEND.resources
    assert (r.request_memory, r.request_cpu, r.limit_memory, r.limit_cpu, spec.BACKEND.replicas) == ("512Mi", "500m", "1Gi", "1000m", 3)


def test_vision_and_ollama_are_private_services_with_volumes() -> None:
    for service in (spec.VISION, spec.OLLAMA):
        assert not service.is_public and service.volumes
    assert spec.PRIVATE_PORTS == {5000, 11434}


def test_only_ollama_needs_a_gpu_and_vision_takes_one_only_when_opted_in() -> None:
    assert {s.name: spec.gpus(s) for s in spec.SERVICES} == {"frontend": 0, "backend": 0, "vision": 0, "ollama": 1}
    assert {s.name: spec.gpus(s, opted_in=True) for s in spec.SERVICES} == {"frontend": 0, "backend": 0, "vision": 1, "ollama": 1}


def test_every_link_names_a_service_and_the_seeds_env_names_are_wired() -> None:
    env = spec.service_env(spec.BACKEND, lambda s: f"{s.name}-svc", "llama3.2")
    assert env["VISION_SERVICE_URL"] == "http://vision-svc:5000" and env["OLLAMA_BASE_URL"] == "http://ollama-svc:11434"
    assert env["OLLAMA_MODEL"] == "llama3.2"
    assert spec.service_env(spec.VISION, lambda s: s.name, "m")["BACKEND_URL"] == "http://backend:3001"
    for service in spec.SERVICES:
        assert set(service.links.values()) <= set(spec.BY_NAME), service.name
        assert not set(service.secret_env) & set(spec.service_env(service, lambda s: s.name, "m")), "secrets are never plain env"


def test_the_spec_matches_what_each_image_exposes_and_runs_as() -> None:
    import re

    from infra.plan.run import ROOT

    for service in spec.SERVICES:
        dockerfile = (ROOT / service.build_context / "Dockerfile").read_text()
        assert re.search(rf"^EXPOSE {service.port}\b", dockerfile, re.M), f"{service.name}: the image must EXPOSE {service.port}"
        assert re.search(rf"^USER {service.run_as_uid}\b", dockerfile, re.M), f"{service.name}: the image must run as uid {service.run_as_uid}"
        copied = set(re.findall(r"^COPY --from=(\w+)", dockerfile, re.M)) - set(re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.M))
        assert copied == set(service.named_contexts), f"{service.name}: the Dockerfile's named contexts and the spec's must agree"
        for path in service.named_contexts.values():
            assert (ROOT / path).is_dir(), path


def test_the_backend_declares_the_event_bus_its_replicas_share_and_service_env_wires_it() -> None:
    bus = spec.BACKEND.event_bus
    assert bus is spec.EVENT_BUS and (bus.url_env, bus.password_env, bus.port) == ("EVENT_BUS_URL", "EVENT_BUS_PASSWORD", 6379)
    assert [s.name for s in spec.SERVICES if s.event_bus] == ["backend"], "only the backend fans events out to WebSocket clients"
    assert not spec.needs_event_bus(spec.BACKEND, 1) and spec.needs_event_bus(spec.BACKEND, 2), "one replica keeps its in-process hub"
    assert spec.needs_event_bus(spec.BACKEND, spec.BACKEND.replicas), "the seed's three replicas need it"
    assert not spec.needs_event_bus(spec.VISION, 5), "a service without a bus never needs one"
    url = bus.url("bus.internal", tls=True)
    env = spec.service_env(spec.BACKEND, lambda s: s.name, "m", event_bus_url=url)
    assert env[bus.url_env] == url == "rediss://bus.internal:6379/0"
    assert bus.url_env not in spec.service_env(spec.BACKEND, lambda s: s.name, "m"), "no bus URL, no bus: the in-process hub"
    assert bus.password_env not in env and bus.password_env not in spec.SECRET_ENV, "the password is a secret the target injects, and only a bus with auth has one"


def test_a_bus_url_is_refused_where_it_cannot_work_or_would_leak_a_password() -> None:
    with pytest.raises(ValueError, match="takes no event bus URL"):
        spec.service_env(spec.VISION, lambda s: s.name, "m", event_bus_url="redis://bus:6379/0")
    with pytest.raises(ValueError, match="redis://host or rediss://host"):
        spec.service_env(spec.BACKEND, lambda s: s.name, "m", event_bus_url="http://bus:6379")
    with pytest.raises(ValueError, match="deliver it as the secret EVENT_BUS_PASSWORD"):
        spec.service_env(spec.BACKEND, lambda s: s.name, "m", event_bus_url="redis://:hunter2@bus:6379/0")


def test_the_services_that_carry_websockets_get_open_files_above_the_backends_cap() -> None:
    assert spec.BACKEND.env["WS_MAX_CLIENTS"] == str(spec.WS_MAX_CLIENTS), "the backend runs the cap its limit is sized for"
    # One socket per client in the backend, two in nginx (client and upstream).
    for service, per_client in ((spec.BACKEND, 1), (spec.FRONTEND, 2)):
        assert service.max_open_files is not None, f"{service.name} would get the runtime's default (1024 on newer Docker)"
        assert service.max_open_files > per_client * spec.WS_MAX_CLIENTS + 1024, service.name
    assert spec.VISION.max_open_files is None and spec.OLLAMA.max_open_files is None, "no WebSocket client reaches them"
