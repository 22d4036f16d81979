"""The Ollama image's entrypoint and health check, run against a fake `ollama` CLI.

Besides pulling, three failures are reproduced here, each bounded in time:
a server that dies (the container must exit, or its restart policy never
fires), a stop signal during a pull or a retry's sleep (it must be handled at
once, or `docker stop` ends in SIGKILL), and model names that would break a
hand-built JSON log line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
ENTRYPOINT = APP / "ollama" / "entrypoint.sh"
# How long a stop or a server's death may take to end the entrypoint. Docker
# waits 10 s before SIGKILL; the retry sleep it used to sit out is 30 s.
PROMPT_SECONDS = 3.0
_OWN_LINE = '{"service":"ollama-entrypoint"'

# Stands in for the ollama binary: `serve` waits (its pid in serve.pid; it
# exits 0 by itself once $store/serve-exit exists), `list` works once serve
# has started (unless $store/not-ready exists; it hangs, its pid in list.pid,
# while $store/hang-list exists), `show` checks a store
# directory, `pull` adds to it, fails while $store/fail holds a positive
# count, or hangs (its pid in pull.pid) while $store/hang exists.
FAKE_OLLAMA = r"""#!/bin/bash
store="$FAKE_STORE"
case "$1" in
  serve)
    echo $$ > "$store/serve.pid"; touch "$store/.serving"; echo "serve" >> "$store/calls"
    trap 'echo "serve stopped" >> "$store/calls"; exit 0' TERM
    while [ ! -f "$store/serve-exit" ]; do sleep 0.05; done ;;
  list)
    if [ -f "$store/hang-list" ]; then echo $$ > "$store/list.pid"; exec sleep 60; fi
    [ -f "$store/.serving" ] && [ ! -f "$store/not-ready" ] ;;
  show) [ -f "$store/.serving" ] && [ -f "$store/$2" ] ;;
  pull)
    echo "pull $2" >> "$store/calls"
    if [ -f "$store/hang" ]; then echo $$ > "$store/pull.pid"; exec sleep 60; fi
    if [ -s "$store/fail" ] && [ "$(cat "$store/fail")" -gt 0 ]; then
      echo $(( $(cat "$store/fail") - 1 )) > "$store/fail"; exit 1
    fi
    touch "$store/$2" ;;
esac
"""


def fake_env(tmp_path: Path, models: str, retry_seconds: str = "0") -> dict[str, str]:
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
        "OLLAMA_PULL_RETRY_SECONDS": retry_seconds,
    }


@dataclass
class Entrypoint:
    proc: subprocess.Popen[str]
    lines: list[str]
    reader: threading.Thread

    def messages(self) -> list[str]:
        """The `msg` of every line the entrypoint logged; one that is not JSON fails the test.

        Other lines (bash reporting a killed job; the real server's own log)
        are not the entrypoint's.
        """
        out: list[str] = []
        for line in list(self.lines):
            if not line.startswith(_OWN_LINE):
                continue
            try:
                record: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AssertionError(f"a log line is not JSON ({exc}): {line!r}") from None
            assert record["service"] == "ollama-entrypoint", record
            out.append(record["msg"])
        return out

    def wait_until(self, settled: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not settled():
            assert self.proc.poll() is None, f"entrypoint exited before {what}: {self.lines}"
            assert time.monotonic() < deadline, f"no {what} within {timeout}s: {self.lines}"
            time.sleep(0.02)

    def seconds_to_exit(self, bound: float = PROMPT_SECONDS) -> float:
        """Seconds the entrypoint takes to exit; fails once `bound` has passed."""
        started = time.monotonic()
        try:
            self.proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {bound}s later: {self.lines}") from None
        self.reader.join(5)  # every line it wrote, read
        return time.monotonic() - started


@contextmanager
def entrypoint(env: dict[str, str]) -> Iterator[Entrypoint]:
    """The entrypoint in a session of its own; whatever outlives the test is killed with it."""
    proc = subprocess.Popen(
        ["bash", str(ENTRYPOINT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")) if proc.stdout else None,
        daemon=True,
    )
    reader.start()
    try:
        yield Entrypoint(proc, lines, reader)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(5)


def run_until_pulled(env: dict[str, str], store: Path, expected: list[str]) -> list[str]:
    """Runs the entrypoint until it has logged every model as pulled or present; returns its messages."""
    with entrypoint(env) as ep:

        def settled() -> bool:
            text = ep.messages()
            return all(
                f"model {m} pulled" in text or any(t.startswith(f"model {m} already") for t in text)
                for m in expected
            )

        ep.wait_until(settled, "every model pulled")
        time.sleep(0.2)
        assert ep.proc.poll() is None, "the entrypoint must keep serving after the pulls"
        ep.proc.send_signal(signal.SIGTERM)
        assert ep.proc.wait(timeout=10) == 0, f"a requested stop is a clean exit: {ep.lines}"
        return ep.messages()


def health(env: dict[str, str]) -> int:
    return subprocess.run(
        ["bash", str(APP / "ollama" / "healthcheck.sh")], env=env, capture_output=True, timeout=10
    ).returncode


def alive(pid_file: Path) -> bool:
    """Whether the process is running (a zombie awaiting its reaper is not)."""
    try:
        stat = Path(f"/proc/{int(pid_file.read_text())}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
    assert "model llama3.2 already present, not pulling" in out, out


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


def test_every_log_line_is_json_whatever_a_model_name_holds(tmp_path: Path) -> None:
    # Names a hand-built `"msg":"%s"` line broke on; spaces are stripped by design.
    names = ['we"ird', "back\\slash", "tab\there", "bell\x07ctl", "ünïcødé", 'quote"\\"both']
    env = fake_env(tmp_path, ",".join(names))
    messages = run_until_pulled(env, tmp_path / "store", names)
    for name in names:
        assert f"model {name} pulled" in messages, (
            f"{name!r} did not survive the log line: {messages}"
        )


# Where the server can be when it dies, and how to get the entrypoint there.
_MOMENTS: dict[str, tuple[Callable[[Path], object], Callable[[Path, Entrypoint], bool]]] = {
    "before it is ready": (
        lambda store: (store / "not-ready").touch(),
        lambda store, ep: (store / "serve.pid").exists(),
    ),
    # The probe's output goes to /dev/null; the entrypoint's log must not.
    "during a readiness probe": (
        lambda store: (store / "hang-list").touch(),
        lambda store, ep: (store / "list.pid").exists(),
    ),
    "during a pull": (
        lambda store: (store / "hang").touch(),
        lambda store, ep: (store / "pull.pid").exists(),
    ),
    "while waiting to retry a pull": (
        lambda store: (store / "fail").write_text("1000000"),
        lambda store, ep: any("retrying in 30s" in m for m in ep.messages()),
    ),
    "while serving": (
        lambda store: None,
        lambda store, ep: "model llama3.2 pulled" in ep.messages(),
    ),
}


@pytest.mark.parametrize("moment", list(_MOMENTS))
def test_the_entrypoint_exits_non_zero_as_soon_as_the_server_dies(
    tmp_path: Path, moment: str
) -> None:
    # Before: it retried pulls (or slept) forever beside a dead server, and the
    # container never exited, so no restart policy ever fired.
    prepare, reached = _MOMENTS[moment]
    store = tmp_path / "store"
    env = fake_env(tmp_path, "llama3.2", retry_seconds="30")
    prepare(store)
    with entrypoint(env) as ep:
        ep.wait_until(lambda: reached(store, ep), moment)
        os.kill(int((store / "serve.pid").read_text()), signal.SIGKILL)
        seconds = ep.seconds_to_exit()
        assert ep.proc.returncode != 0, f"a dead server must fail the container: {ep.lines}"
        assert any(m.startswith("ollama serve exited with status") for m in ep.messages()), ep.lines
        for child in ("list.pid", "pull.pid"):
            assert not (store / child).exists() or not alive(store / child), f"{child} outlived it"
    print(f"server killed {moment}: entrypoint exited {ep.proc.returncode} after {seconds:.2f}s")


def test_a_server_that_exits_cleanly_on_its_own_still_fails_the_container(tmp_path: Path) -> None:
    env = fake_env(tmp_path, "llama3.2")
    store = tmp_path / "store"
    with entrypoint(env) as ep:
        ep.wait_until(lambda: "model llama3.2 pulled" in ep.messages(), "the pull")
        (store / "serve-exit").touch()
        ep.seconds_to_exit()
        assert ep.proc.returncode == 1, (
            f"status 0 from the server is still a failure here: {ep.lines}"
        )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize(
    "moment",
    ["during a readiness probe", "during a pull", "while waiting to retry a pull", "while serving"],
)
def test_a_stop_signal_stops_the_server_and_the_entrypoint_at_once(
    tmp_path: Path, moment: str, signum: signal.Signals
) -> None:
    # Before: bash held the trap until the foreground pull or the 30 s retry
    # sleep had ended, past Docker's 10 s grace, so `docker stop` sent SIGKILL.
    prepare, reached = _MOMENTS[moment]
    store = tmp_path / "store"
    env = fake_env(tmp_path, "llama3.2", retry_seconds="30")
    prepare(store)
    with entrypoint(env) as ep:
        ep.wait_until(lambda: reached(store, ep), moment)
        ep.proc.send_signal(signum)
        seconds = ep.seconds_to_exit()
        assert ep.proc.returncode == 0, (
            f"the server stopped cleanly, so does the entrypoint: {ep.lines}"
        )
        assert "serve stopped" in (store / "calls").read_text(), "the server was not sent TERM"
        assert not alive(store / "serve.pid"), "the server outlived the entrypoint"
        for child in ("list.pid", "pull.pid"):
            assert not (store / child).exists() or not alive(store / child), f"{child} outlived it"
        assert (
            f"received SIG{signum.name.removeprefix('SIG')}, stopping ollama serve" in ep.messages()
        )
    print(f"SIG{signum.name.removeprefix('SIG')} {moment}: exit after {seconds:.2f}s")
