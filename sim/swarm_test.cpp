// The swarm simulator on the real engine: a bounded seed sweep must pass, every run must be reproducible from
// its seed, the CLI's knobs must pin what they say, and the checkers must be able to convict.
#include <gtest/gtest.h>

#include <string>

#include "sim/seed_scale.h"
#include "sim/swarm/config.h"
#include "sim/swarm/swarm.h"

namespace nsq::sim::swarm {
namespace {

std::string explain(std::uint64_t seed, const RunResult& r) {
  std::string out = "seed " + std::to_string(seed) + ": " + r.summary + "\n";
  std::size_t n = 0;
  for (const auto& v : r.violations) {
    if (++n > 10) break;
    out += "  [" + v.checker + "] " + v.what + "\n";
  }
  out += "  replay: nsqd-sim " + Config::replay_args(seed, {}) + "\n";
  return out;
}

// 200 seeds (scaled by NSQD_SEED_SCALE), each drawing its own workload size, behaviour mix and fault mix.
TEST(Swarm, TwoHundredSeedsPass) {
  const std::uint64_t seeds = scaled_seeds(200);
  std::uint64_t published = 0, deliveries = 0, faults = 0, admin = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const RunResult r = run_swarm(draw_config(seed, {}));
    ASSERT_TRUE(r.passed) << explain(seed, r);
    published += r.published;
    deliveries += r.deliveries;
    faults += r.faults_injected;
    admin += r.admin_actions;
  }
  // The sweep must actually exercise things.
  EXPECT_GT(published, 20'000u * seeds / 200);
  EXPECT_GT(deliveries, published);
  EXPECT_GT(faults, 500u * seeds / 200);
  EXPECT_GT(admin, 100u * seeds / 200);
}

// Persistence storms: clean restarts, crashes (unsynced data lost or torn), disk faults and nsqlookupd
// partitions in every run, in both durability modes; the model accepts exactly the losses README's persistence
// table documents, and after healing nsqlookupd's registrations equal nsqd's topics and channels.
TEST(Swarm, RestartCrashAndDiskFaultSeedsPass) {
  std::uint64_t restarts = 0, crashes = 0, disk_faults = 0;
  for (const bool durable : {false, true}) {
    Overrides o;
    o.faults = kFaultRestart | kFaultCrash | kFaultDisk | kFaultReset | kFaultLookupd;
    o.durable = durable;
    for (std::uint64_t seed = 1; seed <= scaled_seeds(60); ++seed) {
      const RunResult r = run_swarm(draw_config(seed, o));
      ASSERT_TRUE(r.passed) << explain(seed, r) << "  (with --faults restart,crash,disk,reset,lookupd --durable "
                            << (durable ? "on" : "off") << ")\n";
      restarts += r.restarts;
      crashes += r.crashes;
      disk_faults += r.disk_faults;
    }
  }
  EXPECT_GT(restarts, 30u * scaled_seeds(60) / 60);
  EXPECT_GT(crashes, 30u * scaled_seeds(60) / 60);
  EXPECT_GT(disk_faults, 30u * scaled_seeds(60) / 60);
}

// --check-determinism on 20 seeds (scaled): the same seed gives the same trace, event for event.
TEST(Swarm, SameSeedSameTrace) {
  for (std::uint64_t seed = 1000; seed < 1000 + scaled_seeds(20); ++seed) {
    const Config c = draw_config(seed, {});
    const RunResult a = run_swarm(c);
    const RunResult b = run_swarm(c);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.trace_events, b.trace_events) << "seed " << seed;
    EXPECT_EQ(a.steps, b.steps) << "seed " << seed;
    EXPECT_EQ(a.summary, b.summary) << "seed " << seed;
  }
}

TEST(Swarm, DifferentSeedsDifferentRuns) {
  EXPECT_NE(run_swarm(draw_config(5, {})).trace_hash, run_swarm(draw_config(6, {})).trace_hash);
}

// Pinning one knob leaves every other knob as the seed drew it (what makes shrunk runs comparable).
TEST(Swarm, OverridesPinOnlyTheirKnob) {
  const Config base = draw_config(77, {});
  Overrides o;
  o.clients = 4;
  o.faults = 0u;
  const Config c = draw_config(77, o);
  EXPECT_EQ(c.clients, 4);
  EXPECT_EQ(c.faults, 0u);
  EXPECT_EQ(c.duration_ms, base.duration_ms);
  EXPECT_EQ(c.messages, base.messages);
  EXPECT_EQ(c.msg_timeout_ms, base.msg_timeout_ms);
  EXPECT_EQ(c.p_ignore, base.p_ignore);
  EXPECT_EQ(Config::replay_args(77, o), "--seed 77 --clients 4 --faults none");
}

TEST(Swarm, FaultListsRoundTrip) {
  std::uint32_t mask = 0;
  ASSERT_TRUE(parse_faults("reset,partition,wall-jump", mask));
  EXPECT_EQ(mask, kFaultReset | kFaultPartition | kFaultWallJump);
  EXPECT_EQ(faults_string(mask), "reset,partition,wall-jump");
  ASSERT_TRUE(parse_faults("restart,crash,disk", mask));
  EXPECT_EQ(mask, kFaultRestart | kFaultCrash | kFaultDisk);
  EXPECT_FALSE(parse_faults("reset,bogus", mask));
  ASSERT_TRUE(parse_faults("all", mask));
  EXPECT_EQ(mask, static_cast<std::uint32_t>(kFaultAll));
}

// A topic created at runtime holds its messages until nsqlookupd's channel query is answered; two SUBs created
// two channels meanwhile (a partition had queued them with the publishes) and the model had handed the backlog
// to the first only (stats: "channel t1/c1 message_count 5, model 0" at 0.76 s). Model::drain_topic now waits
// for the topic to start, as nsqd does.
TEST(Swarm, HeldTopicBacklogGoesToEveryChannel) {
  Overrides o;
  o.faults = kFaultAll;
  const RunResult r = run_swarm(draw_config(2350, o));
  EXPECT_TRUE(r.passed) << explain(2350, r) << "  (with --faults all)\n";
}

// After a crash nsqd may hold two records of one copy, each counting its own deliveries: here 1, 2, 3 on one,
// then (after a clean restart) 1 on the older one and FIN, then 4 on the other. The attempts checker bounded
// the next count by the latest delivery's ("attempts 4, expected 2"); it now allows up to the highest seen + 2.
TEST(Swarm, TwoRecordsAfterACrashKeepTheirOwnAttempts) {
  Overrides o;
  o.faults = kFaultAll;
  const RunResult r = run_swarm(draw_config(1684, o));
  EXPECT_TRUE(r.passed) << explain(1684, r) << "  (with --faults all)\n";
}

// Seeds that once found engine bugs: message IDs repeated after the wall clock stepped back across a crash
// (933, 1112, 1598: fixed by the ID lease), and a crash replay's duplicate of a message in flight counted twice
// in its consumer's in-flight count, blocking it for good (9967). Their runs change with the code, so this
// guards the neighbourhood rather than the exact schedule.
TEST(Swarm, SeedsThatFoundEngineBugsPass) {
  for (const std::uint64_t seed : {933u, 1112u, 1598u, 9967u}) {
    const RunResult r = run_swarm(draw_config(seed, {}));
    EXPECT_TRUE(r.passed) << explain(seed, r);
  }
}

// A storm: every fault kind, admin actions, a hundred clients.
TEST(Swarm, StormSeedsPass) {
  Overrides o;
  o.clients = 100;
  o.faults = kFaultAll;
  o.admin = true;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const RunResult r = run_swarm(draw_config(seed, o));
    EXPECT_TRUE(r.passed) << explain(seed, r);
    EXPECT_GT(r.faults_injected, 0u);
  }
}

}  // namespace
}  // namespace nsq::sim::swarm
