// nsqd-bench: orchestration of one run (pub, sub or pubsub) and its figures.
#pragma once

#include <cstdint>
#include <string>

#include "histogram.h"
#include "run_state.h"

namespace nsqbench {

enum class Mode { kPub, kSub, kPubSub };

struct BenchOptions {
  Mode mode = Mode::kPub;
  std::string address = "127.0.0.1:4150";
  std::string topic = "bench";
  std::string channel = "ch";
  int connections = 2;       // publishers (pub, pubsub) or consumers (sub)
  int sub_connections = 0;   // pubsub consumers; 0 = same as connections
  std::size_t batch_size = 200;
  std::size_t size = 200;
  std::size_t max_in_flight = 4;
  double rate = 0;           // total msgs/s across publishers, 0 = unlimited
  bool stamp = false;        // pub: stamp bodies (pubsub always does)
  bool latency = false;      // sub: record latency from stamped bodies (pubsub always does)
  std::uint64_t rdy = 2500;
  double duration_s = 10;
  double warmup_s = 0;
  double idle_timeout_s = 0; // sub: stop after this long without messages (0 = off)
  double drain_timeout_s = 10;
  int threads = 0;           // io threads; 0 = one per connection
  IdentifyOptions identify;
};

struct SideFigures {
  std::uint64_t msgs = 0;       // counted inside the measurement window
  std::uint64_t total = 0;      // over the whole run (warmup and drain included)
  double seconds = 0;
  double msgs_per_s() const { return seconds > 0 ? static_cast<double>(msgs) / seconds : 0; }
  double mb_per_s(std::size_t msg_size) const {  // MiB/s of message bodies, as Go's bench tools
    return seconds > 0 ? static_cast<double>(msgs) * static_cast<double>(msg_size) / seconds / 1048576.0 : 0;
  }
};

struct BenchResult {
  SideFigures pub;
  SideFigures sub;
  LatencyHistogram latency;     // ns
  std::uint64_t bad_stamps = 0;
  bool drained = true;          // pubsub: consumers received everything that was acked
};

// Runs the benchmark. Throws std::runtime_error with the protocol/connection error text on failure.
BenchResult run_bench(const BenchOptions& opts);

std::string format_text(const BenchOptions& opts, const BenchResult& r);
std::string format_json(const BenchOptions& opts, const BenchResult& r);

}  // namespace nsqbench
