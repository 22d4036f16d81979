"""JSON log lines on stdout, one object per line, and optionally in a file that rotates.

stdout is the main sink: every target collects it. The optional file
(`extra_file`) rotates at `max_bytes` and keeps `backups` old files, so its
disk use is bounded by (backups + 1) x max_bytes whatever clients make the
service log (it once grew by a 3.6 KB traceback per bad request).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from typing import Any

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


DEFAULT_FILE_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_FILE_BACKUPS = 3


def configure(
    service: str,
    level: str,
    extra_file: str | None = None,
    *,
    max_bytes: int = DEFAULT_FILE_MAX_BYTES,
    backups: int = DEFAULT_FILE_BACKUPS,
) -> None:
    if extra_file and (max_bytes <= 0 or backups <= 0):
        # RotatingFileHandler never rotates with either at 0.
        raise ValueError("a log file needs max_bytes > 0 and backups > 0 to rotate")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if extra_file:
        handlers.append(
            logging.handlers.RotatingFileHandler(
                extra_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        )
    formatter = JsonFormatter(service)
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = handlers
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
