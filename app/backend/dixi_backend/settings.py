"""Backend settings, read from the environment (names fixed by infra/spec.py)."""

from __future__ import annotations

from dixi_common import logs
from dixi_common.server import PRIVATE_NETWORKS
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .bus import BusConfig, BusConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=3001, ge=0, le=65535)
    # Peers whose X-Forwarded-For names the client (nginx, load balancers):
    # per-address limits count that client. uvicorn's own variable name.
    forwarded_allow_ips: str = PRIVATE_NETWORKS

    vision_service_url: str = "http://vision:5000"
    ollama_base_url: str = "http://ollama:11434"
    ollama_model: str = "llama3.2"
    gesture_token: SecretStr | None = None
    log_level: str = "INFO"
    # An extra copy of the log in a file that rotates; stdout is the main sink.
    log_file: str | None = None
    log_file_max_bytes: int = Field(default=logs.DEFAULT_FILE_MAX_BYTES, ge=4096)
    log_file_backups: int = Field(default=logs.DEFAULT_FILE_BACKUPS, ge=1, le=20)

    # Dependency checks behind /api/health/ready are cached this long.
    health_cache_seconds: float = Field(default=3.0, ge=0)
    dependency_timeout_seconds: float = Field(default=2.0, gt=0)

    # WebSocket fan-out: per-client queue bound and client cap bound memory.
    ws_queue_size: int = Field(default=256, gt=0)
    ws_max_clients: int = Field(default=1000, gt=0)
    # One address (an IPv6 /64) cannot take every slot.
    ws_max_clients_per_address: int = Field(default=100, gt=0)
    # Browser origins /ws accepts besides the page's own (scheme://host[:port]).
    ws_allowed_origins: list[str] = []

    # The one prompt limit (the 64 KiB body limit bounds what is parsed).
    max_prompt_chars: int = Field(default=2000, gt=0, le=8000)
    max_concurrent_ai: int = Field(default=4, gt=0)
    # AI slots one client address may hold at once (429 beyond).
    ai_max_per_address: int = Field(default=1, gt=0)
    # Every answer is bounded: in tokens (Ollama's num_predict; the stream is
    # also cut after as many chunks) and in wall time, first chunk included.
    ai_max_tokens: int = Field(default=256, gt=0, le=4096)
    ai_answer_timeout_seconds: float = Field(default=180.0, gt=0)
    ai_first_chunk_timeout_seconds: float = Field(default=120.0, gt=0)
    ai_system_prompt: str = (
        "You are Dixi, the voice of an interactive projection. Answer briefly and kindly."
    )
    # Gestures that ask the AI something on their own, and how often at most.
    ai_gesture_prompts: dict[str, str] = {
        "open_palm": "Someone waved an open hand at the projection. Greet them in one sentence.",
        "peace": "Someone showed a peace sign to the projection. Reply in one cheerful sentence.",
    }
    ai_auto_min_interval_seconds: float = Field(default=30.0, ge=0)

    # The event bus between replicas (bus.py). Unset: one replica, in-process hub only.
    # redis:// or rediss:// (TLS); the password in the URL or, from a secret store,
    # in EVENT_BUS_PASSWORD (not both); EVENT_BUS_CA_FILE for a server signed by a private CA.
    event_bus_url: SecretStr | None = None
    event_bus_password: SecretStr | None = None
    event_bus_ca_file: str | None = None
    event_bus_channel: str = Field(default="dixi:events", min_length=1, max_length=128)
    event_bus_reconnect_max_seconds: float = Field(default=5.0, gt=0, le=300)
    event_bus_outbox_size: int = Field(default=1024, gt=0)

    max_gesture_bytes: int = Field(default=4096, gt=0)
    # Matches vision's frame limit and nginx's client_max_body_size.
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, gt=0)

    def bus_config(self) -> BusConfig | None:
        """The event bus settings, or None without EVENT_BUS_URL; raises BusConfigError when they cannot work."""
        if self.event_bus_url is None or not self.event_bus_url.get_secret_value().strip():
            if self.event_bus_password is not None:
                raise BusConfigError("EVENT_BUS_PASSWORD is set but EVENT_BUS_URL is not")
            return None
        password = self.event_bus_password.get_secret_value() if self.event_bus_password else None
        return BusConfig(
            url=self.event_bus_url.get_secret_value().strip(),
            password=password or None,
            ca_file=self.event_bus_ca_file or None,
            channel=self.event_bus_channel,
            outbox_size=self.event_bus_outbox_size,
            reconnect_max_seconds=self.event_bus_reconnect_max_seconds,
        )
