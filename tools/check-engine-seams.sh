#!/usr/bin/env bash
# Fails (and so fails the build) if engine/ reaches the real world directly instead of through engine/seam/.
set -u
dir=${1:-engine}
pattern='#include *<(boost/asio|boost/beast|asio|thread|fstream|filesystem|random|mutex|condition_variable|future|unistd\.h|fcntl\.h|sys/|netinet/|arpa/|spdlog)|(system_clock|steady_clock|high_resolution_clock)::now|\brand\(|\bsrand\(|random_device|std::this_thread|getenv\('
hits=$(grep -rnE "$pattern" "$dir" --include='*.h' --include='*.cpp' --include='*.hpp' || true)
if [ -n "$hits" ]; then
  echo "engine/ must use the seams, not the OS directly:" >&2
  echo "$hits" >&2
  exit 1
fi
