#!/usr/bin/env bash
# CI's hardening stages (run by .ci/run after the plain build and tests; see README "Hardening"):
#   1. ASan+UBSan build (build-asan/, -O0) of nsqd and every unit/property/simulation test, run with the sim
#      seed sweeps reduced by NSQD_SEED_SCALE; then the plain tree's black-box integration tests against the
#      instrumented nsqd. Sanitizer reports of every process (tests and the daemons they start) go to
#      build-asan/sanitizer-reports/; any report fails the stage, even one whose test passed.
#   2. The libFuzzer targets (build-fuzz/, clang-14): each committed corpus replayed, then each target fuzzed
#      for NSQD_FUZZ_SECONDS (default 6).
# Environment: NSQD_SEED_SCALE (percent of the swarm sweep's seeds under ASan, default 25), NSQD_FUZZ_SECONDS,
# NSQD_CI_SKIP_FUZZ=1 / NSQD_CI_SKIP_ASAN=1 to skip a stage.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

if [ "${NSQD_CI_SKIP_ASAN:-0}" != 1 ]; then
  # -O0: the build is ~45% less CPU than at -O1, which pays for the slower tests (measured, README "Hardening").
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNSQD_SANITIZE=address,undefined \
    -DNSQD_SANITIZE_OPT=-O0
  cmake --build build-asan -j2
  reports=$PWD/build-asan/sanitizer-reports
  rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"  # nsqd also runs as nobody in it.Limits
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  # Unit, property, simulation and hardening tests, all instrumented.
  NSQD_SEED_SCALE="${NSQD_SEED_SCALE:-25}" ctest --test-dir build-asan --output-on-failure -j2 --timeout 300 || fail=1
  # The black-box tests (built in the plain tree) against the instrumented daemon.
  NSQD_BINARY_OVERRIDE=$PWD/build-asan/nsqd \
    ctest --test-dir build -L integration --output-on-failure -j3 --timeout 300 || fail=1
  unset ASAN_OPTIONS UBSAN_OPTIONS
  if [ -n "$(ls -A "$reports")" ]; then
    echo "=== sanitizer reports ===" >&2
    for f in "$reports"/*; do echo "--- $f" >&2; head -c 20000 "$f" >&2; done
    fail=1
  fi
fi

if [ "${NSQD_CI_SKIP_FUZZ:-0}" != 1 ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNSQD_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++-14 -DNSQD_FUZZ_SECONDS="${NSQD_FUZZ_SECONDS:-6}"
  cmake --build build-fuzz -j2
  ctest --test-dir build-fuzz --output-on-failure -j2 || fail=1
fi
exit $fail
