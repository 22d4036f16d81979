#!/bin/bash
# Start `ollama serve`, pull every model in OLLAMA_PULL_MODELS that the volume
# does not hold yet, then keep serving. A failed pull is retried; the server
# keeps running meanwhile (and stays unhealthy until the models are there).
#
# The container lives exactly as long as its server: when `ollama serve` exits
# on its own, at any point (before it is ready, during a pull, while waiting to
# retry one, or while serving), this script exits non-zero at once, so that the
# restart policy or the orchestrator replaces the container instead of leaving
# it retrying pulls against nothing.
#
# TERM and INT stop it at once: bash runs a trap only once the foreground
# command has ended, but interrupts `wait`, so every pull, probe and sleep runs
# in the background under `wait`. `docker stop` then never ends in SIGKILL.
set -euo pipefail

# The log goes to the script's own stdout (fd 3) even from a trap or a check
# that runs while a probe's output is sent to /dev/null.
exec 3>&1

# One JSON object a line, whatever a model name holds (a quote, a backslash, a
# control character): the message is escaped as a JSON string.
log() {
  local s="$*" c u
  s=${s//\\/'\\'}
  s=${s//\"/'\"'}
  s=${s//$'\n'/'\n'}
  s=${s//$'\r'/'\r'}
  s=${s//$'\t'/'\t'}
  while [[ $s =~ [[:cntrl:]] ]]; do
    c=${BASH_REMATCH[0]}
    printf -v u '\\u%04x' "'$c"
    s=${s//"$c"/"$u"}
  done
  printf '{"service":"ollama-entrypoint","msg":"%s"}\n' "$s" >&3
}

# `wait -n -p` is bash 5.1; the pinned base image (Ubuntu 24.04 since ollama
# 0.9.6) has 5.2. Refuse to run rather than misbehave on an older one.
if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then
  log "bash ${BASH_VERSION} is older than 5.1; this entrypoint needs wait -n -p"
  exit 1
fi

models="${OLLAMA_PULL_MODELS:-llama3.2}"
retry_seconds="${OLLAMA_PULL_RETRY_SECONDS:-30}"
ready_timeout="${OLLAMA_READY_TIMEOUT_SECONDS:-120}"

ollama serve 3>&- &
server=$!
child=""

# The current pull, probe or sleep, if any, must not outlive the script.
end_child() {
  [ -n "$child" ] || return 0
  kill -TERM "$child" 2>/dev/null || true
  wait "$child" 2>/dev/null || true
}

# The server exited without being asked to: leave, non-zero even if it exited
# 0, since a container without its server is a failed container.
server_gone() {
  local status=$1
  log "ollama serve exited with status ${status}; exiting so that the container is restarted"
  end_child
  exit $((status == 0 ? 1 : status))
}

# A background job of a non-interactive shell starts with SIGINT ignored, so
# the server and the current pull are sent TERM for either signal.
stop() {
  local status=0
  trap '' TERM INT
  log "received SIG$1, stopping ollama serve"
  kill -TERM "$server" 2>/dev/null || true
  end_child
  wait "$server" || status=$?
  exit "$status"
}
trap 'stop TERM' TERM
trap 'stop INT' INT

# Runs "$@" in the background and returns its status once it ends, unless the
# server ends first (then the script exits) or a signal arrives (the trap runs
# at once).
run() {
  local finished="" status=0
  "$@" 3>&- &
  child=$!
  wait -n -p finished "$server" "$child" || status=$?
  [ "$finished" != "$server" ] || server_gone "$status"
  child=""
  return "$status"
}

deadline=$((SECONDS + ready_timeout))
until run ollama list >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    log "ollama serve not ready after ${ready_timeout}s"
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" || true
    exit 1
  fi
  run sleep 1
done
log "server ready"

IFS=',' read -r -a wanted <<< "$models"
for model in "${wanted[@]}"; do
  model="${model// /}"
  [ -n "$model" ] || continue
  if run ollama show "$model" >/dev/null 2>&1; then
    log "model $model already present, not pulling"
    continue
  fi
  until run ollama pull "$model"; do
    log "pull of $model failed, retrying in ${retry_seconds}s"
    run sleep "$retry_seconds"
  done
  log "model $model pulled"
done

status=0
wait "$server" || status=$?
server_gone "$status"
