// The engine when the whole process stalls (SIGSTOP, a VM pause, swapping, a long GC in a neighbour): on resume
// every overdue timer runs late, at once. Timers still due in their deadline order must keep their meaning.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/channel.h"
#include "engine/topic.h"
#include "sim/sim_client.h"
#include "sim/sim_world.h"
#include "sim/wire.h"

namespace nsq::sim {
namespace {

constexpr std::int64_t kMs = kMillisecond;

// Every message frame nsqd writes, in write order, with the connection it went to.
class MessageWrites final : public io_sim::ServerTap {
 public:
  struct Write {
    std::uint64_t conn;
    std::uint16_t attempts;
    std::string body;
  };
  void server_read(std::uint64_t, std::string_view) override {}
  void server_write(std::uint64_t conn, std::string_view bytes) override {
    wire::FrameParser& p = parsers_[conn];
    p.feed(bytes);
    while (auto f = p.next()) {
      if (f->type != wire::kFrameMessage) continue;
      if (auto m = wire::decode_message(f->data)) writes.push_back({conn, m->attempts, m->body});
    }
  }
  std::vector<Write> writes;

 private:
  std::map<std::uint64_t, wire::FrameParser> parsers_;
};

// A delivery whose frame is still in the consumer's output buffer when the process stalls past the message
// timeout: on resume the queue scan (due first) times the message out and redelivers it, and the consumer's
// flush (due one output-buffer timeout after the delivery, long before the message timeout) runs only after.
// The first delivery must reach the wire before its redelivery, as the deadlines order them; before the fix the
// redelivery with attempts 2 went out first (found by nsqd-sim --seed 2111 --faults clock-stall).
TEST(ClockStall, BufferedDeliveryIsWrittenBeforeItsRedelivery) {
  Options o;
  o.msg_timeout = 1 * kSecond;  // output_buffer_timeout stays nsqd's 250 ms, the queue scan interval 100 ms
  SimWorld w(1, o);
  MessageWrites tap;
  w.net.set_server_tap(&tap);
  std::uint64_t budget = 1'000'000;
  SimClient a("a", w.net), b("b", w.net);

  // Both ready for many messages, so a delivery does not close a window (that would flush at once).
  a.connect(w.tcp_address);
  a.sub("t", "ch");
  a.rdy(10);
  ASSERT_TRUE(w.run_until(w.clock.now_ns() + 100 * kMs, budget));
  b.connect(w.tcp_address);
  b.sub("t", "ch");
  b.rdy(10);
  ASSERT_TRUE(w.run_until(w.clock.now_ns() + 100 * kMs, budget));

  // A delivery outside any read batch (an unpause) waits in the consumer's buffer for its flush timer.
  Channel* ch = w.nsqd->find_topic("t")->find_channel("ch");
  ASSERT_NE(ch, nullptr);
  ch->pause();
  const std::string_view body[] = {"m"};
  ASSERT_EQ(w.nsqd->publish("t", body, 0), "");
  ch->unpause();
  ASSERT_EQ(ch->in_flight_count(), 1u);
  ASSERT_TRUE(tap.writes.empty());

  // Stall for twice the message timeout before the flush timer (250 ms) or the next scan (100 ms) ran.
  w.clock.stall(2 * kSecond);
  ASSERT_TRUE(w.run_until(w.clock.now_ns() + 50 * kMs, budget));

  ASSERT_GE(tap.writes.size(), 2u);
  EXPECT_EQ(tap.writes[0].body, "m");
  EXPECT_EQ(tap.writes[0].attempts, 1) << "the redelivery reached the wire before the delivery it replaces";
  EXPECT_EQ(tap.writes[1].body, "m");
  EXPECT_EQ(tap.writes[1].attempts, 2);
  EXPECT_EQ(ch->timeout_count(), 1u);
}

}  // namespace
}  // namespace nsq::sim
