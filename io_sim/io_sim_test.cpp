// Unit tests of the simulated world itself: if these are wrong, every simulation result is suspect.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io_sim/prng.h"
#include "io_sim/sim_dialer.h"
#include "io_sim/sim_logger.h"
#include "io_sim/sim_network.h"
#include "io_sim/trace.h"
#include "io_sim/virtual_clock.h"

namespace nsq::io_sim {
namespace {

constexpr std::int64_t kMs = 1'000'000;

// ------------------------------------------------------------------------------------------------ clock

TEST(VirtualClock, RunsByDeadlineThenSchedulingOrder) {
  VirtualClock clock;
  std::vector<int> order;
  const auto t0 = clock.now_ns();
  clock.schedule_at(t0 + 30, [&] { order.push_back(3); });
  clock.schedule_at(t0 + 10, [&] { order.push_back(1); });
  clock.schedule_at(t0 + 20, [&] { order.push_back(2); });
  clock.schedule_at(t0 + 10, [&] { order.push_back(11); });  // same deadline: after the first one
  EXPECT_EQ(clock.run_until_idle(100), 4u);
  EXPECT_EQ(order, (std::vector<int>{1, 11, 2, 3}));
  EXPECT_EQ(clock.now_ns(), t0 + 30);
}

TEST(VirtualClock, PastDeadlinesRunAfterTheCurrentHandlerAndAfterEarlierPosts) {
  VirtualClock clock;
  std::vector<int> order;
  clock.schedule_after(5, [&] {
    order.push_back(1);
    clock.post([&] { order.push_back(3); });
    clock.schedule_at(0, [&] { order.push_back(4); });  // in the past: clamped to now, queued behind the post
    order.push_back(2);                                  // schedule_at never runs fn inline
  });
  clock.run_until_idle(100);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(VirtualClock, CancelAndRunUntil) {
  VirtualClock clock;
  int fired = 0;
  const auto t0 = clock.now_ns();
  auto a = clock.schedule_after(10 * kMs, [&] { ++fired; });
  clock.schedule_after(20 * kMs, [&] { fired += 10; });
  clock.schedule_after(40 * kMs, [&] { fired += 100; });
  clock.cancel(a);
  clock.cancel(a);       // twice is fine
  clock.cancel(12345);   // unknown is ignored
  EXPECT_EQ(clock.run_until(t0 + 30 * kMs), 1u);
  EXPECT_EQ(fired, 10);
  EXPECT_EQ(clock.now_ns(), t0 + 30 * kMs);  // time moves to t even with nothing due there
  EXPECT_EQ(clock.pending(), 1u);
  EXPECT_EQ(clock.next_deadline(), t0 + 40 * kMs);
  clock.run_for(10 * kMs);
  EXPECT_EQ(fired, 110);
  EXPECT_FALSE(clock.run_next());
}

TEST(VirtualClock, MatchesAnOrderedMapUnderRandomScheduleCancelAndStall) {
  // The reference: pending timers in a map ordered by (deadline, scheduling order).
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Prng rng(seed);
    VirtualClock clock;
    std::map<std::pair<std::int64_t, int>, seam::TimerId> expected;
    std::vector<std::pair<seam::TimerId, std::pair<std::int64_t, int>>> live;  // may include fired ones
    std::vector<int> ran;
    std::vector<int> expected_ran;
    int next = 0;
    auto schedule = [&] {
      const int n = next++;
      const std::int64_t deadline = clock.now_ns() + rng.range(0, 50) * (rng.chance(1, 4) ? 0 : kMs);
      const std::int64_t effective = std::max(deadline, clock.now_ns());
      const seam::TimerId id = clock.schedule_at(deadline, [&ran, n] { ran.push_back(n); });
      expected.emplace(std::make_pair(effective, n), id);
      live.emplace_back(id, std::make_pair(effective, n));
    };
    for (int i = 0; i < 3000; ++i) {
      const auto op = rng.range(0, 9);
      if (op < 5) {
        schedule();
      } else if (op < 7 && !live.empty()) {
        const auto pick = static_cast<std::size_t>(rng.range(0, static_cast<std::int64_t>(live.size()) - 1));
        clock.cancel(live[pick].first);  // a fired one is ignored
        expected.erase(live[pick].second);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(pick));
      } else if (op < 9) {
        if (expected.empty()) {
          EXPECT_FALSE(clock.run_next());
          continue;
        }
        const auto first = expected.begin();
        expected_ran.push_back(first->first.second);
        const std::int64_t at = std::max(first->first.first, clock.now_ns());
        expected.erase(first);
        ASSERT_TRUE(clock.run_next());
        EXPECT_EQ(clock.now_ns(), at);
      } else {
        clock.stall(rng.range(0, 20) * kMs);  // overdue timers then run in deadline order, late
      }
      ASSERT_EQ(clock.pending(), expected.size());
      if (!expected.empty()) {
        EXPECT_EQ(clock.next_deadline(), expected.begin()->first.first);
      }
    }
    EXPECT_EQ(ran, expected_ran) << "seed " << seed;
  }
}

TEST(VirtualClock, RunUntilIdleStopsAtTheLimitForPeriodicTimers) {
  VirtualClock clock;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    clock.schedule_after(100 * kMs, tick);
  };
  clock.post(tick);
  EXPECT_EQ(clock.run_until_idle(50), 50u);
  EXPECT_EQ(ticks, 50);
}

TEST(VirtualClock, WallClockFollowsMonotonicAndCanJump) {
  VirtualClock clock;
  EXPECT_EQ(clock.wall_ns(), VirtualClock::kEpochWallNs);
  clock.run_for(1500 * kMs);
  EXPECT_EQ(clock.wall_ns(), VirtualClock::kEpochWallNs + 1500 * kMs);
  const auto mono = clock.now_ns();
  clock.jump_wall(-3000 * kMs);
  EXPECT_EQ(clock.wall_ns(), VirtualClock::kEpochWallNs - 1500 * kMs);
  EXPECT_EQ(clock.now_ns(), mono);
}

// ------------------------------------------------------------------------------------------------- prng

std::vector<std::uint64_t> draw(Prng& r, int n) {
  std::vector<std::uint64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(r.next_u64());
  return v;
}

TEST(Prng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Prng a(42), b(42), c(43);
  auto va = draw(a, 100);
  EXPECT_EQ(va, draw(b, 100));
  EXPECT_NE(va, draw(c, 100));
}

TEST(Prng, ForkDependsOnlyOnSeedAndTag) {
  Prng parent(7);
  Prng early = parent.fork("network");
  draw(parent, 1000);  // draws on the parent must not shift the child
  Prng late = parent.fork("network");
  EXPECT_EQ(draw(early, 50), draw(late, 50));
  Prng other = parent.fork("clients");
  Prng net = parent.fork("network");
  EXPECT_NE(draw(other, 50), draw(net, 50));
  Prng parent_copy(7);
  EXPECT_NE(draw(parent_copy, 50), draw(net, 50));
}

TEST(Prng, RangeAndChanceStayInBounds) {
  Prng r(1);
  bool saw_lo = false, saw_hi = false;
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    auto v = r.range(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    saw_lo |= v == -3;
    saw_hi |= v == 3;
    hits += r.chance(1, 4) ? 1 : 0;
  }
  EXPECT_TRUE(saw_lo && saw_hi);
  EXPECT_GT(hits, 2000);
  EXPECT_LT(hits, 3000);
}

// ---------------------------------------------------------------------------------------------- network

// A server that records everything, over a listener on a fresh network.
struct World {
  explicit World(std::uint64_t seed, NetworkConfig cfg = {}) : net(clock, Prng(seed), &trace, cfg) {
    listener = net.listen("127.0.0.1:4150");
    server_handler.read = [this](std::string_view d) {
      server_got += d;
      ++server_reads;
    };
    server_handler.drained = [this] { ++server_drained; };
    server_handler.closed = [this](std::string_view r) { server_closed = std::string(r); };
    listener->start([this](std::unique_ptr<seam::Connection> c) {
      server = std::move(c);
      server->start(&server_handler);
    });
    client = net.connect("127.0.0.1:4150");
    client_handler.read = [this](std::string_view d) { client_got += d; };
    client_handler.drained = [this] { ++client_drained; };
    client_handler.closed = [this](std::string_view r) { client_closed = std::string(r); };
    client->start(&client_handler);
  }
  VirtualClock clock;
  Trace trace;
  SimNetwork net;
  std::unique_ptr<SimListener> listener;
  std::unique_ptr<seam::Connection> server;
  std::unique_ptr<SimConnection> client;
  CallbackHandler server_handler, client_handler;
  std::string server_got, client_got;
  std::string server_closed = "-", client_closed = "-";
  int server_reads = 0, server_drained = 0, client_drained = 0;
};

std::string pattern(std::size_t n, int salt) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + salt) % 26);
  return s;
}

TEST(SimNetwork, DeliversInOrderInSeveralChunksAndDrains) {
  World w(1);
  std::string sent;
  for (int i = 0; i < 40; ++i) {
    std::string part = pattern(1000 + i, i);
    sent += part;
    w.client->write(std::move(part));
  }
  EXPECT_EQ(w.client_drained, 0);  // write never calls back inline
  w.clock.run_until_idle(100000);
  EXPECT_EQ(w.server_got, sent);
  EXPECT_GT(w.server_reads, 5);  // chunked, not one blob
  EXPECT_GE(w.client_drained, 1);
  EXPECT_EQ(w.client->pending_bytes(), 0u);
  ASSERT_TRUE(w.server);
  EXPECT_EQ(w.server->remote_address(), "10.0.0.2:40000");
  EXPECT_EQ(w.client->remote_address(), "127.0.0.1:4150");
}

TEST(SimNetwork, SameSeedSameChunkingDifferentSeedDifferent) {
  auto run = [](std::uint64_t seed) {
    World w(seed);
    w.client->write(pattern(20000, 3));
    w.clock.run_until_idle(100000);
    return w.trace.hash();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(SimNetwork, CloseFlushesThenPeerSeesEofAndCloserHearsNothing) {
  World w(2);
  w.clock.run_until_idle(1000);
  ASSERT_TRUE(w.server);
  w.server->write(pattern(3000, 1));
  w.server->close();
  w.server->close();  // idempotent
  w.client->write("late");  // arrives at a closed end: dropped
  w.clock.run_until_idle(100000);
  EXPECT_EQ(w.client_got, pattern(3000, 1));
  EXPECT_EQ(w.client_closed, "EOF");
  EXPECT_EQ(w.server_closed, "-");  // no callback after the owner's close
  EXPECT_EQ(w.server_drained, 0);
}

TEST(SimNetwork, HandleMayBeDestroyedInsideACallback) {
  World w(3);
  w.server_handler.read = [&](std::string_view d) {
    w.server_got += d;
    w.server->close();
    w.server.reset();  // the engine does this when a client misbehaves
  };
  w.client->write(pattern(10000, 2));
  w.clock.run_until_idle(100000);
  EXPECT_FALSE(w.server_got.empty());
  EXPECT_EQ(w.client_closed, "EOF");
  w.client.reset();
  w.clock.run_until_idle(1000);
  EXPECT_TRUE(w.net.connection_ids().empty());  // both ends gone: pipe collected
}

TEST(SimNetwork, ReaderThatStopsReadingBackPressuresTheWriter) {
  NetworkConfig cfg;
  cfg.window_bytes = 8192;
  World w(4, cfg);
  w.clock.run_until_idle(1000);
  ASSERT_TRUE(w.server);
  w.client->set_reading(false);
  w.server->write(pattern(50000, 4));
  w.clock.run_for(1000 * kMs);
  EXPECT_TRUE(w.client_got.empty());
  EXPECT_GT(w.server->pending_bytes(), 50000u - 8192u - 1u);
  EXPECT_EQ(w.server_drained, 0);
  w.client->set_reading(true);
  w.clock.run_for(1000 * kMs);
  EXPECT_EQ(w.client_got, pattern(50000, 4));
  EXPECT_EQ(w.server->pending_bytes(), 0u);
  EXPECT_GE(w.server_drained, 1);
}

TEST(SimNetwork, ClientClosesAfterWritingServerGetsDataThenEof) {
  World w(5);
  w.client->write("  V2");
  w.client->write("NOP\n");
  w.client->close();
  w.clock.run_until_idle(10000);
  EXPECT_EQ(w.server_got, "  V2NOP\n");
  EXPECT_EQ(w.server_closed, "EOF");
  EXPECT_EQ(w.client_closed, "-");
}

TEST(SimNetwork, ResetReachesBothEndsAndDropsData) {
  World w(6);
  w.clock.run_until_idle(1000);
  ASSERT_TRUE(w.server);
  w.server->write(pattern(100, 0));
  w.net.reset(w.client->id());
  w.clock.run_until_idle(10000);
  EXPECT_EQ(w.server_closed, "connection reset by peer");
  EXPECT_EQ(w.client_closed, "connection reset by peer");
  EXPECT_TRUE(w.client_got.empty());
}

TEST(SimNetwork, StallHoldsBytesUntilReleased) {
  World w(7);
  w.clock.run_until_idle(1000);
  w.net.set_stalled(w.client->id(), true);
  w.client->write("hello");
  w.clock.run_for(5000 * kMs);
  EXPECT_TRUE(w.server_got.empty());
  EXPECT_EQ(w.client->pending_bytes(), 5u);
  w.net.set_stalled(w.client->id(), false);
  w.clock.run_for(100 * kMs);
  EXPECT_EQ(w.server_got, "hello");
}

TEST(SimNetwork, NobodyListeningIsRefused) {
  VirtualClock clock;
  SimNetwork net(clock, Prng(1));
  auto c = net.connect("127.0.0.1:9999");
  CallbackHandler h;
  std::string closed;
  h.closed = [&](std::string_view r) { closed = std::string(r); };
  c->start(&h);
  clock.run_until_idle(100);
  EXPECT_EQ(closed, "connection refused");
}

TEST(SimNetwork, ListenOnPortZeroPicksAPort) {
  VirtualClock clock;
  SimNetwork net(clock, Prng(1));
  auto a = net.listen("127.0.0.1:0");
  auto b = net.listen("127.0.0.1:0");
  EXPECT_NE(a->local_address(), b->local_address());
  EXPECT_EQ(a->local_address().rfind("127.0.0.1:", 0), 0u);
}

TEST(SimLogger, LinesGoToTheTraceAndChangeTheHash) {
  VirtualClock clock;
  Trace trace;
  SimLogger logger(clock, trace, seam::LogLevel::info);
  EXPECT_FALSE(logger.enabled(seam::LogLevel::debug));
  const auto h0 = trace.hash();
  logger.log(seam::LogLevel::debug, "ignored");
  EXPECT_EQ(trace.hash(), h0);
  logger.log(seam::LogLevel::info, "TCP: new client(10.0.0.2:40000)");
  EXPECT_NE(trace.hash(), h0);
  ASSERT_EQ(trace.tail().size(), 1u);
  EXPECT_NE(trace.tail().back().find("new client"), std::string::npos);
}

TEST(Trace, HashDependsOnTheBytesNotOnHowTheyWereSplit) {
  auto hash_of = [](std::int64_t t, std::string_view kind, std::initializer_list<std::string_view> parts) {
    Trace trace(0);
    trace.record(t, kind, parts);
    return trace.hash();
  };
  const std::string body = "17.srv a chunk of more than eight bytes";
  const auto whole = hash_of(5, "net.data", {body});
  EXPECT_EQ(hash_of(5, "net.data", {"17", ".srv", " ", "a chunk of more than eight bytes"}), whole);
  EXPECT_EQ(hash_of(5, "net.data", {body.substr(0, 3), body.substr(3, 9), body.substr(12)}), whole);
  EXPECT_NE(hash_of(6, "net.data", {body}), whole);                          // time counts
  EXPECT_NE(hash_of(5, "net.dat", {"a" + body}), whole);                     // where kind ends counts
  EXPECT_NE(hash_of(5, "net.data", {body + "x"}), whole);                    // every byte counts
  EXPECT_NE(hash_of(5, "net.data", {std::string(body).replace(20, 1, "X")}), whole);
  Trace two(0);
  two.record(5, "a", "b");
  const auto after_one = two.hash();
  two.record(5, "a", "b");
  EXPECT_NE(two.hash(), after_one);  // events accumulate
  EXPECT_EQ(two.events(), 2u);
}

// ---------------------------------------------------------------------------------------------- dialer

TEST(SimDialer, ConnectsLaterThroughTheNetworkAndRefusesWithoutListener) {
  VirtualClock clock;
  Trace trace;
  SimNetwork net(clock, Prng(7), &trace);
  auto listener = net.listen("10.0.0.9:4160");
  std::unique_ptr<seam::Connection> server;
  CallbackHandler server_handler;
  std::string server_got;
  server_handler.read = [&](std::string_view d) { server_got += d; };
  listener->start([&](std::unique_ptr<seam::Connection> c) {
    server = std::move(c);
    server->start(&server_handler);
  });
  SimDialer dialer(net);
  std::unique_ptr<seam::Connection> conn;
  bool called = false;
  dialer.dial("10.0.0.9:4160", 1'000'000'000, [&](std::unique_ptr<seam::Connection> c, std::string error) {
    called = true;
    EXPECT_TRUE(error.empty());
    conn = std::move(c);
  });
  EXPECT_FALSE(called);  // never inside dial()
  clock.run_until_idle(1000);
  ASSERT_TRUE(called);
  ASSERT_TRUE(conn);
  CallbackHandler client_handler;
  conn->start(&client_handler);
  conn->write("  V1");
  clock.run_until_idle(100000);
  EXPECT_EQ(server_got, "  V1");

  std::unique_ptr<seam::Connection> refused;
  std::string closed_reason;
  CallbackHandler refused_handler;
  refused_handler.closed = [&](std::string_view r) { closed_reason = std::string(r); };
  dialer.dial("10.0.0.9:9999", 1'000'000'000, [&](std::unique_ptr<seam::Connection> c, std::string) {
    refused = std::move(c);
    refused->start(&refused_handler);
  });
  clock.run_until_idle(100000);
  EXPECT_EQ(closed_reason, "connection refused");
}

}  // namespace
}  // namespace nsq::io_sim
