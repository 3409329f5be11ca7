// Shared helpers for the integration tests.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "daemon.h"
#include "v2_client.h"

namespace nsqit {

// A topic/channel name unique in this process, derived from the running test's name.
inline std::string unique_name(const std::string& prefix = "t") {
  static std::atomic<int> counter{0};
  std::string base = prefix;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) base += std::string("_") + info->name();
  std::string out;
  for (char c : base) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.size() > 50) out.resize(50);
  return out + "_" + std::to_string(counter.fetch_add(1));
}

inline std::int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool is_lower_hex16(const std::string& id) {
  if (id.size() != 16) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Stopwatch {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  long long ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  }
  void reset() { t0 = std::chrono::steady_clock::now(); }
};

}  // namespace nsqit
