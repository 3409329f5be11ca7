// Per-connection options negotiated in IDENTIFY, as nsqd v1.3.0: msg_timeout (bounded by --max-msg-timeout),
// output buffer size and timeout (bounded by --max-output-buffer-size/-timeout, and the flush policy they
// drive), sample_rate in /stats. (Bounds with default flags and sampling itself: protocol_test.cpp.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "daemon.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

using Json = nlohmann::json;

Json channel_stats(int http_port, const std::string& topic) {
  const Json stats = Json::parse(http_get(http_port, "/stats?format=json&topic=" + topic).body);
  return stats.at("topics").at(0).at("channels").at(0);
}

Json identify_json(V2Client& c, const std::string& json) {
  c.identify(json);
  const Frame f = c.read_reply();
  if (f.type != FrameType::Response) throw ClientError("IDENTIFY: " + f.describe());
  return Json::parse(f.data);
}

// nsqd's TestClientMsgTimeout: the connection's msg_timeout, not --msg-timeout, times its messages out.
TEST(ClientOptions, PerConnectionMsgTimeout) {
  Daemon d;  // --msg-timeout stays 60 s
  const std::string t = "cmsg_timeout";
  V2Client p(d.tcp_port());
  ASSERT_TRUE(p.publish(t, "first"));
  V2Client c(d.tcp_port());
  EXPECT_EQ(identify_json(c, R"({"feature_negotiation":true,"msg_timeout":1000})").at("msg_timeout"), 1000);
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(1);
  const Message m = c.read_message();
  EXPECT_EQ(m.body, "first");
  c.rdy(0);
  std::this_thread::sleep_for(Ms(1600));  // 1 s timeout plus the scanner's interval, with slack
  const Json ch = channel_stats(d.http_port(), t);
  EXPECT_EQ(ch.at("timeout_count"), 1);
  EXPECT_EQ(ch.at("requeue_count"), 0);
  EXPECT_EQ(ch.at("clients").at(0).at("in_flight_count"), 0);
  c.fin(m.id);
  EXPECT_TRUE(c.expect_error("E_FIN_FAILED FIN " + m.id + " failed ID not in flight"));

  // Another connection with the default keeps its message well past one second.
  ASSERT_TRUE(p.publish(t, "second"));
  V2Client slow(d.tcp_port());
  ASSERT_TRUE(slow.subscribe(t, "ch2"));
  ASSERT_TRUE(p.publish(t, "third"));
  slow.rdy(1);
  const Message s = slow.read_message();
  std::this_thread::sleep_for(Ms(1600));
  slow.fin(s.id);
  EXPECT_TRUE(slow.sync()) << "FIN after 1.6 s must succeed with the default 60 s msg-timeout";
}

TEST(ClientOptions, MsgTimeoutBoundedByMaxMsgTimeoutFlag) {
  Daemon d({"--max-msg-timeout=5s"});
  {
    V2Client c(d.tcp_port());
    const Json j = identify_json(c, R"({"feature_negotiation":true,"msg_timeout":5000})");
    EXPECT_EQ(j.at("msg_timeout"), 5000);
    EXPECT_EQ(j.at("max_msg_timeout"), 5000);
  }
  V2Client c(d.tcp_port());
  c.identify(R"({"msg_timeout":5001})");
  EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY msg timeout (5001) is invalid"));
}

TEST(ClientOptions, OutputBufferBoundsFollowTheirFlags) {
  Daemon d({"--max-output-buffer-size=1000", "--max-output-buffer-timeout=2s", "--min-output-buffer-timeout=100ms"});
  {
    V2Client c(d.tcp_port());
    const Json j = identify_json(
        c, R"({"feature_negotiation":true,"output_buffer_size":1000,"output_buffer_timeout":2000})");
    EXPECT_EQ(j.at("output_buffer_size"), 1000);
    EXPECT_EQ(j.at("output_buffer_timeout"), 2000);
  }
  {
    V2Client c(d.tcp_port());
    c.identify(R"({"output_buffer_size":1001})");
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY output buffer size (1001) is invalid"));
  }
  {
    V2Client c(d.tcp_port());
    c.identify(R"({"output_buffer_timeout":2001})");
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY output buffer timeout (2001) is invalid"));
  }
  {
    V2Client c(d.tcp_port());
    c.identify(R"({"output_buffer_timeout":99})");
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY output buffer timeout (99) is invalid"));
  }
}

// nsqd's TestOutputBuffering: with spare RDY nsqd holds a lone message in the buffer until the output buffer
// timeout. We send it once the publish that produced it has been handled (same bytes, no added latency): the
// timeout is only an upper bound. A 20 s timeout must not delay the message.
TEST(ClientOptions, OutputBufferTimeoutIsOnlyAnUpperBound) {
  Daemon d;
  const std::string t = unique_name("obt");
  V2Client p(d.tcp_port());
  V2Client c(d.tcp_port());
  identify_json(c, R"({"feature_negotiation":true,"output_buffer_size":16384,"output_buffer_timeout":20000})");
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(10);
  ASSERT_TRUE(c.sync());
  ASSERT_TRUE(p.publish(t, "buffered"));
  Stopwatch sw;
  const Message m = c.read_message(Ms(15000));
  EXPECT_EQ(m.body, "buffered");
  EXPECT_LT(sw.ms(), 10000) << "the lone message waited for the 20 s output buffer timeout";
}

// A full buffer is flushed at once, whatever the timeout.
TEST(ClientOptions, FullOutputBufferFlushesAtOnce) {
  Daemon d;
  const std::string t = unique_name("obs");
  V2Client p(d.tcp_port());
  V2Client c(d.tcp_port());
  identify_json(c, R"({"feature_negotiation":true,"output_buffer_size":64,"output_buffer_timeout":20000})");
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(10);
  ASSERT_TRUE(c.sync());
  ASSERT_TRUE(p.publish(t, std::string(100, 'x')));
  Stopwatch sw;
  const Message m = c.read_message(Ms(5000));
  EXPECT_EQ(m.body.size(), 100u);
  EXPECT_LT(sw.ms(), 10000) << "a message larger than the buffer waited for the 20 s timeout";
}

TEST(ClientOptions, SampleRateShownInStats) {
  Daemon d;
  V2Client c(d.tcp_port());
  EXPECT_EQ(identify_json(c, R"({"feature_negotiation":true,"sample_rate":42})").at("sample_rate"), 42);
  ASSERT_TRUE(c.subscribe("sampled", "ch"));
  EXPECT_EQ(channel_stats(d.http_port(), "sampled").at("clients").at(0).at("sample_rate"), 42);
}

}  // namespace
}  // namespace nsqit
