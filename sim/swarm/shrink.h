// Shrinking a failing swarm run: the same seed replayed with knobs pinned smaller (fewer clients, topics,
// messages, a shorter safety phase, fewer engine steps, fault kinds and admin actions switched off), keeping
// each reduction only while the run still breaks the same invariant (the same first checker). Greedy passes
// until nothing shrinks further or the run budget is spent. The result is a command line that replays the
// shrunk run exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sim/swarm/config.h"
#include "sim/swarm/swarm.h"

namespace nsq::sim::swarm {

struct ShrinkResult {
  Overrides overrides;        // of the smallest failing run found
  RunResult run;              // that run
  Config config;
  int attempts = 0;           // runs tried
  int accepted = 0;           // reductions kept
};

// original: the failing run (its first_checker is the target). progress, if set, is told about each accepted
// reduction.
ShrinkResult shrink(std::uint64_t seed, Overrides start, const RunResult& original, int max_runs = 150,
                    const std::function<void(const std::string&)>& progress = {});

// A size measure for reports: clients + published messages + engine steps / 100 + fault kinds + admin.
std::string size_line(const Config& c, const RunResult& r);

}  // namespace nsq::sim::swarm
