// AsioClock: deadline order, schedule order for ties, never inline, cancel.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <vector>

#include "io_real/asio_clock.h"
#include "io_real/os_random.h"

namespace nsq::io_real {
namespace {

constexpr std::int64_t kMs = 1'000'000;

TEST(AsioClock, RunsInDeadlineThenScheduleOrder) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::vector<int> order;
  const std::int64_t base = clock.now_ns();
  clock.schedule_at(base + 20 * kMs, [&] { order.push_back(3); });
  clock.schedule_at(base + 10 * kMs, [&] { order.push_back(1); });
  clock.schedule_at(base + 10 * kMs, [&] { order.push_back(2); });  // same deadline: after the first
  clock.schedule_at(base + 30 * kMs, [&] { order.push_back(4); });
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_GE(clock.now_ns(), base + 30 * kMs);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(AsioClock, PastDeadlineRunsAfterCurrentHandlerNotInline) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::vector<int> order;
  clock.post([&] {
    order.push_back(1);
    clock.post([&] { order.push_back(3); });
    clock.schedule_at(0, [&] { order.push_back(4); });  // long past: earlier deadline than the post above
    order.push_back(2);
  });
  EXPECT_TRUE(order.empty());  // nothing ran inside post()
  io.run();
  // Neither inner timer ran inside the handler; among themselves they go by deadline.
  EXPECT_EQ(order, (std::vector<int>{1, 2, 4, 3}));
}

TEST(AsioClock, PostsRunInScheduleOrder) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) clock.post([&order, i] { order.push_back(i); });
  io.run();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(AsioClock, CancelledTimersNeverRun) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::vector<int> order;
  const auto a = clock.schedule_after(5 * kMs, [&] { order.push_back(1); });
  clock.schedule_after(10 * kMs, [&] { order.push_back(2); });
  const auto c = clock.schedule_after(15 * kMs, [&] { order.push_back(3); });
  EXPECT_NE(a, seam::kNoTimer);
  clock.cancel(a);
  clock.cancel(a);       // twice: ignored
  clock.cancel(424242);  // unknown: ignored
  clock.schedule_after(1 * kMs, [&] { clock.cancel(c); });  // cancel from inside a timer
  io.run();
  EXPECT_EQ(order, (std::vector<int>{2}));
}

TEST(AsioClock, EarlierTimerScheduledLaterFiresFirst) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::vector<int> order;
  clock.schedule_after(200 * kMs, [&] { order.push_back(2); });
  clock.schedule_after(5 * kMs, [&] { order.push_back(1); });  // re-arms the single Asio timer earlier
  const auto start = clock.now_ns();
  while (order.empty()) io.run_one();  // the first timer to fire is the 5 ms one, not the 200 ms one
  EXPECT_EQ(order, (std::vector<int>{1}));
  EXPECT_LT(clock.now_ns() - start, 150 * kMs);
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(AsioClock, ManyCancelledTimersAreCompacted) {
  boost::asio::io_context io;
  AsioClock clock(io);
  int fired = 0;
  std::vector<seam::TimerId> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(clock.schedule_after(3600 * 1000 * kMs, [&] { ++fired; }));
  for (auto id : ids) clock.cancel(id);
  EXPECT_EQ(clock.pending(), 0u);
  io.run();  // nothing armed any more: returns at once
  EXPECT_EQ(fired, 0);
}

TEST(AsioClock, IdleAfterCancellingEverythingEvenBelowTheTop) {
  boost::asio::io_context io;
  AsioClock clock(io);
  const auto near = clock.schedule_after(1 * kMs, [] {});
  const auto far = clock.schedule_after(3600 * 1000 * kMs, [] {});
  clock.cancel(far);   // not at the top of the heap
  clock.cancel(near);
  const auto start = std::chrono::steady_clock::now();
  io.run();  // must not wait for either deadline
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(OsRandom, SeededSequencesRepeatAndUniformStaysInRange) {
  OsRandom a(42), b(42), os;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  for (int i = 0; i < 1000; ++i) EXPECT_LT(os.uniform(7), 7u);
}

}  // namespace
}  // namespace nsq::io_real
