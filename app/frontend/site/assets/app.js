// Dixi page: WebSocket events in, prompts and camera frames out.
"use strict";

const MAX_GESTURES = 50;
const FRAME_INTERVAL_MS = 250; // at most 4 frames/s, and one in flight at a time
const $ = (id) => document.getElementById(id);

// ---- live events ---------------------------------------------------------
let socket = null;
let retryMs = 500;

function setConnection(state) {
  const el = $("connection");
  el.textContent = state;
  el.dataset.state = state;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  setConnection("connecting");
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("open", () => { setConnection("connected"); retryMs = 500; });
  socket.addEventListener("message", (msg) => {
    try { handle(JSON.parse(msg.data)); } catch (err) { console.error("bad event", err); }
  });
  socket.addEventListener("close", () => {
    setConnection("disconnected");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  });
}

const answers = new Map();

function answerBlock(id, title) {
  let block = answers.get(id);
  if (!block) {
    block = document.createElement("div");
    block.className = "answer";
    block.dataset.id = id;
    block.dataset.done = "false";
    const head = document.createElement("strong");
    head.textContent = title;
    const text = document.createElement("span");
    text.className = "text";
    block.append(head, document.createElement("br"), text);
    $("answers").prepend(block);
    answers.set(id, block);
  }
  return block;
}

function handle(event) {
  switch (event.type) {
    case "gesture": {
      const pct = Math.round((event.confidence || 0) * 100);
      $("last-gesture").textContent = event.gesture;
      const li = document.createElement("li");
      li.className = "gesture";
      li.dataset.gesture = event.gesture;
      li.textContent = `${event.gesture} (${pct}%) from ${event.source}`;
      const list = $("gestures");
      list.prepend(li);
      while (list.children.length > MAX_GESTURES) list.lastElementChild.remove();
      break;
    }
    case "ai_start":
      answerBlock(event.id, event.trigger === "query" ? `Q: ${event.prompt}` : `(${event.trigger})`);
      break;
    case "ai_chunk":
      answerBlock(event.id, "").querySelector(".text").textContent += event.text;
      break;
    case "ai_done":
      answerBlock(event.id, "").dataset.done = "true";
      break;
    case "ai_error": {
      const block = answerBlock(event.id, "(error)");
      block.dataset.done = "true";
      block.querySelector(".text").textContent += ` [${event.error}]`;
      break;
    }
    default:
      break;
  }
}

// ---- prompts ---------------------------------------------------------------
// The answer is rendered from the WebSocket stream; the HTTP response is only
// read for errors (503 when Ollama is down, 422 for a bad prompt, ...).
$("prompt-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("prompt");
  const prompt = input.value.trim();
  $("prompt-error").textContent = "";
  if (!prompt) return;
  try {
    const res = await fetch("/api/ai/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({ error: res.statusText }));
      $("prompt-error").textContent = body.error || `error ${res.status}`;
      return;
    }
    input.value = "";
    await res.text();
  } catch (err) {
    $("prompt-error").textContent = `network error: ${err}`;
  }
});

// ---- camera ----------------------------------------------------------------
let stream = null;
let timer = null;
let inFlight = false;
let sent = 0;
const canvas = document.createElement("canvas");

async function sendFrame() {
  const video = $("camera");
  if (inFlight || !video.videoWidth) return;
  inFlight = true;
  try {
    canvas.width = Math.min(video.videoWidth, 640);
    canvas.height = Math.round(canvas.width * video.videoHeight / video.videoWidth);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.7));
    const res = await fetch("/api/frames", {
      method: "POST", headers: { "Content-Type": "image/jpeg" }, body: blob,
    });
    const body = await res.json().catch(() => ({}));
    sent += 1;
    $("frames-sent").textContent = String(sent);
    $("camera-status").textContent = res.ok
      ? (body.hand_found ? `${body.gesture} (${Math.round(body.confidence * 100)}%)` : "no hand")
      : (body.error || `error ${res.status}`);
  } catch (err) {
    $("camera-status").textContent = `network error: ${err}`;
  } finally {
    inFlight = false;
  }
}

$("camera-toggle").addEventListener("click", async () => {
  const button = $("camera-toggle");
  const video = $("camera");
  if (stream) {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.classList.remove("on");
    button.textContent = "Start camera";
    $("camera-status").textContent = "off";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (err) {
    $("camera-status").textContent = `camera unavailable: ${err.name || err}`;
    return;
  }
  video.srcObject = stream;
  video.classList.add("on");
  await video.play();
  button.textContent = "Stop camera";
  $("camera-status").textContent = "on";
  timer = setInterval(sendFrame, FRAME_INTERVAL_MS);
});

connect();
