#!/bin/bash
# Start `ollama serve`, pull every model in OLLAMA_PULL_MODELS that the volume
# does not hold yet, then keep serving. A failed pull is retried; the server
# keeps running meanwhile (and stays unhealthy until the models are there).
set -euo pipefail

models="${OLLAMA_PULL_MODELS:-llama3.2}"
retry_seconds="${OLLAMA_PULL_RETRY_SECONDS:-30}"
ready_timeout="${OLLAMA_READY_TIMEOUT_SECONDS:-120}"

log() { printf '{"service":"ollama-entrypoint","msg":"%s"}\n' "$*"; }

ollama serve &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"; exit 0' TERM INT

waited=0
until ollama list >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then
    log "ollama serve exited before it was ready"
    wait "$server"
    exit 1
  fi
  if [ "$waited" -ge "$ready_timeout" ]; then
    log "ollama serve not ready after ${ready_timeout}s"
    kill -TERM "$server"
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
log "server ready"

IFS=',' read -r -a wanted <<< "$models"
for model in "${wanted[@]}"; do
  model="${model// /}"
  [ -n "$model" ] || continue
  if ollama show "$model" >/dev/null 2>&1; then
    log "model $model already present, not pulling"
    continue
  fi
  until ollama pull "$model"; do
    log "pull of $model failed, retrying in ${retry_seconds}s"
    sleep "$retry_seconds"
  done
  log "model $model pulled"
done

wait "$server"
