// "Any seed passes": RapidCheck draws seeds (and small knob overrides) and the swarm simulator must pass on
// each, with the same trace when run twice. A failure prints the seed; replay it with
//   nsqd-sim --seed S [--clients N] [--duration D]   (as printed)
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "sim/swarm/config.h"
#include "sim/swarm/swarm.h"

namespace nsq::sim::swarm {
namespace {

RC_GTEST_PROP(SimSeeds, AnySeedPasses, ()) {
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000'000);
  Overrides o;
  // Keep each case small: RapidCheck runs many.
  o.clients = *rc::gen::inRange(2, 12);
  o.duration_ms = *rc::gen::inRange<std::int64_t>(500, 4000);
  const Config c = draw_config(seed, o);
  const RunResult r = run_swarm(c);
  RC_LOG() << "replay: nsqd-sim " << Config::replay_args(seed, o) << "\n" << r.summary << "\n";
  for (const auto& v : r.violations) RC_LOG() << "[" << v.checker << "] " << v.what << "\n";
  RC_ASSERT(r.passed);
}

RC_GTEST_PROP(SimSeeds, SameSeedSameTrace, ()) {
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000'000);
  Overrides o;
  o.clients = *rc::gen::inRange(2, 8);
  o.duration_ms = 1500;
  const Config c = draw_config(seed, o);
  RC_ASSERT(run_swarm(c).trace_hash == run_swarm(c).trace_hash);
}

}  // namespace
}  // namespace nsq::sim::swarm
