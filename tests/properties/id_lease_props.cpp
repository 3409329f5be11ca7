// Property: message IDs never repeat within a topic across restarts (clean or crash) and wall-clock steps in
// either direction, because every run starts its IDs above the lease left on disk (engine/id_lease.h). The only
// admitted exception is the one the engine warns about: IDs handed out past a lease whose renewal was not on
// disk yet (the wall clock leapt ahead and thousands of IDs followed before the write landed).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/nsqd.h"
#include "engine/planted_bugs.h"
#include "engine/topic.h"
#include "io_sim/sim_file_system.h"
#include "io_sim/virtual_clock.h"

namespace {

constexpr std::int64_t kMs = 1'000'000;

class CountingRandom final : public nsq::seam::Random {
 public:
  std::uint64_t next_u64() override { return ++n_ * 0x9E3779B97F4A7C15ULL; }

 private:
  std::uint64_t n_ = 0;
};

class RecordingLogger final : public nsq::seam::Logger {
 public:
  bool enabled(nsq::seam::LogLevel level) const override { return level >= nsq::seam::LogLevel::warn; }
  void log(nsq::seam::LogLevel, std::string_view line) override {
    if (line.find("passed the durable ID lease") != std::string_view::npos) overrun = true;
    if (last.size() < 50) last.emplace_back(line);
  }
  bool overrun = false;
  std::vector<std::string> last;
};

struct Step {
  int kind = 0;  // 0 publish, 1 advance time, 2 step the wall clock, 3 crash, 4 clean restart
  std::int64_t amount = 0;
  int topic = 0;
};

void showValue(const Step& s, std::ostream& os) {
  static const char* names[] = {"publish", "advance", "wall-step", "crash", "clean-restart"};
  os << names[s.kind] << "(" << s.amount << ", t" << s.topic << ")";
}

rc::Gen<Step> gen_step() {
  using rc::gen::inRange;
  return rc::gen::weightedOneOf<Step>({
      {6, rc::gen::apply([](std::int64_t n, int t) { return Step{0, n, t}; }, inRange<std::int64_t>(1, 3000),
                         inRange(0, 3))},
      {4, rc::gen::map(inRange<std::int64_t>(0, 5000), [](std::int64_t ms) { return Step{1, ms, 0}; })},
      {3, rc::gen::map(inRange<std::int64_t>(-120'000, 120'000), [](std::int64_t ms) { return Step{2, ms, 0}; })},
      {2, rc::gen::just(Step{3, 0, 0})},
      {1, rc::gen::just(Step{4, 0, 0})},
  });
}

// One nsqd life after another on the same simulated disk and clock.
class Host {
 public:
  Host() { start(); }

  std::string next_id(int topic) {
    return std::string(nsqd_->get_topic("t" + std::to_string(topic)).new_message("x")->id.view());
  }
  void advance(std::int64_t ns) { clock_.run_for(ns); }
  void step_wall(std::int64_t ns) { clock_.jump_wall(ns); }
  std::int64_t wall_ns() const { return clock_.wall_ns(); }
  void crash() {
    nsqd_.reset();
    fs_.crash();
    start();
  }
  void clean_restart() {
    bool closed = false;
    nsqd_->shutdown();
    nsqd_->close([&] { closed = true; });
    while (!closed && clock_.run_next()) {
    }
    RC_ASSERT(closed);
    nsqd_.reset();
    start();
  }
  bool overrun() const { return logger_.overrun; }
  nsq::io_sim::SimFileSystem& fs() { return fs_; }
  nsq::NSQD& nsqd() { return *nsqd_; }

 private:
  // As the daemon's main: load, then write nsqd.dat and the lease before serving.
  void start() {
    nsq::Options o;
    o.node_id = 7;
    o.data_path = "/data";
    nsqd_ = std::make_unique<nsq::NSQD>(o, nsq::Seams{clock_, random_, logger_, &fs_});
    const std::string err = nsqd_->load_metadata();
    RC_ASSERT(err.empty());
    std::optional<nsq::seam::IoResult> persisted;
    nsqd_->persist_metadata_now([&](const nsq::seam::IoResult& r) { persisted = r; });
    while (!persisted && clock_.run_next()) {
    }
    RC_ASSERT(persisted.has_value());
    RC_ASSERT(persisted->ok());
  }

  nsq::io_sim::VirtualClock clock_;
  nsq::io_sim::SimFileSystem fs_{clock_};
  CountingRandom random_;
  RecordingLogger logger_;
  std::unique_ptr<nsq::NSQD> nsqd_;
};

}  // namespace

RC_GTEST_PROP(IdLease, IdsNeverRepeatAcrossRestartsAndWallClockSteps, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(gen_step());
  Host host;
  std::map<int, std::string> highest;  // per topic: IDs are 16 hex chars, so string order is numeric order
  for (const Step& s : steps) {
    switch (s.kind) {
      case 0:
        for (std::int64_t i = 0; i < s.amount; ++i) {
          const std::string id = host.next_id(s.topic);
          std::string& top = highest[s.topic];
          if (!(top < id) && !host.overrun()) {
            RC_FAIL("topic t" + std::to_string(s.topic) + " ID " + id + " not above " + top +
                    " (lease " + std::to_string(host.nsqd().id_lease().durable()) + ", floor " +
                    std::to_string(host.nsqd().id_lease().floor()) + ")");
          }
          if (top < id) top = id;
        }
        break;
      case 1:
        host.advance(s.amount * kMs);
        break;
      case 2:
        host.step_wall(s.amount * kMs);
        break;
      case 3:
        host.crash();
        break;
      default:
        host.clean_restart();
        break;
    }
  }
}

// The property above can fail: without the lease a wall clock set back across a crash repeats IDs.
TEST(IdLease, WithoutTheLeaseIdsRepeatAfterTheClockStepsBack) {
  for (bool planted : {false, true}) {
    nsq::planted::bugs.ids_ignore_lease = planted;
    Host host;
    const std::int64_t wall = host.wall_ns();
    const std::string first = host.next_id(0);
    host.advance(10 * kMs);
    host.crash();
    host.step_wall(wall - host.wall_ns());  // set back to the instant of `first`
    const std::string again = host.next_id(0);
    nsq::planted::bugs.ids_ignore_lease = false;
    if (planted) {
      EXPECT_EQ(again, first) << "the planted bug should reuse the old ID";
    } else {
      EXPECT_GT(again, first);
    }
  }
}

TEST(IdLease, CorruptLeaseStopsStartUp) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  CountingRandom random;
  RecordingLogger logger;
  bool written = false;
  fs.write_file_atomic("/data/nsqd-cpp.id-lease.json", "{\"version\":1,\"tick\":\"soon\"}",
                       [&](nsq::seam::IoResult r) { written = r.ok(); });
  clock.run_for(10 * kMs);
  ASSERT_TRUE(written);
  nsq::Options o;
  o.data_path = "/data";
  nsq::NSQD nsqd(o, nsq::Seams{clock, random, logger, &fs});
  EXPECT_EQ(nsqd.load_metadata(),
            "failed to parse message ID lease in /data/nsqd-cpp.id-lease.json - want {\"version\":1,\"tick\":N}");
}

TEST(IdLease, StartUpWaitsForTheLeaseAndReportsItsFailure) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  CountingRandom random;
  RecordingLogger logger;
  nsq::Options o;
  o.data_path = "/data";
  nsq::NSQD nsqd(o, nsq::Seams{clock, random, logger, &fs});
  ASSERT_EQ(nsqd.load_metadata(), "");
  fs.write_error = EIO;
  std::optional<nsq::seam::IoResult> persisted;
  nsqd.persist_metadata_now([&](const nsq::seam::IoResult& r) { persisted = r; });
  clock.run_for(100 * kMs);
  ASSERT_TRUE(persisted.has_value());
  EXPECT_FALSE(persisted->ok());
  // Healed, the lease is renewed in the background (with back-off) and lands on disk.
  fs.write_error = 0;
  clock.run_for(6'000 * kMs);
  EXPECT_GT(nsqd.id_lease().durable(), 0);
  std::string text;
  ASSERT_TRUE(fs.read_file("/data/nsqd-cpp.id-lease.json", text).ok());
  EXPECT_NE(text.find("\"version\":1,\"tick\":"), std::string::npos) << text;
}
