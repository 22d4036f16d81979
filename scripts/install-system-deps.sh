#!/usr/bin/env bash
# Installs the Debian packages the checks and tests use: cloud-init (the real
# user-data validator) and whatever app/apt-packages.txt lists (nginx,
# chromium, ...). Installs only what is missing. Where apt-get is not
# available (macOS, say), it says what will be skipped and exits 0: the plan
# then reports the cloud-init check as skipped, and those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cloud-init)
if [ -f app/apt-packages.txt ]; then
  while read -r line; do
    line="${line%%#*}"; line="${line// /}"
    [ -n "$line" ] && packages+=("$line")
  done < app/apt-packages.txt
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && { echo "system packages: all present (${packages[*]})"; exit 0; }

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: no apt-get here; not installing ${missing[*]} (their checks and tests will be skipped)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "system packages: not root and no sudo; not installing ${missing[*]}" >&2; exit 0
  fi
fi
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
