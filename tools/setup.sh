#!/usr/bin/env bash
# Installs everything nsqd-cpp needs to build and test, from Debian bookworm packages and npm only.
# Idempotent; run as root on a fresh machine. Used by README's two commands and by .ci/run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential g++ cmake ninja-build pkg-config git ca-certificates procps
      libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
      libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
      librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev
      libsnappy-dev zlib1g-dev libssl-dev libre2-dev python3
      clang-14 libclang-rt-14-dev llvm-14)  # libFuzzer targets (tests/fuzz) and symbolized sanitizer reports
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Node.js and npm for the nsqjs client tests: use whatever node the machine has, else Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# nsqjs for the real-client tests, installed into tests/integration/nsqjs (not committed).
here=$(cd "$(dirname "$0")/.." && pwd)
nsqjs_dir="$here/tests/integration/nsqjs"
if [ ! -d "$nsqjs_dir/node_modules/nsqjs" ] || [ "$nsqjs_dir/package.json" -nt "$nsqjs_dir/node_modules/.package-lock.json" ]; then
  (cd "$here/tests/integration/nsqjs" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
