"""Backend settings, read from the environment (names fixed by infra/spec.py)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    vision_service_url: str = "http://vision:5000"
    ollama_base_url: str = "http://ollama:11434"
    ollama_model: str = "llama3.2"
    gesture_token: SecretStr | None = None
    log_level: str = "INFO"
    log_file: str | None = None

    # Dependency checks behind /api/health/ready are cached this long.
    health_cache_seconds: float = Field(default=3.0, ge=0)
    dependency_timeout_seconds: float = Field(default=2.0, gt=0)

    # WebSocket fan-out: per-client queue bound and client cap bound memory.
    ws_queue_size: int = Field(default=256, gt=0)
    ws_max_clients: int = Field(default=1000, gt=0)

    max_prompt_chars: int = Field(default=2000, gt=0)
    max_concurrent_ai: int = Field(default=4, gt=0)
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

    max_gesture_bytes: int = Field(default=4096, gt=0)
    # Matches vision's frame limit and nginx's client_max_body_size.
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
