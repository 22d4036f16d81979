"""The real stack on loopback: the Ollama double, vision, backend and Debian's nginx.

Every process is started here (nginx in the foreground with a temporary
prefix and the project's own server template rendered by envsubst), on free
ports, and stopped at the end of the session.

`stack` has one backend. `replicated_stack` has two backend replicas that
share events through a throwaway Redis server (the event bus), behind one
nginx `upstream` block listing both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
for _path in (APP, APP / "common", APP / "backend", APP / "vision"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from dixi_devtools.redis_server import RedisServer, find_binary  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TOKEN = "e2e-gesture-token"
UPSTREAM = "dixi_backends"


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, never one this session handed out before.

    The kernel may give the same ephemeral port to two binds in a row once the first
    socket is closed; a stack asks for five at once, and two of its processes binding
    the same port is how a replica once failed to start (`address already in use`).
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


def wait_http(url: str, timeout: float = 20.0, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code in ok:
                return
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer {ok} within {timeout}s (last: {last!r})")


def metric(base_url: str, name: str) -> float:
    """One metric from a backend's /metrics, summed over its labels (0 without samples)."""
    text = httpx.get(base_url + "/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path = APP
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=handle, stderr=subprocess.STDOUT
        )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.popen = None


@dataclass
class Stack:
    workdir: Path
    ollama_port: int
    vision_port: int
    backend_port: int
    nginx_port: int
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.nginx_port}/ws"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self.ollama_port}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def start_ollama(self) -> None:
        self.procs["ollama"].start()
        wait_http(self.ollama_url + "/api/version")

    def stop_ollama(self) -> None:
        self.procs["ollama"].stop()

    def launch(self, name: str, ready_url: str) -> None:
        self.procs[name].start()
        wait_http(ready_url)

    def stop_all(self) -> None:
        for proc in reversed(self.procs.values()):
            proc.stop()

    def log_files(self) -> list[tuple[str, Path]]:
        files = [(p.name, p.log) for p in self.procs.values()]
        return [*files, ("nginx error.log", self.workdir / "nginx" / "error.log")]

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{path.read_text(errors='replace')[-3000:]}"
            for name, path in self.log_files()
            if path.exists()
        )


@dataclass
class ReplicatedStack(Stack):
    """Two backend replicas sharing events through `redis`; `backend_port` is the first."""

    replica_ports: list[int] = field(default_factory=list)
    redis: RedisServer = field(kw_only=True)

    @property
    def replica_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.replica_ports]

    @property
    def replica_ws_urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{port}/ws" for port in self.replica_ports]

    @property
    def replicas(self) -> list[Proc]:
        return [self.procs[f"backend-{i}"] for i in range(len(self.replica_ports))]

    def log_files(self) -> list[tuple[str, Path]]:
        return [*super().log_files(), ("redis", self.redis.workdir / "server.log")]


def bus_state(backend_url: str) -> tuple[int, dict[str, Any]]:
    """A backend's /api/health/ready status code and the `event_bus` object of its body."""
    response = httpx.get(backend_url + "/api/health/ready", timeout=5)
    return response.status_code, response.json().get("event_bus") or {}


def wait_bus_state(
    backend_url: str, state: str, timeout: float = 15.0
) -> list[tuple[int, dict[str, Any]]]:
    """Polls the ready body until its event bus is in `state`; returns every answer seen."""
    seen: list[tuple[int, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(bus_state(backend_url))
        if seen[-1][1].get("state") == state:
            return seen
        time.sleep(0.1)
    raise AssertionError(
        f"{backend_url}: the event bus was not {state!r} within {timeout}s; last: {seen[-3:]}"
    )


def service_pythonpath(service: str) -> str:
    """What a service's image has on its path: its own package and the shared dixi_common."""
    return os.pathsep.join([str(APP / service), str(APP / "common")])


def python_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"HOST": "127.0.0.1", "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


def render_nginx(
    prefix: Path,
    nginx_port: int,
    backend_url: str,
    upstreams: Mapping[str, Sequence[int]] | None = None,
) -> Path:
    """The project's template, rendered like the nginx image does it, in a temp prefix.

    `upstreams` (name -> loopback ports) become `upstream` blocks in the http
    context, so that `backend_url` can be `http://<name>`.
    """
    template = APP / "frontend" / "nginx" / "default.conf.template"
    rendered = subprocess.run(
        ["envsubst", "${NGINX_PORT} ${BACKEND_URL}"],
        input=template.read_text(),
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": os.environ["PATH"],
            "NGINX_PORT": f"127.0.0.1:{nginx_port}",
            "BACKEND_URL": backend_url,
        },
    ).stdout
    html = prefix / "html"
    shutil.copytree(APP / "frontend" / "site", html)
    # The one difference from the image: the page lives in the temp prefix.
    rendered = rendered.replace("root /usr/share/nginx/html;", f"root {html};")
    (prefix / "conf.d").mkdir()
    (prefix / "conf.d" / "default.conf").write_text(rendered)
    temp = prefix / "temp"
    temp.mkdir()
    temp.chmod(0o777)
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    blocks = "".join(
        f"    upstream {name} {{ "
        + " ".join(f"server 127.0.0.1:{port};" for port in ports)
        + " }\n"
        for name, ports in (upstreams or {}).items()
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{blocks}    include {prefix}/conf.d/*.conf;
}}
"""
    )
    return conf


def ollama_proc(workdir: Path, port: int) -> Proc:
    return Proc(
        "ollama-double",
        [
            sys.executable,
            "-m",
            "dixi_devtools.ollama_double",
            "--port",
            str(port),
            "--chunk-delay",
            "0.01",
        ],
        python_env(PYTHONPATH=str(APP)),
        workdir / "ollama.log",
    )


def vision_proc(workdir: Path, port: int, backend_url: str) -> Proc:
    return Proc(
        "vision",
        [sys.executable, "-m", "dixi_vision.app"],
        python_env(
            PYTHONPATH=service_pythonpath("vision"),
            PORT=str(port),
            MODELS_DIR=str(workdir / "models"),
            BACKEND_URL=backend_url,
        ),
        workdir / "vision.log",
    )


def backend_proc(
    name: str, workdir: Path, port: int, vision_port: int, ollama_url: str, **extra: str
) -> Proc:
    return Proc(
        name,
        [sys.executable, "-m", "dixi_backend.app"],
        python_env(
            PYTHONPATH=service_pythonpath("backend"),
            PORT=str(port),
            VISION_SERVICE_URL=f"http://127.0.0.1:{vision_port}",
            OLLAMA_BASE_URL=ollama_url,
            OLLAMA_MODEL="llama3.2",
            GESTURE_TOKEN=TOKEN,
            HEALTH_CACHE_SECONDS="0.2",
            AI_AUTO_MIN_INTERVAL_SECONDS="0",
            **extra,
        ),
        workdir / f"{name}.log",
    )


def nginx_proc(workdir: Path, conf: Path) -> Proc:
    return Proc(
        "nginx",
        [NGINX, "-p", str(workdir / "nginx"), "-c", str(conf)],
        dict(os.environ),
        workdir / "nginx" / "stdout.log",
    )


def new_workdir(prefix: str) -> Path:
    if not Path(NGINX).exists():
        pytest.skip(f"nginx binary not found at {NGINX} (apt-get install nginx)")
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    workdir.chmod(0o755)
    return workdir


@contextmanager
def starting(s: Stack, cleanup: Callable[[], None] = lambda: None) -> Iterator[None]:
    """If the stack fails to start: stop what did start, and raise with every log."""
    try:
        yield
    except Exception as exc:
        logs = s.logs()
        s.stop_all()
        cleanup()
        raise RuntimeError(f"the e2e stack did not start ({exc}):\n{logs}") from None


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    workdir = new_workdir("dixi-e2e-")
    s = Stack(workdir, free_port(), free_port(), free_port(), free_port())
    s.procs["ollama"] = ollama_proc(workdir, s.ollama_port)
    s.procs["vision"] = vision_proc(workdir, s.vision_port, s.backend_url)
    s.procs["backend"] = backend_proc(
        "backend", workdir, s.backend_port, s.vision_port, s.ollama_url
    )
    conf = render_nginx(workdir / "nginx", s.nginx_port, s.backend_url)
    s.procs["nginx"] = nginx_proc(workdir, conf)
    with starting(s):
        s.start_ollama()
        s.launch("vision", f"http://127.0.0.1:{s.vision_port}/health")
        s.launch("backend", s.backend_url + "/api/health/ready")
        s.launch("nginx", s.url + "/healthz")
    yield s
    s.stop_all()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def replicated_stack() -> Iterator[ReplicatedStack]:
    if find_binary() is None:
        pytest.skip("no redis-server or valkey-server on PATH (apt-get install redis-server)")
    workdir = new_workdir("dixi-e2e-replicas-")
    replica_ports = [free_port(), free_port()]
    s = ReplicatedStack(
        workdir,
        ollama_port=free_port(),
        vision_port=free_port(),
        backend_port=replica_ports[0],
        nginx_port=free_port(),
        replica_ports=replica_ports,
        redis=RedisServer(),
    )
    s.procs["ollama"] = ollama_proc(workdir, s.ollama_port)
    # Vision would post camera gestures through nginx, to either replica.
    s.procs["vision"] = vision_proc(workdir, s.vision_port, s.url)
    for i, port in enumerate(replica_ports):
        s.procs[f"backend-{i}"] = backend_proc(
            f"backend-{i}",
            workdir,
            port,
            s.vision_port,
            s.ollama_url,
            EVENT_BUS_URL=s.redis.url,
        )
    conf = render_nginx(
        workdir / "nginx", s.nginx_port, f"http://{UPSTREAM}", {UPSTREAM: replica_ports}
    )
    s.procs["nginx"] = nginx_proc(workdir, conf)
    with starting(s, s.redis.close):
        s.start_ollama()
        s.launch("vision", f"http://127.0.0.1:{s.vision_port}/health")
        s.redis.start()
        for i, url in enumerate(s.replica_urls):
            s.launch(f"backend-{i}", url + "/api/health/ready")
        s.launch("nginx", s.url + "/healthz")
        for url in s.replica_urls:
            wait_bus_state(url, "up", timeout=20)
    yield s
    s.stop_all()
    s.redis.close()
    shutil.rmtree(workdir, ignore_errors=True)
