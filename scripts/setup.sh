#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what execgate's build and tests need; safe to run again (skips what is present).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v swtpm >/dev/null || need_apt+=(swtpm)
{ command -v swtpm_setup >/dev/null && command -v swtpm_ioctl >/dev/null; } || need_apt+=(swtpm-tools)
{ command -v tpm2_quote >/dev/null && command -v tpm2_checkquote >/dev/null; } || need_apt+=(tpm2-tools)
# The gate's adversary tests: git (a program that acts on its argv[0]) and GNU time (a process's peak memory).
command -v git >/dev/null || need_apt+=(git)
[[ -x /usr/bin/time ]] || need_apt+=(time)
# The demo's test: strace sees every file the demo and its children write.
command -v strace >/dev/null || need_apt+=(strace)
# The install test's `systemd-analyze verify` of execgate.service: Debian ships it only in the systemd
# package. Installing it does not make systemd the init (that is systemd-sysv), so in a container it adds
# the tools and starts nothing.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
# The auditor page's tests (test/web/): Debian's Chromium, driven by playwright-core (no browser download).
command -v chromium >/dev/null || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is needed (found $(node --version))" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build
echo "setup: ok (swtpm $(swtpm --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1), $(tpm2_quote --version 2>&1 | grep -o 'version=[^ ]*' | head -1), node $(node --version))"
