"""Vision settings, read from the environment (names fixed by infra/spec.py)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .imaging import MAX_JPEG_SCANS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=5000, gt=0, le=65535)
    backend_url: str = "http://backend:3001"
    gesture_token: SecretStr | None = None
    camera_source: str | None = None
    models_dir: str = "/app/models"
    log_level: str = "INFO"
    # A 2 MiB frame is ~1080p JPEG at high quality; nginx's client_max_body_size matches it.
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    # 4 megapixels bounds the decoded size (~12 MB BGR) whatever the compression ratio.
    max_frame_pixels: int = Field(default=4_194_304, gt=0)
    # Decode work grows with scans x pixels; imaging.py says why this many.
    max_jpeg_scans: int = Field(default=MAX_JPEG_SCANS, gt=0)
    # Concurrent recognitions; beyond this requests wait (one per core is plenty).
    workers: int = Field(default=2, gt=0)
    # The backend gives up on vision after its DEPENDENCY_TIMEOUT_SECONDS (2 s). A
    # frame that waited this long for a worker is answered 503 instead of being
    # processed for nobody; the margin covers the upload and the work itself.
    frame_queue_seconds: float = Field(default=1.5, gt=0)
    camera_fps: float = Field(default=10.0, gt=0)
    camera_retry_seconds: float = Field(default=2.0, gt=0)
    # A repeated gesture is re-sent at most this often (changes go out at once).
    camera_repeat_seconds: float = Field(default=1.0, ge=0)
