"""The Ollama image's entrypoint and health check, run against a fake `ollama` CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Stands in for the ollama binary: `serve` waits, `list` works once serve
# has started, `show` checks a store directory, `pull` adds to it (or fails
# while $FAIL_PULLS_FILE holds a positive count).
FAKE_OLLAMA = r"""#!/bin/bash
store="$FAKE_STORE"
case "$1" in
  serve) touch "$store/.serving"; echo "serve" >> "$store/calls"; trap 'exit 0' TERM; while :; do sleep 0.05; done ;;
  list) [ -f "$store/.serving" ] ;;
  show) [ -f "$store/.serving" ] && [ -f "$store/$2" ] ;;
  pull)
    echo "pull $2" >> "$store/calls"
    if [ -s "$store/fail" ] && [ "$(cat "$store/fail")" -gt 0 ]; then
      echo $(( $(cat "$store/fail") - 1 )) > "$store/fail"; exit 1
    fi
    touch "$store/$2" ;;
esac
"""


def fake_env(tmp_path: Path, models: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    store = tmp_path / "store"
    bindir.mkdir()
    store.mkdir()
    fake = bindir / "ollama"
    fake.write_text(FAKE_OLLAMA)
    fake.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "FAKE_STORE": str(store),
        "OLLAMA_PULL_MODELS": models,
        "OLLAMA_PULL_RETRY_SECONDS": "0",
    }


def run_until_pulled(env: dict[str, str], store: Path, expected: list[str]) -> str:
    """Runs the entrypoint until it has logged every model as pulled or present."""
    proc = subprocess.Popen(
        ["bash", str(APP / "ollama" / "entrypoint.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")) if proc.stdout else None,
        daemon=True,
    )
    reader.start()

    def settled() -> bool:
        text = "".join(lines)
        return all(f"model {m} pulled" in text or f"model {m} already" in text for m in expected)

    try:
        deadline = time.monotonic() + 20
        while not settled():
            assert proc.poll() is None, f"entrypoint exited early: {lines}"
            assert time.monotonic() < deadline, f"models were not settled in time: {lines}"
            time.sleep(0.05)
        time.sleep(0.2)
        assert proc.poll() is None, "the entrypoint must keep serving after the pulls"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        reader.join(5)
    return "".join(lines)


def health(env: dict[str, str]) -> int:
    return subprocess.run(
        ["bash", str(APP / "ollama" / "healthcheck.sh")], env=env, capture_output=True, timeout=10
    ).returncode


def test_first_start_pulls_every_configured_model_and_then_is_healthy(tmp_path: Path) -> None:
    env = fake_env(tmp_path, "llama3.2, phi3")
    store = tmp_path / "store"
    assert health(env) != 0, "healthy before the server or the models exist"
    run_until_pulled(env, store, ["llama3.2", "phi3"])
    calls = (store / "calls").read_text().split("\n")
    assert "pull llama3.2" in calls and "pull phi3" in calls, calls
    assert health(env) == 0, "not healthy although every model is present"


def test_models_already_in_the_volume_are_not_pulled_again(tmp_path: Path) -> None:
    env = fake_env(tmp_path, "llama3.2")
    store = tmp_path / "store"
    (store / "llama3.2").touch()
    out = run_until_pulled(env, store, ["llama3.2"])
    assert "pull" not in (store / "calls").read_text(), "a present model was pulled again"
    assert "already present" in out, out


def test_a_failed_pull_is_retried(tmp_path: Path) -> None:
    env = fake_env(tmp_path, "llama3.2")
    store = tmp_path / "store"
    (store / "fail").write_text("2")
    run_until_pulled(env, store, ["llama3.2"])
    pulls = (store / "calls").read_text().count("pull llama3.2")
    assert pulls == 3, f"expected two failures then a success, saw {pulls} pulls"


def test_the_health_check_fails_while_a_model_is_missing(tmp_path: Path) -> None:
    env = fake_env(tmp_path, "llama3.2,phi3")
    store = tmp_path / "store"
    (store / ".serving").touch()
    (store / "llama3.2").touch()
    assert health(env) != 0, "healthy with phi3 missing"
