#!/bin/bash
# Healthy only when the server answers and every configured model is present.
set -euo pipefail
IFS=',' read -r -a wanted <<< "${OLLAMA_PULL_MODELS:-llama3.2}"
for model in "${wanted[@]}"; do
  model="${model// /}"
  [ -n "$model" ] || continue
  ollama show "$model" >/dev/null 2>&1 || { echo "model $model not present"; exit 1; }
done
