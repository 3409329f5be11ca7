// The swarm scenario: one seed -> one Config (sim/swarm/config.h) -> one run of the real engine among
// simulated publishers (TCP PUB/MPUB/DPUB and HTTP /pub, /mpub through HttpApi::handle), consumers (changing
// RDY, FIN, REQ with and without delay, TOUCH, ignoring messages until they time out, CLS, hanging up
// mid-stream, stopping reading), admin actions through the engine API (pause, unpause, empty, delete, create of
// topics and channels) and network/clock faults, all on the virtual clock.
//
// Two phases, as TigerBeetle's VOPR: a safety phase with faults, where every invariant is checked after every
// engine step; then a liveness phase that heals every fault, unpauses everything and has every consumer come
// back and FIN whatever it gets, and must end with everything drained.
//
// Persistence: the engine runs on io_sim::SimFileSystem (data path /data), in default or --durable mode as the
// seed draws, and chaos_tick also restarts it cleanly (shutdown + close + new NSQD + load_metadata), crashes it
// (engine dropped, unsynced file data lost or torn) and opens disk fault windows (write errors, ENOSPC, fsync
// failures). The model (Model::restarted) keeps exactly what the mode documents and puts the rest in limbo.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/swarm/config.h"
#include "sim/swarm/model.h"

namespace nsq::sim::swarm {

struct RunOptions {
  bool echo_trace = false;          // --trace: every event to stderr as it happens
  std::size_t keep_trace_lines = 0; // tail kept for a failure report
  std::uint64_t max_steps = 30'000'000;  // runaway guard over both phases
  std::int64_t liveness_limit_ms = 60'000;
};

struct RunResult {
  bool passed = false;
  std::vector<Violation> violations;
  std::string first_checker;  // the invariant that broke first ("" when passed)
  std::uint64_t trace_hash = 0;
  std::uint64_t trace_events = 0;
  std::uint64_t steps = 0;          // engine events (timers run)
  std::uint64_t model_events = 0;
  std::int64_t virtual_ns = 0;
  std::uint64_t published = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t faults_injected = 0;
  std::uint64_t admin_actions = 0;
  std::uint64_t restarts = 0;     // clean
  std::uint64_t crashes = 0;
  std::uint64_t disk_faults = 0;  // fault windows
  double wall_seconds = 0;
  std::vector<std::string> trace_tail;
  std::string summary;
};

RunResult run_swarm(const Config& config, const RunOptions& options = {});

}  // namespace nsq::sim::swarm
