"""The real stack on loopback: the Ollama double, vision, backend and Debian's nginx.

Every process is started here (nginx in the foreground with a temporary
prefix and the project's own server template rendered by envsubst), on free
ports, and stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
for _path in (APP, APP / "common", APP / "backend", APP / "vision"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TOKEN = "e2e-gesture-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.log.read_text(errors='replace')[-3000:]}"
            for p in self.procs.values()
            if p.log.exists()
        )


def service_pythonpath(service: str) -> str:
    """What a service's image has on its path: its own package and the shared dixi_common."""
    return os.pathsep.join([str(APP / service), str(APP / "common")])


def python_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"HOST": "127.0.0.1", "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


def render_nginx(prefix: Path, nginx_port: int, backend_port: int) -> Path:
    """The project's template, rendered like the nginx image does it, in a temp prefix."""
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
            "BACKEND_URL": f"http://127.0.0.1:{backend_port}",
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
    include {prefix}/conf.d/*.conf;
}}
"""
    )
    return conf


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if not Path(NGINX).exists():
        pytest.skip(f"nginx binary not found at {NGINX} (apt-get install nginx)")
    workdir = Path(tempfile.mkdtemp(prefix="dixi-e2e-"))
    workdir.chmod(0o755)
    s = Stack(workdir, free_port(), free_port(), free_port(), free_port())
    py = sys.executable
    s.procs["ollama"] = Proc(
        "ollama-double",
        [
            py,
            "-m",
            "dixi_devtools.ollama_double",
            "--port",
            str(s.ollama_port),
            "--chunk-delay",
            "0.01",
        ],
        python_env(PYTHONPATH=str(APP)),
        workdir / "ollama.log",
    )
    s.procs["vision"] = Proc(
        "vision",
        [py, "-m", "dixi_vision.app"],
        python_env(
            PYTHONPATH=service_pythonpath("vision"),
            PORT=str(s.vision_port),
            MODELS_DIR=str(workdir / "models"),
            BACKEND_URL=s.backend_url,
        ),
        workdir / "vision.log",
    )
    s.procs["backend"] = Proc(
        "backend",
        [py, "-m", "dixi_backend.app"],
        python_env(
            PYTHONPATH=service_pythonpath("backend"),
            PORT=str(s.backend_port),
            VISION_SERVICE_URL=f"http://127.0.0.1:{s.vision_port}",
            OLLAMA_BASE_URL=s.ollama_url,
            OLLAMA_MODEL="llama3.2",
            GESTURE_TOKEN=TOKEN,
            HEALTH_CACHE_SECONDS="0.2",
            AI_AUTO_MIN_INTERVAL_SECONDS="0",
        ),
        workdir / "backend.log",
    )
    conf = render_nginx(workdir / "nginx", s.nginx_port, s.backend_port)
    s.procs["nginx"] = Proc(
        "nginx",
        [NGINX, "-p", str(workdir / "nginx"), "-c", str(conf)],
        dict(os.environ),
        workdir / "nginx" / "stdout.log",
    )
    try:
        s.start_ollama()
        s.procs["vision"].start()
        wait_http(f"http://127.0.0.1:{s.vision_port}/health")
        s.procs["backend"].start()
        wait_http(s.backend_url + "/api/health/ready")
        s.procs["nginx"].start()
        wait_http(s.url + "/healthz")
    except Exception:
        logs = (
            s.logs()
            + "\n--- nginx error.log\n"
            + (
                (workdir / "nginx" / "error.log").read_text()
                if (workdir / "nginx" / "error.log").exists()
                else ""
            )
        )
        for proc in s.procs.values():
            proc.stop()
        raise RuntimeError(f"the e2e stack did not start:\n{logs}") from None
    yield s
    for name in ("nginx", "backend", "vision", "ollama"):
        s.procs[name].stop()
    shutil.rmtree(workdir, ignore_errors=True)
