// nsqd-bench: state shared between the main thread and the connection threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace nsqbench {

// Monotonic ns; publishers stamp bodies with it and consumers subtract it (same process).
inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class RunState {
 public:
  // First failure wins; later ones are dropped (they are usually consequences).
  void fail(std::string what) {
    std::lock_guard lk(mu_);
    if (failed_.load(std::memory_order_relaxed)) return;
    error_ = std::move(what);
    failed_.store(true, std::memory_order_release);
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string error() const {
    std::lock_guard lk(mu_);
    return error_;
  }

  // Latency samples are recorded only while measuring (after warmup).
  std::atomic<bool> measuring{false};

 private:
  mutable std::mutex mu_;
  std::atomic<bool> failed_{false};
  std::string error_;
};

// Connection-level options sent in IDENTIFY (0 = leave the server default).
struct IdentifyOptions {
  std::string client_id = "nsqd-bench";
  int output_buffer_size = 0;
  int output_buffer_timeout_ms = 0;
  int heartbeat_interval_ms = 0;
  // Upgrades negotiated in IDENTIFY (feature_negotiation is sent when any is asked for).
  bool tls = false;
  bool snappy = false;
  bool deflate = false;
  int deflate_level = 6;
};

}  // namespace nsqbench
