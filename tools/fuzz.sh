#!/usr/bin/env bash
# Runs one libFuzzer target for a while, from (a scratch copy of) its committed seed corpus, with every input
# that grows coverage kept in build-fuzz/corpus-<target>/ for the next run. Builds the fuzz tree first.
#   tools/fuzz.sh TARGET SECONDS [extra libFuzzer flags]      e.g. tools/fuzz.sh fuzz_v2_stream 600 -jobs=2
# Targets: fuzz_command_parser fuzz_v2_stream fuzz_identify fuzz_mpub fuzz_http fuzz_disk_queue fuzz_metadata
# A crash leaves crash-<sha1> in build-fuzz/; reproduce with build-fuzz/tests/fuzz/TARGET crash-<sha1>, fix it,
# and commit the input to tests/fuzz/corpus/TARGET/ so fuzz.TARGET.replay keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: tools/fuzz.sh TARGET SECONDS [libFuzzer flags]}
shift 2
[ -d "tests/fuzz/corpus/$target" ] || { echo "unknown target $target" >&2; exit 2; }
[ -f build-fuzz/build.ninja ] || cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNSQD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build-fuzz -j2 --target "$target"
work=build-fuzz/corpus-$target
mkdir -p "$work"
cp -n "tests/fuzz/corpus/$target"/* "$work"/ 2>/dev/null || true
cd build-fuzz
exec /usr/bin/time -f "$target: %U s user, %S s system CPU, %e s wall, max RSS %M KB" \
  "tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" \
  "corpus-$target"
