// Connections that stop halfway: nsqd drops a V2 client whose heartbeats are on after 2 x heartbeat without a
// command, but with heartbeats off (IDENTIFY heartbeat_interval -1) it holds one forever, even halfway through
// a command (slowloris). We close such a connection once a command has been arriving for client_timeout; an
// idle connection between commands, and a client streaming commands steadily, are left alone.
#include <gtest/gtest.h>

#include <string>

#include "tests/fuzz/fuzz_world.h"

namespace {

using nsq::fuzz::sized;
using nsq::fuzz::World;

constexpr std::int64_t kSecond = 1'000'000'000;

struct HeartbeatsOff : ::testing::Test {
  nsq::Options opts() {
    nsq::Options o = World::small_options();
    o.client_timeout = 10 * kSecond;
    return o;
  }
  World w{opts()};
  std::shared_ptr<nsq::fuzz::ConnState> c = w.connect(true);
  void SetUp() override {
    World::feed(*c, "  V2IDENTIFY\n" + sized(R"({"heartbeat_interval":-1})"));
    w.advance(kSecond);
    ASSERT_FALSE(c->closed);
  }
};

TEST_F(HeartbeatsOff, BodyCutShortIsAnsweredAndClosedAfterClientTimeout) {
  World::feed(*c, "PUB t\n" + std::string("\0\0\0\x0a", 4) + "abc");
  w.advance(9 * kSecond);
  EXPECT_FALSE(c->closed);
  w.advance(2 * kSecond);
  EXPECT_TRUE(c->closed);
  EXPECT_NE(c->out.find("E_BAD_MESSAGE PUB failed to read message body"), std::string::npos);
}

TEST_F(HeartbeatsOff, PartialLineIsClosedAfterClientTimeout) {
  World::feed(*c, "SUB t");
  w.advance(5 * kSecond);
  World::feed(*c, " c");  // trickling more bytes does not extend the command's time
  w.advance(4 * kSecond);
  EXPECT_FALSE(c->closed);
  w.advance(2 * kSecond);
  EXPECT_TRUE(c->closed);
}

TEST_F(HeartbeatsOff, IdleBetweenCommandsIsHeldAsNsqdDoes) {
  World::feed(*c, "NOP\n");
  w.advance(600 * kSecond);
  EXPECT_FALSE(c->closed);
  World::feed(*c, "PUB t\n" + sized("x"));
  w.advance(kSecond);
  EXPECT_FALSE(c->closed);
  EXPECT_NE(c->out.find("OK"), std::string::npos);
}

// Every read ends halfway through a command, but each also completes the previous one: never a timeout.
TEST_F(HeartbeatsOff, SteadyStreamSplitMidCommandIsNotClosed) {
  const std::string pub = "PUB t\n" + sized("0123456789");
  World::feed(*c, pub.substr(0, 8));
  for (int i = 0; i < 120; ++i) {
    w.advance(kSecond);
    World::feed(*c, pub.substr(8) + pub.substr(0, 8));
    ASSERT_FALSE(c->closed) << "after " << i << " s";
  }
}

TEST(HeartbeatsOn, PartialCommandClosedAfterTwoHeartbeatsAsNsqd) {
  nsq::Options o = World::small_options();
  World w{o};
  auto c = w.connect(true);
  World::feed(*c, "  V2IDENTIFY\n" + sized(R"({"heartbeat_interval":1000})") + "SUB t");
  w.advance(1500'000'000);
  EXPECT_FALSE(c->closed);
  w.advance(1000'000'000);
  EXPECT_TRUE(c->closed);
}

}  // namespace
