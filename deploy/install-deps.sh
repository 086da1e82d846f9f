#!/usr/bin/env bash
# Installs the Debian packages multisect needs, only those that are missing.
# Extra packages can be named as arguments (the kernel lab adds qemu and busybox).
set -euo pipefail
need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v git >/dev/null || need+=(git)
command -v protoc >/dev/null || need+=(protobuf-compiler)
# tmux: the watch view is tested in a real pseudo-terminal.
command -v tmux >/dev/null || need+=(tmux)
# chromium: the dashboard is tested in a real headless browser (puppeteer-core, no download).
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need+=(libprotobuf-dev)
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${need[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
