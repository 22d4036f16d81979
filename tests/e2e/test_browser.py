"""Headless Chromium (Debian's) loads the page through nginx and renders live events.

The browser is driven over the DevTools protocol with the `websockets`
client; nothing is downloaded.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dixi_devtools.handgen import draw_hand, encode
from websockets.sync.client import ClientConnection, connect

from .conftest import Stack

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A synthetic camera, so the page's getUserMedia path runs for real.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1200,900",
]


class DevTools:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        # Events (messages without an id) that arrived while waiting for answers.
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=15))
            if "id" not in message:
                self.events.append(message)
            if message.get("id") == call_id:
                assert "error" not in message, f"{method} failed: {message['error']}"
                result: dict[str, Any] = message.get("result", {})
                return result

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait(self, expression: str, what: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        page = self.eval("document.body.innerText")
        raise AssertionError(f"the page never showed {what}; it shows:\n{page}")


@pytest.fixture
def browser(stack: Stack) -> Iterator[DevTools]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="dixi-chromium-"))
    proc = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited at start-up"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            tools = DevTools(ws)
            tools.call("Page.enable")
            tools.call("Network.enable")
            tools.call("Page.navigate", url=stack.url + "/")
            yield tools
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def served_csp(browser: DevTools, url: str) -> str:
    """The Content-Security-Policy of the page as the browser received it."""
    for event in browser.events:
        if event.get("method") == "Network.responseReceived":
            response = event["params"]["response"]
            if response["url"] == url:
                headers = {k.lower(): v for k, v in response["headers"].items()}
                return str(headers["content-security-policy"])
    raise AssertionError(f"the browser saw no response for {url}")


def test_the_page_renders_a_gesture_event_and_a_streamed_ai_answer(
    stack: Stack, browser: DevTools
) -> None:
    browser.wait(
        "document.getElementById('connection')?.dataset.state === 'connected'",
        "a connected WebSocket",
    )
    # Connected and (below) receiving events under `connect-src 'self'`, with
    # no bare ws:/wss: source: CSP Level 3's 'self' matches the page's own ws://.
    csp = served_csp(browser, stack.url + "/")
    connect_src = next(d.split()[1:] for d in csp.split(";") if d.split()[:1] == ["connect-src"])
    assert connect_src == ["'self'"], csp
    assert not {"ws:", "wss:"} & set(csp.replace(";", " ").split()), csp
    response = httpx.post(
        stack.url + "/api/frames",
        content=encode(draw_hand(5)),
        headers={"content-type": "image/jpeg"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["gesture"] == "open_palm", response.text
    shown = browser.wait(
        "document.querySelector('#gestures li')?.textContent", "the gesture in the list"
    )
    assert shown.startswith("open_palm"), shown
    assert browser.eval("document.getElementById('last-gesture').textContent") == "open_palm"
    auto = browser.wait(
        "[...document.querySelectorAll('.answer[data-done=true]')]"
        ".map(e => e.textContent).find(t => t.includes('open hand'))",
        "the automatic AI answer to the open palm",
    )
    assert "(gesture:open_palm)" in auto, auto


def test_a_prompt_typed_in_the_page_streams_its_answer_into_the_page(
    stack: Stack, browser: DevTools
) -> None:
    browser.wait(
        "document.getElementById('connection')?.dataset.state === 'connected'",
        "a connected WebSocket",
    )
    browser.eval(
        "document.getElementById('prompt').value = 'hello from chromium';"
        "document.querySelector('#prompt-form button').click(); true"
    )
    answer = browser.wait(
        "[...document.querySelectorAll('.answer[data-done=true]')]"
        ".map(e => e.textContent).find(t => t.includes('hello from chromium'))",
        "the streamed answer",
    )
    assert "Dixi heard: hello from chromium" in answer, answer
    assert answer.startswith("Q: hello from chromium"), answer


def test_the_camera_button_sends_frames_at_a_bounded_rate(stack: Stack, browser: DevTools) -> None:
    browser.wait("document.readyState === 'complete'", "a loaded page")
    browser.eval("document.getElementById('camera-toggle').click(); true")
    browser.wait(
        "Number(document.getElementById('frames-sent').textContent) >= 3", "three frames sent"
    )
    started = time.monotonic()
    first = int(browser.eval("document.getElementById('frames-sent').textContent"))
    time.sleep(2.0)
    sent = int(browser.eval("document.getElementById('frames-sent').textContent")) - first
    elapsed = time.monotonic() - started
    status = browser.eval("document.getElementById('camera-status').textContent")
    assert "unavailable" not in status and "error" not in status, status
    assert sent <= 4 * elapsed + 1, f"{sent} frames in {elapsed:.1f}s exceeds 4 per second"


def test_the_page_may_not_open_a_websocket_to_another_host(stack: Stack, browser: DevTools) -> None:
    # Before (`connect-src 'self' ws: wss:`), a script on the page could open a
    # socket to any host. `localhost` is another origin than 127.0.0.1.
    browser.wait("document.readyState === 'complete'", "a loaded page")
    foreign = f"ws://localhost:{stack.nginx_port}/ws"
    browser.eval(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.violations.push([e.effectiveDirective, e.blockedURI]));"
        f"new WebSocket({json.dumps(foreign)}); true"
    )
    violation = browser.wait("window.violations[0]", "a CSP violation for the foreign socket")
    assert violation[0] == "connect-src" and violation[1].startswith("ws://localhost:"), violation
