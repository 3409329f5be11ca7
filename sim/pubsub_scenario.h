// The first engine-in-simulation scenario: publishers (PUB, MPUB, DPUB) and two channels of consumers that
// FIN, REQ (with and without delay), TOUCH, ignore messages until they time out, disconnect mid-stream,
// reconnect, and go silent until nsqd drops them. The outcome is judged by DeliveryChecker and by nsqd's own
// stats once everything is finished. Everything is driven by one seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nsq::sim {

struct ScenarioOptions {
  std::uint64_t seed = 1;
  std::uint64_t max_timers = 5'000'000;  // event budget: running out is a failure (livelock or runaway)
  bool echo = false;                     // print the trace and engine log to stderr as it happens
};

struct ScenarioResult {
  bool passed = false;
  std::uint64_t trace_hash = 0;
  std::uint64_t trace_events = 0;
  std::uint64_t timers_run = 0;
  std::int64_t virtual_ns = 0;  // simulated time from start to verdict
  std::size_t published = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t redeliveries = 0;
  std::vector<std::string> failures;
  std::vector<std::string> trace_tail;  // last trace lines, for diagnosing a failure
  std::string summary;                  // one line of counters
};

ScenarioResult run_pubsub_scenario(const ScenarioOptions& options);

}  // namespace nsq::sim
