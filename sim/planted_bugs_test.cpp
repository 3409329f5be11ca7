// Proof that the simulator finds bugs: each deliberately planted engine bug (engine/planted_bugs.h) is switched
// on, the swarm runs seeds 1, 2, ... and must fail within a stated number of seeds, by the checker that owns
// that invariant (or, where two invariants both break, one of them); shrinking must then produce a smaller run
// that still breaks the same invariant. The switches are restored afterwards.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <set>
#include <string>

#include "engine/planted_bugs.h"
#include "sim/swarm/config.h"
#include "sim/swarm/shrink.h"
#include "sim/swarm/swarm.h"

namespace nsq::sim::swarm {
namespace {

struct Case {
  const char* name;
  bool planted::Bugs::*flag;
  std::set<std::string> checkers;  // acceptable first violations
  std::uint64_t within_seeds;      // stated bound: the first failing seed is at most this
};

class PlantedBug : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override { planted::bugs = planted::Bugs{}; }
};

TEST_P(PlantedBug, CaughtAndShrunk) {
  const Case& c = GetParam();
  // Off: the same seeds pass (the bug, not the seeds, is what fails).
  ASSERT_TRUE(run_swarm(draw_config(1, {})).passed);
  planted::bugs.*(c.flag) = true;
  std::uint64_t seed = 0;
  RunResult failing;
  for (std::uint64_t s = 1; s <= c.within_seeds; ++s) {
    RunResult r = run_swarm(draw_config(s, {}));
    if (!r.passed) {
      seed = s;
      failing = std::move(r);
      break;
    }
  }
  ASSERT_NE(seed, 0u) << c.name << " not caught within " << c.within_seeds << " seeds";
  EXPECT_TRUE(c.checkers.count(failing.first_checker) != 0)
      << c.name << " caught by " << failing.first_checker << ": " << failing.violations.front().what;

  const Config original = draw_config(seed, {});
  const ShrinkResult s = shrink(seed, {}, failing, 60);
  ASSERT_FALSE(s.run.passed);
  EXPECT_EQ(s.run.first_checker, failing.first_checker);
  EXPECT_GT(s.accepted, 0) << "nothing could be shrunk";
  // Smaller by the measures the shrinker works on, never larger.
  EXPECT_LE(s.config.clients, original.clients);
  EXPECT_LE(s.run.steps, failing.steps);
  EXPECT_LT(s.run.steps + s.run.published + static_cast<std::uint64_t>(s.config.clients),
            failing.steps + failing.published + static_cast<std::uint64_t>(original.clients));
  std::printf("%-28s caught at seed %llu by [%s]; shrunk in %d runs from %s\n%30s to %s\n%30s replay: nsqd-sim %s --plant %s\n",
              c.name, static_cast<unsigned long long>(seed), failing.first_checker.c_str(), s.attempts,
              size_line(original, failing).c_str(), "", size_line(s.config, s.run).c_str(), "",
              Config::replay_args(seed, s.overrides).c_str(), c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Bugs, PlantedBug,
    ::testing::Values(Case{"timeout-not-requeued", &planted::Bugs::timeout_not_requeued, {"stats", "liveness"}, 5},
                      Case{"fin-double-count", &planted::Bugs::fin_double_count, {"rdy", "stats"}, 5},
                      Case{"req-loses-attempts", &planted::Bugs::req_loses_attempts, {"attempts"}, 5},
                      Case{"deferred-early", &planted::Bugs::deferred_early, {"deferred", "stats"}, 5},
                      Case{"rdy-off-by-one", &planted::Bugs::rdy_off_by_one, {"rdy"}, 5},
                      Case{"empty-keeps-client-in-flight", &planted::Bugs::empty_keeps_client_in_flight,
                           {"stats", "liveness", "rdy"}, 40},
                      // Persistence: only a crash (durable mode) or a clean restart shows these.
                      Case{"sync-skips-fsync", &planted::Bugs::sync_skips_fsync, {"liveness", "stats"}, 25},
                      Case{"close-drops-timing", &planted::Bugs::close_drops_timing, {"deferred", "stats"}, 25}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

}  // namespace
}  // namespace nsq::sim::swarm
