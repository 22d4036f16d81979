"""The Dixi app as data: the four services, their ports, paths, probes, resources and wiring.

Every deploy target reads this module; none hard-codes a port, a path or an env
name. Values come from the seed (`shared/seed/deployment-architecture.md`):
ports 3001/5000/11434 (the frontend's 80 became 8080, see FRONTEND), the backend's probes, requests and replicas, and the
`VISION_SERVICE_URL` / `OLLAMA_BASE_URL` / `BACKEND_URL` wiring.

The backend's replicas share WebSocket events through a Redis-compatible
pub/sub server (`EVENT_BUS`, wired as `EVENT_BUS_URL`); it is required
wherever a target can run more than one backend replica (`needs_event_bus`),
and each such target provides the endpoint (a managed Valkey/Redis or a
container). One replica (aws-ec2) keeps the backend's in-process hub.

What it leaves out on purpose: anything cloud-specific (instance types, load
balancers, registries) and anything secret. The one secret the services share,
the gesture token, is named here (`SECRET_ENV`) but its value is created and
delivered by each target from its own secret store; so is the bus password
(`EventBus.password_env`), which only a bus with authentication needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Probe:
    """An HTTP health probe: the path, and how patient to be with it."""

    path: str
    initial_delay_seconds: int = 10
    period_seconds: int = 10


@dataclass(frozen=True)
class Resources:
    """Requests and limits in Kubernetes units (`512Mi`, `500m`)."""

    request_memory: str
    request_cpu: str
    limit_memory: str
    limit_cpu: str


@dataclass(frozen=True)
class Volume:
    """A persistent volume: what it holds and where the container sees it."""

    name: str
    mount_path: str
    size_gib: int
    description: str


@dataclass(frozen=True)
class EventBus:
    """A Redis-compatible server (pub/sub, short leases) through which the replicas of a service share events.

    The service reads the server's URL from `url_env` (`redis://` or
    `rediss://`, with TLS) and, when the server wants one, the password from
    `password_env`, a secret that overrides any password in the URL. It is
    required once the service can run `required_from` replicas or more: with
    one replica the service's in-process hub reaches every client.
    """

    url_env: str = "EVENT_BUS_URL"
    password_env: str = "EVENT_BUS_PASSWORD"
    port: int = 6379  # Valkey's and Redis's default
    schemes: tuple[str, ...] = ("redis", "rediss")  # plain, TLS
    required_from: int = 2

    def url(self, host: str, tls: bool = False, db: int = 0) -> str:
        """The URL of the bus at `host`, on the default port."""
        plain, with_tls = self.schemes
        return f"{with_tls if tls else plain}://{host}:{self.port}/{db}"


@dataclass(frozen=True)
class Service:
    """One container of the app, as every target must run it."""

    name: str
    build_context: str  # relative to the repository root; holds the Dockerfile
    port: int
    public_paths: tuple[str, ...]  # empty: private, reachable only by the other services
    liveness: Probe
    readiness: Probe
    resources: Resources
    replicas: int
    gpus: int = 0
    # Takes a GPU only when the stack opts in (`dixi:visionGpu`); see `gpus()`.
    gpu_opt_in: bool = False
    volumes: tuple[Volume, ...] = ()
    # Env var -> name of the service whose base URL it receives.
    links: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Plain env, identical on every target.
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Env var that receives the configured Ollama model, if any.
    model_env: str | None = None
    # Secret env vars this service reads (values come from the target's secret store).
    secret_env: tuple[str, ...] = ()
    # The bus its replicas share events through, when it has more than one.
    event_bus: EventBus | None = None
    # Named build contexts the Dockerfile copies from (`COPY --from=<name>`).
    named_contexts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The uid the image runs as (its Dockerfile's USER): host directories
    # mounted as its volumes must belong to it.
    run_as_uid: int = 10001
    # Paths the container writes besides its volumes; everything else is a
    # read-only root filesystem. None: the image needs a writable root.
    scratch_paths: tuple[str, ...] | None = ("/tmp",)
    # The open-file limit (RLIMIT_NOFILE, soft and hard) the container needs
    # where the runtime's default is too low; None keeps the default.
    max_open_files: int | None = None
    # The liveness check the image itself can run (exec form; its
    # Dockerfile's HEALTHCHECK CMD unless said otherwise), for runtimes that
    # take a container health check in their own config (ECS) rather than
    # from the image.
    health_command: tuple[str, ...] = ()
    # Seconds the health check waits before failures count (the Dockerfile's --start-period).
    health_start_seconds: int = 10
    # How long one request to this service may take, for proxies between
    # the services that cut requests off (ECS Service Connect: 15 s unless
    # told); 0: never (WebSockets). None: the proxy's default is enough.
    request_timeout_seconds: int | None = None

    @property
    def is_public(self) -> bool:
        return bool(self.public_paths)

    def url(self, host: str) -> str:
        """The base URL other services use to reach this one at `host`."""
        return f"http://{host}:{self.port}"


def _probe_script(port: int, path: str) -> str:
    """The Python health probe the backend and vision images run (they carry no curl or wget)."""
    return f"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=2).status == 200 else 1)"


GESTURE_TOKEN_ENV: Final = "GESTURE_TOKEN"
# The Python code backend and vision share (logging, body limit), one copy.
_SHARED_PYTHON: Final = MappingProxyType({"common": "app/common"})
SECRET_ENV: Final = (GESTURE_TOKEN_ENV,)
EVENT_BUS: Final = EventBus()
DEFAULT_OLLAMA_MODEL: Final = "llama3.2"
# The backend's cap on WebSocket clients (its WS_MAX_CLIENTS), set here so
# that every target runs the cap its open-file limit was sized for.
WS_MAX_CLIENTS: Final = 1000
# Every /ws client is a socket in the backend and two in nginx (the client's
# and the upstream's), besides requests, connection pools and logs. Newer
# Docker (25+, moby/moby#45534) and containerd 2 leave a container at a soft
# limit of 1024, right at the cap: with 1000 viewers, frame uploads failed.
WS_OPEN_FILES: Final = 4096

# The seed serves the frontend on port 80; the image runs nginx unprivileged
# (uid 101), which cannot bind below 1024, so it listens on 8080. Load
# balancers and ingresses still face users on 80/443.
FRONTEND = Service(
    name="frontend",
    build_context="app/frontend",
    port=8080,
    public_paths=("/",),
    liveness=Probe("/healthz", initial_delay_seconds=5),
    readiness=Probe("/healthz", initial_delay_seconds=2, period_seconds=5),
    resources=Resources("64Mi", "50m", "128Mi", "200m"),
    replicas=2,
    links=MappingProxyType({"BACKEND_URL": "backend"}),
    run_as_uid=101,
    health_command=("wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"),
    health_start_seconds=5,
    # nginx renders its config from a template at start and keeps a cache.
    scratch_paths=("/tmp", "/var/cache/nginx", "/etc/nginx/conf.d"),
    max_open_files=WS_OPEN_FILES,
)

BACKEND = Service(
    name="backend",
    build_context="app/backend",
    named_contexts=_SHARED_PYTHON,
    port=3001,
    public_paths=("/api", "/ws"),
    liveness=Probe("/api/health/live", initial_delay_seconds=30, period_seconds=10),
    readiness=Probe("/api/health/ready", initial_delay_seconds=10, period_seconds=5),
    resources=Resources("512Mi", "500m", "1Gi", "1000m"),
    replicas=3,
    volumes=(Volume("logs", "/app/logs", 5, "backend logs"),),
    links=MappingProxyType({"VISION_SERVICE_URL": "vision", "OLLAMA_BASE_URL": "ollama"}),
    env=MappingProxyType({"LOG_LEVEL": "info", "WS_MAX_CLIENTS": str(WS_MAX_CLIENTS)}),
    model_env="OLLAMA_MODEL",
    secret_env=(GESTURE_TOKEN_ENV,),
    event_bus=EVENT_BUS,
    max_open_files=WS_OPEN_FILES,
    health_command=("python", "-c", _probe_script(3001, "/api/health/live")),
    request_timeout_seconds=0,  # /ws stays open for hours
)

VISION = Service(
    name="vision",
    build_context="app/vision",
    named_contexts=_SHARED_PYTHON,
    port=5000,
    public_paths=(),
    liveness=Probe("/health", initial_delay_seconds=20),
    readiness=Probe("/health", initial_delay_seconds=10, period_seconds=5),
    resources=Resources("1Gi", "500m", "2Gi", "2000m"),
    replicas=1,
    # OpenCV on the CPU: ~375 frames/s on one core (docs/benchmarks.md). A GPU
    # by default would make every scheduler reserve a whole one for nothing.
    gpu_opt_in=True,
    volumes=(Volume("models", "/app/models", 10, "gesture models, synced from the models store"),),
    links=MappingProxyType({"BACKEND_URL": "backend"}),
    env=MappingProxyType({"MODELS_DIR": "/app/models"}),
    secret_env=(GESTURE_TOKEN_ENV,),
    health_command=("python", "-c", _probe_script(5000, "/health")),
)

OLLAMA = Service(
    name="ollama",
    build_context="app/ollama",
    port=11434,
    public_paths=(),
    # Ollama answers `GET /` with "Ollama is running" once the server is up.
    liveness=Probe("/", initial_delay_seconds=30),
    readiness=Probe("/api/tags", initial_delay_seconds=10, period_seconds=10),
    resources=Resources("4Gi", "1000m", "12Gi", "4000m"),
    replicas=1,
    gpus=1,
    volumes=(Volume("ollama", "/var/lib/ollama", 50, "Ollama's model store"),),
    env=MappingProxyType(
        {"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_MODELS": "/var/lib/ollama/models"}
    ),
    model_env="OLLAMA_PULL_MODELS",
    scratch_paths=None,
    # Alive once the server answers (the CLI asks it). Not the image's
    # HEALTHCHECK, which also waits for the models: a first pull can take far
    # longer than ECS's longest start period (300 s), and a task replaced for
    # it would start the pull again. The backend's readiness says when the
    # model is there.
    health_command=("ollama", "list"),
    health_start_seconds=60,
    # The backend waits up to 180 s for an answer (its AI_ANSWER_TIMEOUT_SECONDS), plus a first model load.
    request_timeout_seconds=300,
)

SERVICES: Final[tuple[Service, ...]] = (FRONTEND, BACKEND, VISION, OLLAMA)
BY_NAME: Final[Mapping[str, Service]] = MappingProxyType({s.name: s for s in SERVICES})
PRIVATE_PORTS: Final[frozenset[int]] = frozenset(s.port for s in SERVICES if not s.is_public)


def gpus(service: Service, opted_in: bool = False) -> int:
    """GPUs `service` gets: its own need, or one when it can use a GPU and the stack opted in."""
    return service.gpus or (1 if service.gpu_opt_in and opted_in else 0)


def needs_event_bus(service: Service, replicas: int) -> bool:
    """Whether `service`, run with up to `replicas` replicas, must be given its event bus."""
    return service.event_bus is not None and replicas >= service.event_bus.required_from


def service_env(
    service: Service,
    host_of: Callable[[Service], str],
    ollama_model: str,
    *,
    event_bus_url: str | None = None,
    url_of: Callable[[Service], str] | None = None,
) -> dict[str, str]:
    """The plain env of `service` on a target where `host_of(s)` is the host name of `s`.

    A target where a service is not reached as `http://<host>:<port>` (Cloud
    Run: `https://<name>-<number>.<region>.run.app`) gives `url_of(s)`, the
    base URL of `s`, instead; `host_of` then only serves the services
    `url_of` does not answer for (it returns "" for them).

    A target that runs `service` with several replicas passes the URL of the
    bus it provides (`event_bus_url`), which lands in `service.event_bus.url_env`.

    Secrets are not included: each target injects `service.secret_env`, and
    the bus password (`event_bus.password_env`) when its bus has one, its own way.
    """
    env = dict(service.env)
    for var, target in service.links.items():
        other = BY_NAME[target]
        given = url_of(other) if url_of is not None else ""
        env[var] = given or other.url(host_of(other))
    if service.model_env:
        env[service.model_env] = ollama_model
    if event_bus_url is not None:
        bus = service.event_bus
        if bus is None:
            raise ValueError(f"{service.name} shares no events between replicas; it takes no event bus URL")
        parts = urlsplit(event_bus_url)
        if parts.scheme not in bus.schemes or not parts.hostname:
            raise ValueError(f"the event bus URL must be {' or '.join(f'{s}://host' for s in bus.schemes)}, not {event_bus_url!r}")
        if parts.password:
            raise ValueError(f"the event bus URL carries a password, which would be plain env; deliver it as the secret {bus.password_env}")
        env[bus.url_env] = event_bus_url
    return env
