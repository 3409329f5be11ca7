// TCP protocol V2 against the real nsqd binary: every command, error string and limit of the fact sheet §1,
// plus the engine behaviour of §2.4-2.10 that is observable over the protocol.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

constexpr int kMaxMsgSize = 1024;
constexpr int kMaxBodySize = 4096;
constexpr int kMaxRdy = 50;
constexpr int kMaxReqMs = 5000;
const std::string kZeroId = "0000000000000000";

// Generous bound for anything that depends on the queue scanner: nsqd scans a runtime-created channel only
// after the next scan-list refresh (5 s), so a 1 s timeout can fire ~6 s late (fact sheet §2.5).
constexpr Ms kScanSlack{15000};

class Protocol : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = std::make_unique<Daemon>(std::vector<std::string>{
        "--max-msg-size=" + std::to_string(kMaxMsgSize),
        "--max-body-size=" + std::to_string(kMaxBodySize),
        "--max-rdy-count=" + std::to_string(kMaxRdy),
        "--msg-timeout=1s",
        "--max-req-timeout=5s",
        "--queue-scan-interval=50ms",
        // hidden option in nsqd (5 s there); shorter so new channels are scanned soon. Bounds in the
        // assertions still allow for nsqd's 5 s.
        "--queue-scan-refresh-interval=500ms",
    });
  }
  static void TearDownTestSuite() { daemon_.reset(); }

  static int port() { return daemon_->tcp_port(); }
  static std::unique_ptr<V2Client> client() { return std::make_unique<V2Client>(port()); }
  // A subscribed client with RDY n.
  static std::unique_ptr<V2Client> consumer(const std::string& topic, const std::string& channel, int rdy) {
    auto c = client();
    EXPECT_TRUE(c->subscribe(topic, channel));
    if (rdy >= 0) c->rdy(rdy);
    return c;
  }
  static void publish(const std::string& topic, const std::string& body) {
    V2Client p(port());
    ASSERT_TRUE(p.publish(topic, body));
  }
  // Sends `line` on a fresh connection and expects a fatal error with `text`.
  static ::testing::AssertionResult fatal_on_fresh(const std::string& line, const std::string& text) {
    V2Client c(port());
    c.send_line(line);
    auto r = c.expect_fatal(text);
    if (!r) return ::testing::AssertionFailure() << "[" << line << "] " << r.message();
    return r;
  }
  static ::testing::AssertionResult identify_fatal(const std::string& json, const std::string& text) {
    V2Client c(port());
    c.identify(json);
    auto r = c.expect_fatal(text);
    if (!r) return ::testing::AssertionFailure() << "[IDENTIFY " << json << "] " << r.message();
    return r;
  }
  static ::testing::AssertionResult identify_ok(const std::string& json) {
    V2Client c(port());
    c.identify(json);
    auto r = c.expect_ok();
    if (!r) return ::testing::AssertionFailure() << "[IDENTIFY " << json << "] " << r.message();
    r = c.sync();
    if (!r) return ::testing::AssertionFailure() << "[IDENTIFY " << json << "] then " << r.message();
    return r;
  }

  static std::unique_ptr<Daemon> daemon_;
};
std::unique_ptr<Daemon> Protocol::daemon_;

// ---------------------------------------------------------------- 1.1 magic

TEST_F(Protocol, BadMagicGetsBadProtocolAndClose) {
  V2Client c(port(), /*send_magic=*/false);
  c.send_raw("  V1");
  EXPECT_TRUE(c.expect_fatal("E_BAD_PROTOCOL"));
}

TEST_F(Protocol, GarbageMagicGetsBadProtocol) {
  V2Client c(port(), false);
  c.send_raw("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(c.expect_fatal("E_BAD_PROTOCOL"));
}

TEST_F(Protocol, BareSubWithoutIdentifyWorks) {
  auto t = unique_name();
  auto c = client();
  EXPECT_TRUE(c->subscribe(t, "c"));
}

// ---------------------------------------------------------------- IDENTIFY

TEST_F(Protocol, IdentifyWithoutFeatureNegotiationRepliesOK) {
  EXPECT_TRUE(identify_ok(R"({})"));
  EXPECT_TRUE(identify_ok(R"({"client_id":"abc","hostname":"h","user_agent":"it/1.0"})"));
  EXPECT_TRUE(identify_ok(R"({"feature_negotiation":false})"));
  EXPECT_TRUE(identify_ok(R"({"some_unknown_key":123,"another":{"x":[1,2]}})"));
}

TEST_F(Protocol, IdentifyFeatureNegotiationReplyHasEveryFieldInOrder) {
  V2Client c(port());
  c.identify(R"({"feature_negotiation":true})");
  Frame f = c.read_reply();
  ASSERT_EQ(f.type, FrameType::Response) << f.describe();
  auto j = nlohmann::ordered_json::parse(f.data, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON: " << f.data;
  ASSERT_TRUE(j.is_object()) << f.data;
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected{"max_rdy_count",  "version",       "max_msg_timeout",     "msg_timeout",
                                          "tls_v1",         "deflate",       "deflate_level",       "max_deflate_level",
                                          "snappy",         "sample_rate",   "auth_required",       "output_buffer_size",
                                          "output_buffer_timeout"};
  EXPECT_EQ(keys, expected) << f.data;
  EXPECT_EQ(j.value("max_rdy_count", -1), kMaxRdy);
  EXPECT_EQ(j.value("version", ""), "1.3.0");
  EXPECT_EQ(j.value("max_msg_timeout", -1), 900000);
  EXPECT_EQ(j.value("msg_timeout", -1), 1000);  // --msg-timeout=1s
  EXPECT_EQ(j.value("tls_v1", true), false);
  EXPECT_EQ(j.value("deflate", true), false);
  EXPECT_EQ(j.value("deflate_level", -1), 6);
  EXPECT_EQ(j.value("max_deflate_level", -1), 6);
  EXPECT_EQ(j.value("snappy", true), false);
  EXPECT_EQ(j.value("sample_rate", -1), 0);
  EXPECT_EQ(j.value("auth_required", true), false);
  EXPECT_EQ(j.value("output_buffer_size", -1), 16384);
  EXPECT_EQ(j.value("output_buffer_timeout", -1), 250);
  // no TLS/compression granted, so nothing else follows; the connection works normally
  EXPECT_TRUE(c.sync());
}

TEST_F(Protocol, IdentifyReplyReflectsNegotiatedValues) {
  V2Client c(port());
  c.identify(
      R"({"feature_negotiation":true,"msg_timeout":5000,"sample_rate":42,"output_buffer_size":-1,)"
      R"("output_buffer_timeout":-1,"heartbeat_interval":2000,"deflate_level":3,"tls_v1":true})");
  Frame f = c.read_reply();
  ASSERT_EQ(f.type, FrameType::Response) << f.describe();
  auto j = nlohmann::json::parse(f.data, nullptr, false);
  ASSERT_TRUE(j.is_object()) << f.data;
  EXPECT_EQ(j.value("msg_timeout", -1), 5000);
  EXPECT_EQ(j.value("sample_rate", -1), 42);
  EXPECT_EQ(j.value("output_buffer_size", -1), 1);     // -1 → unbuffered (size 1)
  EXPECT_EQ(j.value("output_buffer_timeout", -1), 0);  // -1 → 0
  EXPECT_EQ(j.value("deflate_level", -1), 6) << "deflate not negotiated: requested level is ignored";
  EXPECT_EQ(j.value("tls_v1", true), false) << "no --tls-cert/--tls-key, so TLS cannot be granted";
  EXPECT_TRUE(c.sync());

  V2Client c2(port());
  c2.identify(R"({"feature_negotiation":true,"output_buffer_size":100,"output_buffer_timeout":100})");
  Frame f2 = c2.read_reply();
  auto j2 = nlohmann::json::parse(f2.data, nullptr, false);
  ASSERT_TRUE(j2.is_object()) << f2.describe();
  EXPECT_EQ(j2.value("output_buffer_size", -1), 100);
  EXPECT_EQ(j2.value("output_buffer_timeout", -1), 100);
  EXPECT_EQ(j2.value("msg_timeout", -1), 1000);
}

TEST_F(Protocol, IdentifyHeartbeatIntervalBounds) {
  for (int v : {-1, 0, 1000, 60000}) EXPECT_TRUE(identify_ok(R"({"heartbeat_interval":)" + std::to_string(v) + "}"));
  for (int v : {-2, 1, 999, 60001})
    EXPECT_TRUE(identify_fatal(R"({"heartbeat_interval":)" + std::to_string(v) + "}",
                               "E_BAD_BODY IDENTIFY heartbeat interval (" + std::to_string(v) + ") is invalid"));
}

TEST_F(Protocol, IdentifyOutputBufferTimeoutBounds) {
  for (int v : {-1, 0, 25, 30000})
    EXPECT_TRUE(identify_ok(R"({"output_buffer_timeout":)" + std::to_string(v) + "}"));
  for (int v : {-2, 1, 24, 30001})
    EXPECT_TRUE(identify_fatal(R"({"output_buffer_timeout":)" + std::to_string(v) + "}",
                               "E_BAD_BODY IDENTIFY output buffer timeout (" + std::to_string(v) + ") is invalid"));
}

TEST_F(Protocol, IdentifyOutputBufferSizeBounds) {
  for (int v : {-1, 0, 64, 65536}) EXPECT_TRUE(identify_ok(R"({"output_buffer_size":)" + std::to_string(v) + "}"));
  for (int v : {-2, 1, 63, 65537})
    EXPECT_TRUE(identify_fatal(R"({"output_buffer_size":)" + std::to_string(v) + "}",
                               "E_BAD_BODY IDENTIFY output buffer size (" + std::to_string(v) + ") is invalid"));
}

TEST_F(Protocol, IdentifySampleRateBounds) {
  for (int v : {0, 1, 99}) EXPECT_TRUE(identify_ok(R"({"sample_rate":)" + std::to_string(v) + "}"));
  for (int v : {-1, 100})
    EXPECT_TRUE(identify_fatal(R"({"sample_rate":)" + std::to_string(v) + "}",
                               "E_BAD_BODY IDENTIFY sample rate (" + std::to_string(v) + ") is invalid"));
}

TEST_F(Protocol, IdentifyMsgTimeoutBounds) {
  for (int v : {0, 1000, 900000}) EXPECT_TRUE(identify_ok(R"({"msg_timeout":)" + std::to_string(v) + "}"));
  for (int v : {-1, 999, 900001})
    EXPECT_TRUE(identify_fatal(R"({"msg_timeout":)" + std::to_string(v) + "}",
                               "E_BAD_BODY IDENTIFY msg timeout (" + std::to_string(v) + ") is invalid"));
}

TEST_F(Protocol, IdentifyValidationOrder) {
  // heartbeat, output buffer timeout, output buffer size, sample rate, msg timeout
  EXPECT_TRUE(identify_fatal(R"({"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1,"heartbeat_interval":1})",
                             "E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid"));
  EXPECT_TRUE(identify_fatal(R"({"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1})",
                             "E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid"));
  EXPECT_TRUE(identify_fatal(R"({"msg_timeout":1,"sample_rate":100,"output_buffer_size":1})",
                             "E_BAD_BODY IDENTIFY output buffer size (1) is invalid"));
  EXPECT_TRUE(identify_fatal(R"({"msg_timeout":1,"sample_rate":100})", "E_BAD_BODY IDENTIFY sample rate (100) is invalid"));
}

TEST_F(Protocol, IdentifyBadJsonIsFatal) {
  EXPECT_TRUE(identify_fatal("{not json", "E_BAD_BODY IDENTIFY failed to decode JSON body"));
  EXPECT_TRUE(identify_fatal(R"({"heartbeat_interval":"1000"})", "E_BAD_BODY IDENTIFY failed to decode JSON body"));
  EXPECT_TRUE(identify_fatal(R"({"feature_negotiation":"yes"})", "E_BAD_BODY IDENTIFY failed to decode JSON body"));
}

TEST_F(Protocol, IdentifyBodySizeErrors) {
  {
    V2Client c(port());
    c.send_raw("IDENTIFY\n" + be32(0));
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY invalid body size 0"));
  }
  {
    V2Client c(port());
    c.send_raw("IDENTIFY\n" + be32(-1));
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY invalid body size -1"));
  }
  {
    V2Client c(port());
    c.send_raw("IDENTIFY\n" + be32(kMaxBodySize + 1));  // body not sent: the server rejects on the size
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY IDENTIFY body too big 4097 > 4096"));
  }
}

TEST_F(Protocol, IdentifyIsRepeatableInInitButNotAfterSub) {
  V2Client c(port());
  c.identify("{}");
  EXPECT_TRUE(c.expect_ok());
  c.identify(R"({"client_id":"again"})");
  EXPECT_TRUE(c.expect_ok());
  EXPECT_TRUE(c.subscribe(unique_name(), "c"));
  c.identify("{}");
  EXPECT_TRUE(c.expect_fatal("E_INVALID cannot IDENTIFY in current state"));
}

// ---------------------------------------------------------------- AUTH

TEST_F(Protocol, AuthIsDisabledWithoutAuthServer) {
  V2Client c(port());
  c.send_with_body("AUTH", "secret");
  EXPECT_TRUE(c.expect_fatal("E_AUTH_DISABLED AUTH disabled"));
}

TEST_F(Protocol, AuthErrors) {
  EXPECT_TRUE(fatal_on_fresh("AUTH extra", "E_INVALID AUTH invalid number of parameters"));
  {
    V2Client c(port());
    c.send_raw("AUTH\n" + be32(0));
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY AUTH invalid body size 0"));
  }
  {
    V2Client c(port());
    c.send_raw("AUTH\n" + be32(kMaxBodySize + 1));
    EXPECT_TRUE(c.expect_fatal("E_BAD_BODY AUTH body too big 4097 > 4096"));
  }
  {
    V2Client c(port());
    EXPECT_TRUE(c.subscribe(unique_name(), "c"));
    c.send_with_body("AUTH", "secret");
    EXPECT_TRUE(c.expect_fatal("E_INVALID cannot AUTH in current state"));
  }
}

// ---------------------------------------------------------------- SUB

TEST_F(Protocol, SubRepliesOkAndIgnoresExtraParams) {
  V2Client c(port());
  c.send_line("SUB " + unique_name() + " ch extra params");
  EXPECT_TRUE(c.expect_ok());
  EXPECT_TRUE(c.sync());
}

TEST_F(Protocol, SubErrors) {
  EXPECT_TRUE(fatal_on_fresh("SUB", "E_INVALID SUB insufficient number of parameters"));
  EXPECT_TRUE(fatal_on_fresh("SUB onlytopic", "E_INVALID SUB insufficient number of parameters"));
  EXPECT_TRUE(fatal_on_fresh("SUB a:b c", R"(E_BAD_TOPIC SUB topic name "a:b" is not valid)"));
  EXPECT_TRUE(fatal_on_fresh("SUB t c:d", R"(E_BAD_CHANNEL SUB channel name "c:d" is not valid)"));
  // line is split on every single space: a doubled space yields an empty channel name
  EXPECT_TRUE(fatal_on_fresh("SUB t  c", R"(E_BAD_CHANNEL SUB channel name "" is not valid)"));
}

TEST_F(Protocol, SubTwiceIsFatal) {
  V2Client c(port());
  EXPECT_TRUE(c.subscribe(unique_name(), "c"));
  c.sub(unique_name(), "c");
  EXPECT_TRUE(c.expect_fatal("E_INVALID cannot SUB in current state"));
}

TEST_F(Protocol, SubWithHeartbeatsDisabledIsFatal) {
  V2Client c(port());
  c.identify(R"({"heartbeat_interval":-1})");
  EXPECT_TRUE(c.expect_ok());
  c.sub(unique_name(), "c");
  EXPECT_TRUE(c.expect_fatal("E_INVALID cannot SUB with heartbeats disabled"));
}

// ---------------------------------------------------------------- names

std::vector<std::string> valid_names() {
  return {"a", "A", "0", ".", "-", "_", "abc.DEF_ghi-123", "t#ephemeral", std::string(64, 'x'),
          std::string(54, 'y') + "#ephemeral"};
}
std::vector<std::string> invalid_names() {
  return {"",
          "a:b",
          "a!b",
          "a/b",
          "a#b",
          "#ephemeral",
          "a#ephemeral#ephemeral",
          "a#eph",
          "a#",
          "a#EPHEMERAL",
          std::string(65, 'x'),
          std::string(55, 'y') + "#ephemeral"};
}

TEST_F(Protocol, ValidTopicNamesAccepted) {
  V2Client c(port());
  for (const auto& n : valid_names()) EXPECT_TRUE(c.publish(n, "x")) << "topic '" << n << "'";
}

TEST_F(Protocol, InvalidTopicNamesRejected) {
  for (const auto& n : invalid_names())
    EXPECT_TRUE(fatal_on_fresh("PUB " + n, "E_BAD_TOPIC PUB topic name \"" + n + "\" is not valid"));
}

TEST_F(Protocol, ValidChannelNamesAccepted) {
  auto t = unique_name();
  for (const auto& n : valid_names()) {
    V2Client c(port());
    EXPECT_TRUE(c.subscribe(t, n)) << "channel '" << n << "'";
  }
}

TEST_F(Protocol, InvalidChannelNamesRejected) {
  for (const auto& n : invalid_names()) {
    if (n.empty()) continue;  // covered by the doubled-space case in SubErrors
    EXPECT_TRUE(fatal_on_fresh("SUB topic " + n, "E_BAD_CHANNEL SUB channel name \"" + n + "\" is not valid"));
  }
}

// ---------------------------------------------------------------- PUB

TEST_F(Protocol, PubIsDeliveredWithWellFormedMessageFrame) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  auto before = now_unix_ns();
  publish(t, "hello world");
  Message m = sub->read_message();
  auto after = now_unix_ns();
  EXPECT_EQ(m.body, "hello world");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_TRUE(is_lower_hex16(m.id)) << "id '" << m.id << "'";
  EXPECT_GE(m.timestamp_ns, before - 2'000'000'000LL);
  EXPECT_LE(m.timestamp_ns, after + 2'000'000'000LL);
  sub->fin(m.id);
  EXPECT_TRUE(sub->sync());
}

TEST_F(Protocol, PubIdsAreUniqueAndIncreasing) {
  auto t = unique_name();
  auto sub = consumer(t, "c", kMaxRdy);
  V2Client p(port());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.publish(t, "m" + std::to_string(i)));
  std::set<std::string> ids;
  std::string prev;
  for (int i = 0; i < 20; ++i) {
    Message m = sub->read_message();
    EXPECT_TRUE(is_lower_hex16(m.id));
    EXPECT_GT(m.id, prev) << "IDs of one topic are increasing";
    prev = m.id;
    ids.insert(m.id);
    sub->fin(m.id);
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(Protocol, PubErrors) {
  EXPECT_TRUE(fatal_on_fresh("PUB", "E_INVALID PUB insufficient number of parameters"));
  auto t = unique_name();
  {
    V2Client c(port());
    c.send_raw("PUB " + t + "\n" + be32(0));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE PUB invalid message body size 0"));
  }
  {
    V2Client c(port());
    c.send_raw("PUB " + t + "\n" + be32(-1));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE PUB invalid message body size -1"));
  }
  {
    V2Client c(port());
    c.send_raw("PUB " + t + "\n" + be32(kMaxMsgSize + 1));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE PUB message too big 1025 > 1024"));
  }
}

// A body cut short by the client's EOF: nsqd still answers with the error frame (the read error becomes a
// fatal client error that is sent before the connection is closed).
TEST_F(Protocol, TruncatedBodiesGetErrorFrameBeforeClose) {
  auto t = unique_name();
  auto truncated = [&](const std::string& bytes, const std::string& text) {
    V2Client c(port());
    c.send_raw(bytes);
    c.shutdown_write();
    EXPECT_TRUE(c.expect_fatal(text)) << text;
  };
  truncated("IDENTIFY\n" + std::string(2, '\0'), "E_BAD_BODY IDENTIFY failed to read body size");
  truncated("IDENTIFY\n" + be32(100) + "{}", "E_BAD_BODY IDENTIFY failed to read body");
  truncated("AUTH\n" + be32(100) + "se", "E_BAD_BODY AUTH failed to read body");
  truncated("PUB " + t + "\nab", "E_BAD_MESSAGE PUB failed to read message body size");
  truncated("PUB " + t + "\n" + be32(10) + "abc", "E_BAD_MESSAGE PUB failed to read message body");
  truncated("DPUB " + t + " 10\n" + be32(10) + "abc", "E_BAD_MESSAGE DPUB failed to read message body");
  truncated("MPUB " + t + "\n" + std::string(1, '\0'), "E_BAD_BODY MPUB failed to read body size");
  truncated("MPUB " + t + "\n" + be32(100) + std::string(2, '\0'), "E_BAD_BODY MPUB failed to read message count");
  truncated("MPUB " + t + "\n" + be32(100) + be32(2) + be32(1) + "a" + std::string(1, '\0'),
            "E_BAD_MESSAGE MPUB failed to read message(1) body size");
  truncated("MPUB " + t + "\n" + be32(100) + be32(1) + be32(10) + "abc", "E_BAD_MESSAGE MPUB failed to read message body");
}

// The same error when the body never completes and the read deadline (2 × heartbeat) expires instead of EOF.
TEST_F(Protocol, TruncatedBodyAtReadDeadlineGetsErrorFrame) {
  V2Client c(port());
  c.identify(R"({"heartbeat_interval":1000})");
  ASSERT_TRUE(c.expect_ok());
  c.send_raw("PUB " + unique_name() + "\n" + be32(10) + "abc");
  EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE PUB failed to read message body", Ms(6000)));
}

TEST_F(Protocol, PubAtMaxMsgSizeIsAccepted) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  V2Client p(port());
  std::string body(kMaxMsgSize, 'z');
  EXPECT_TRUE(p.publish(t, body));
  Message m = sub->read_message();
  EXPECT_EQ(m.body, body);
}

// ---------------------------------------------------------------- DPUB

TEST_F(Protocol, DpubErrors) {
  auto t = unique_name();
  EXPECT_TRUE(fatal_on_fresh("DPUB", "E_INVALID DPUB insufficient number of parameters"));
  EXPECT_TRUE(fatal_on_fresh("DPUB " + t, "E_INVALID DPUB insufficient number of parameters"));
  EXPECT_TRUE(fatal_on_fresh("DPUB a:b 10", R"(E_BAD_TOPIC DPUB topic name "a:b" is not valid)"));
  EXPECT_TRUE(fatal_on_fresh("DPUB " + t + " abc", "E_INVALID DPUB could not parse timeout abc"));
  EXPECT_TRUE(fatal_on_fresh("DPUB " + t + " -1", "E_INVALID DPUB could not parse timeout -1"));
  EXPECT_TRUE(fatal_on_fresh("DPUB " + t + " 5001", "E_INVALID DPUB timeout 5001 out of range 0-5000"));
  {
    V2Client c(port());
    c.send_raw("DPUB " + t + " 10\n" + be32(kMaxMsgSize + 1));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE DPUB message too big 1025 > 1024"));
  }
  {
    V2Client c(port());
    c.send_raw("DPUB " + t + " 10\n" + be32(0));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE DPUB invalid message body size 0"));
  }
}

TEST_F(Protocol, DpubDelayBoundsAccepted) {
  auto t = unique_name();
  V2Client c(port());
  c.dpub(t, 0, "zero");
  EXPECT_TRUE(c.expect_ok());
  c.dpub(t, kMaxReqMs, "max");
  EXPECT_TRUE(c.expect_ok());
}

TEST_F(Protocol, DpubZeroBehavesLikePub) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  V2Client p(port());
  p.dpub(t, 0, "now");
  ASSERT_TRUE(p.expect_ok());
  Message m = sub->read_message(Ms(3000));
  EXPECT_EQ(m.body, "now");
  EXPECT_EQ(m.attempts, 1);
}

TEST_F(Protocol, DpubIsDeliveredNotBeforeTheDelay) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 5);
  V2Client p(port());
  Stopwatch sw;
  p.dpub(t, 1500, "late");
  ASSERT_TRUE(p.expect_ok());
  ASSERT_TRUE(p.publish(t, "early"));
  Message first = sub->read_message();
  EXPECT_EQ(first.body, "early");
  EXPECT_LT(sw.ms(), 1500);
  sub->fin(first.id);
  Message late = sub->read_message(kScanSlack);
  EXPECT_EQ(late.body, "late");
  EXPECT_GE(sw.ms(), 1490) << "deferred message delivered before its delay";
  EXPECT_EQ(late.attempts, 1);
}

// ---------------------------------------------------------------- MPUB

TEST_F(Protocol, MpubDeliversAllMessages) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 10);
  V2Client p(port());
  p.mpub(t, {"one", "two", "three"});
  ASSERT_TRUE(p.expect_ok());
  std::multiset<std::string> got;
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Message m = sub->read_message();
    got.insert(m.body);
    ids.insert(m.id);
    EXPECT_EQ(m.attempts, 1);
  }
  EXPECT_EQ(got, (std::multiset<std::string>{"one", "two", "three"}));
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(sub->expect_silence(Ms(300)));
}

TEST_F(Protocol, MpubErrors) {
  auto t = unique_name();
  EXPECT_TRUE(fatal_on_fresh("MPUB", "E_INVALID MPUB insufficient number of parameters"));
  EXPECT_TRUE(fatal_on_fresh("MPUB a:b", R"(E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a:b" is not valid)"));
  auto raw_fatal = [&](const std::string& bytes, const std::string& text) {
    V2Client c(port());
    c.send_raw("MPUB " + t + "\n" + bytes);
    EXPECT_TRUE(c.expect_fatal(text)) << "case: " << text;
  };
  raw_fatal(be32(0), "E_BAD_BODY MPUB invalid body size 0");
  raw_fatal(be32(-3), "E_BAD_BODY MPUB invalid body size -3");
  raw_fatal(be32(kMaxBodySize + 1), "E_BAD_BODY MPUB body too big 4097 > 4096");
  raw_fatal(be32(4) + be32(0), "E_BAD_BODY MPUB invalid message count 0");
  raw_fatal(be32(4) + be32(-1), "E_BAD_BODY MPUB invalid message count -1");
  raw_fatal(be32(4) + be32((kMaxBodySize - 4) / 5 + 1), "E_BAD_BODY MPUB invalid message count 819");
  raw_fatal(be32(20) + be32(2) + be32(3) + "abc" + be32(0), "E_BAD_MESSAGE MPUB invalid message(1) body size 0");
  raw_fatal(be32(20) + be32(2) + be32(-5), "E_BAD_MESSAGE MPUB invalid message(0) body size -5");
  raw_fatal(be32(2000) + be32(1) + be32(kMaxMsgSize + 1), "E_BAD_MESSAGE MPUB message too big 1025 > 1024");
}

TEST_F(Protocol, MpubIsAllOrNothing) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 10);
  {
    V2Client c(port());
    c.send_raw("MPUB " + t + "\n" + be32(20) + be32(2) + be32(4) + "good" + be32(0));
    EXPECT_TRUE(c.expect_fatal("E_BAD_MESSAGE MPUB invalid message(1) body size 0"));
  }
  publish(t, "marker");
  Message m = sub->read_message();
  EXPECT_EQ(m.body, "marker") << "a message of a rejected MPUB was published";
  EXPECT_TRUE(sub->expect_silence(Ms(300)));
}

TEST_F(Protocol, MpubDeclaredBodySizeIsOnlyRangeChecked) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 10);
  V2Client p(port());
  std::string payload = mpub_payload({"aa", "bbb"});
  p.send_raw("MPUB " + t + "\n" + be32(5) + payload);  // declared 5, actual 17
  ASSERT_TRUE(p.expect_ok());
  std::multiset<std::string> got{sub->read_message().body, sub->read_message().body};
  EXPECT_EQ(got, (std::multiset<std::string>{"aa", "bbb"}));
  EXPECT_TRUE(p.sync()) << "the stream must stay in sync after the MPUB";
}

// ---------------------------------------------------------------- RDY

TEST_F(Protocol, RdyWithoutCountMeansOne) {
  auto t = unique_name();
  auto sub = consumer(t, "c", -1);
  sub->send_line("RDY");
  V2Client p(port());
  ASSERT_TRUE(p.publish(t, "a"));
  ASSERT_TRUE(p.publish(t, "b"));
  Message m1 = sub->read_message();
  EXPECT_TRUE(sub->expect_silence(Ms(500))) << "RDY without count must allow only one in flight";
  sub->fin(m1.id);
  Message m2 = sub->read_message();
  EXPECT_NE(m1.body, m2.body);
}

TEST_F(Protocol, RdyIsAWindowNotACountdown) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 2);
  V2Client p(port());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.publish(t, "m" + std::to_string(i)));
  Message a = sub->read_message();
  Message b = sub->read_message();
  EXPECT_TRUE(sub->expect_silence(Ms(400)));
  sub->fin(a.id);
  Message c = sub->read_message();
  EXPECT_TRUE(sub->expect_silence(Ms(300)));
  sub->fin(b.id);
  sub->fin(c.id);
  Message d = sub->read_message();
  Message e = sub->read_message();
  std::set<std::string> bodies{a.body, b.body, c.body, d.body, e.body};
  EXPECT_EQ(bodies.size(), 5u);
}

TEST_F(Protocol, RdyZeroStopsDelivery) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "first");
  Message m = sub->read_message();
  sub->fin(m.id);
  sub->rdy(0);
  EXPECT_TRUE(sub->sync());
  publish(t, "second");
  EXPECT_TRUE(sub->expect_silence(Ms(500)));
  sub->rdy(1);
  EXPECT_EQ(sub->read_message().body, "second");
}

TEST_F(Protocol, RdyErrors) {
  auto t = unique_name();
  EXPECT_TRUE(fatal_on_fresh("RDY 1", "E_INVALID cannot RDY in current state"));
  auto sub_fatal = [&](const std::string& line, const std::string& text) {
    V2Client c(port());
    ASSERT_TRUE(c.subscribe(t, "c"));
    c.send_line(line);
    EXPECT_TRUE(c.expect_fatal(text)) << line;
  };
  sub_fatal("RDY abc", "E_INVALID RDY could not parse count abc");
  sub_fatal("RDY -1", "E_INVALID RDY could not parse count -1");
  sub_fatal("RDY 1.5", "E_INVALID RDY could not parse count 1.5");
  sub_fatal("RDY 51", "E_INVALID RDY count 51 out of range 0-50");
  V2Client ok(port());
  ASSERT_TRUE(ok.subscribe(t, "c"));
  ok.rdy(kMaxRdy);
  ok.rdy(0);
  EXPECT_TRUE(ok.sync()) << "RDY 0 and RDY max-rdy-count are accepted without a reply";
}

// ---------------------------------------------------------------- FIN / REQ / TOUCH

TEST_F(Protocol, FinReqTouchInWrongStateAreFatal) {
  EXPECT_TRUE(fatal_on_fresh("FIN " + kZeroId, "E_INVALID cannot FIN in current state"));
  EXPECT_TRUE(fatal_on_fresh("REQ " + kZeroId + " 0", "E_INVALID cannot REQ in current state"));
  EXPECT_TRUE(fatal_on_fresh("TOUCH " + kZeroId, "E_INVALID cannot TOUCH in current state"));
  EXPECT_TRUE(fatal_on_fresh("CLS", "E_INVALID cannot CLS in current state"));
}

TEST_F(Protocol, FinReqTouchParameterErrorsAreFatal) {
  auto t = unique_name();
  auto sub_fatal = [&](const std::string& line, const std::string& text) {
    V2Client c(port());
    ASSERT_TRUE(c.subscribe(t, "c"));
    c.send_line(line);
    EXPECT_TRUE(c.expect_fatal(text)) << line;
  };
  sub_fatal("FIN", "E_INVALID FIN insufficient number of params");
  sub_fatal("FIN abc", "E_INVALID invalid message ID");
  sub_fatal("FIN 00000000000000000", "E_INVALID invalid message ID");  // 17 bytes
  sub_fatal("TOUCH", "E_INVALID TOUCH insufficient number of params");
  sub_fatal("TOUCH abc", "E_INVALID invalid message ID");
  sub_fatal("REQ", "E_INVALID REQ insufficient number of params");
  sub_fatal("REQ " + kZeroId, "E_INVALID REQ insufficient number of params");
  sub_fatal("REQ abc 0", "E_INVALID invalid message ID");
  sub_fatal("REQ " + kZeroId + " abc", "E_INVALID REQ could not parse timeout abc");
  sub_fatal("REQ " + kZeroId + " -1", "E_INVALID REQ could not parse timeout -1");
}

TEST_F(Protocol, FinReqTouchOfUnknownIdAreNonFatal) {
  V2Client c(port());
  ASSERT_TRUE(c.subscribe(unique_name(), "c"));
  c.fin(kZeroId);
  EXPECT_TRUE(c.expect_error("E_FIN_FAILED FIN 0000000000000000 failed ID not in flight"));
  c.req(kZeroId, 0);
  EXPECT_TRUE(c.expect_error("E_REQ_FAILED REQ 0000000000000000 failed ID not in flight"));
  c.touch(kZeroId);
  EXPECT_TRUE(c.expect_error("E_TOUCH_FAILED TOUCH 0000000000000000 failed ID not in flight"));
  EXPECT_TRUE(c.sync()) << "non-fatal errors must keep the connection open";
}

TEST_F(Protocol, FinTwiceSecondIsNotInFlight) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "x");
  Message m = sub->read_message();
  sub->fin(m.id);
  EXPECT_TRUE(sub->sync());
  sub->fin(m.id);
  EXPECT_TRUE(sub->expect_error("E_FIN_FAILED FIN " + m.id + " failed ID not in flight"));
  EXPECT_TRUE(sub->sync());
}

TEST_F(Protocol, OnlyTheOwnerCanFinReqTouch) {
  auto t = unique_name();
  auto owner = consumer(t, "c", 1);
  auto other = consumer(t, "c", 0);
  auto other_channel = consumer(t, "c2", 0);
  publish(t, "owned");
  Message m = owner->read_message();
  other->touch(m.id);
  EXPECT_TRUE(other->expect_error("E_TOUCH_FAILED TOUCH " + m.id + " failed client does not own message"));
  other->req(m.id, 0);
  EXPECT_TRUE(other->expect_error("E_REQ_FAILED REQ " + m.id + " failed client does not own message"));
  other->fin(m.id);
  EXPECT_TRUE(other->expect_error("E_FIN_FAILED FIN " + m.id + " failed client does not own message"));
  EXPECT_TRUE(other->sync());
  // a client of another channel: the ID is not in flight there
  other_channel->fin(m.id);
  EXPECT_TRUE(other_channel->expect_error("E_FIN_FAILED FIN " + m.id + " failed ID not in flight"));
  owner->fin(m.id);
  EXPECT_TRUE(owner->sync()) << "the owner's FIN must succeed";
}

TEST_F(Protocol, ReqZeroRedeliversImmediatelyWithAttemptsTwo) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "again");
  Message m1 = sub->read_message();
  EXPECT_EQ(m1.attempts, 1);
  Stopwatch sw;
  sub->req(m1.id, 0);
  Message m2 = sub->read_message(Ms(3000));
  EXPECT_LT(sw.ms(), 1000) << "REQ 0 must requeue immediately";
  EXPECT_EQ(m2.id, m1.id);
  EXPECT_EQ(m2.body, "again");
  EXPECT_EQ(m2.timestamp_ns, m1.timestamp_ns) << "timestamp is preserved through requeue";
  EXPECT_EQ(m2.attempts, 2);
  sub->fin(m2.id);
  EXPECT_TRUE(sub->sync());
}

TEST_F(Protocol, ReqWithTimeoutDefersRedelivery) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "later");
  Message m1 = sub->read_message();
  Stopwatch sw;
  sub->req(m1.id, 1000);
  EXPECT_TRUE(sub->sync()) << "REQ with a valid timeout has no reply";
  Message m2 = sub->read_message(kScanSlack);
  EXPECT_GE(sw.ms(), 950) << "requeued message redelivered before its delay";
  EXPECT_EQ(m2.id, m1.id);
  EXPECT_EQ(m2.attempts, 2);
}

TEST_F(Protocol, ReqTimeoutAboveMaxIsClamped) {
  Daemon d({"--max-req-timeout=1s", "--queue-scan-interval=50ms", "--queue-scan-refresh-interval=500ms"});
  auto t = unique_name();
  V2Client sub(d.tcp_port());
  ASSERT_TRUE(sub.subscribe(t, "c"));
  sub.rdy(1);
  V2Client p(d.tcp_port());
  ASSERT_TRUE(p.publish(t, "clamped"));
  Message m1 = sub.read_message();
  Stopwatch sw;
  sub.req(m1.id, 3600000);  // 1 h, above --max-req-timeout=1s: clamped, not an error
  EXPECT_TRUE(sub.sync()) << "REQ above max-req-timeout must be clamped, not rejected";
  Message m2 = sub.read_message(kScanSlack);
  EXPECT_GE(sw.ms(), 900);
  EXPECT_EQ(m2.id, m1.id);
  EXPECT_EQ(m2.attempts, 2);
}

TEST_F(Protocol, MsgTimeoutRedeliversWithAttemptsPlusOne) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "slow");
  Message m1 = sub->read_message();
  Stopwatch sw;
  Message m2 = sub->read_message(kScanSlack);
  EXPECT_GE(sw.ms(), 900) << "redelivered before --msg-timeout=1s elapsed";
  EXPECT_EQ(m2.id, m1.id);
  EXPECT_EQ(m2.body, "slow");
  EXPECT_EQ(m2.timestamp_ns, m1.timestamp_ns);
  EXPECT_EQ(m2.attempts, 2);
  // the first delivery timed out: this connection's FIN now applies to the redelivered copy
  sub->fin(m2.id);
  EXPECT_TRUE(sub->sync());
  EXPECT_TRUE(sub->expect_silence(Ms(1500))) << "a FINed message must not come back";
}

TEST_F(Protocol, TouchKeepsMessageInFlight) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  // warm up: wait for one timeout so we know the channel is being scanned
  publish(t, "warmup");
  Message w = sub->read_message();
  Message w2 = sub->read_message(kScanSlack);
  ASSERT_EQ(w2.id, w.id);
  sub->fin(w2.id);
  ASSERT_TRUE(sub->sync());

  publish(t, "touched");
  Message m = sub->read_message();
  EXPECT_EQ(m.body, "touched");
  Stopwatch sw;
  while (sw.ms() < 3000) {
    sub->touch(m.id);
    ASSERT_TRUE(sub->expect_silence(Ms(300))) << "message redelivered although TOUCHed, after " << sw.ms() << " ms";
  }
  sub->fin(m.id);
  EXPECT_TRUE(sub->sync()) << "FIN after 3 s of TOUCHes must succeed (msg-timeout is 1 s)";

  // and without TOUCH the same flow times out
  publish(t, "untouched");
  Message u = sub->read_message();
  Message u2 = sub->read_message(Ms(5000));
  EXPECT_EQ(u2.id, u.id);
  EXPECT_EQ(u2.attempts, 2);
}

TEST_F(Protocol, DisconnectedConsumersInFlightMessageWaitsForTimeout) {
  auto t = unique_name();
  auto a = consumer(t, "c", 1);
  auto b = consumer(t, "c", 0);
  publish(t, "orphan");
  Message m = a->read_message();
  a->close();
  b->rdy(1);
  EXPECT_TRUE(b->expect_silence(Ms(500))) << "in-flight messages of a gone client wait for their timeout";
  Message m2 = b->read_message(kScanSlack);
  EXPECT_EQ(m2.id, m.id);
  EXPECT_EQ(m2.attempts, 2);
  b->fin(m2.id);
  EXPECT_TRUE(b->sync());
}

// ---------------------------------------------------------------- fan-out and ephemeral

TEST_F(Protocol, EveryChannelGetsACopy) {
  auto t = unique_name();
  auto c1 = consumer(t, "one", 1);
  auto c2 = consumer(t, "two", 1);
  EXPECT_TRUE(c1->sync());
  EXPECT_TRUE(c2->sync());
  publish(t, "fan");
  Message m1 = c1->read_message();
  Message m2 = c2->read_message();
  EXPECT_EQ(m1.body, "fan");
  EXPECT_EQ(m2.body, "fan");
  EXPECT_EQ(m1.id, m2.id) << "channel copies share the ID";
  EXPECT_EQ(m1.timestamp_ns, m2.timestamp_ns);
  EXPECT_EQ(m1.attempts, 1);
  EXPECT_EQ(m2.attempts, 1);
  c1->fin(m1.id);
  c2->fin(m2.id);
  EXPECT_TRUE(c1->sync());
  EXPECT_TRUE(c2->sync());
}

TEST_F(Protocol, OneChannelDeliversEachMessageToOneConsumer) {
  auto t = unique_name();
  auto a = consumer(t, "c", 10);
  auto b = consumer(t, "c", 10);
  V2Client p(port());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.publish(t, "m" + std::to_string(i)));
  std::multiset<std::string> got;
  int rounds = 0;
  for (int n = 0; n < 10;) {
    if (auto m = a->try_read_message(Ms(100))) {
      got.insert(m->body);
      a->fin(m->id);
      ++n;
    }
    if (auto m = b->try_read_message(Ms(100))) {
      got.insert(m->body);
      b->fin(m->id);
      ++n;
    }
    ASSERT_LT(++rounds, 200) << "timed out; got " << got.size();
  }
  std::set<std::string> uniq(got.begin(), got.end());
  EXPECT_EQ(uniq.size(), 10u) << "a message was delivered twice within one channel";
  EXPECT_TRUE(a->expect_silence(Ms(200)));
  EXPECT_TRUE(b->expect_silence(Ms(200)));
}

TEST_F(Protocol, TopicWithoutChannelsKeepsMessagesForFirstChannel) {
  auto t = unique_name();
  publish(t, "backlog1");
  publish(t, "backlog2");
  auto sub = consumer(t, "late", 10);
  std::multiset<std::string> got{sub->read_message().body, sub->read_message().body};
  EXPECT_EQ(got, (std::multiset<std::string>{"backlog1", "backlog2"}));
}

TEST_F(Protocol, NonEphemeralChannelKeepsMessagesAfterLastClientLeaves) {
  auto t = unique_name();
  {
    auto a = consumer(t, "durable", 0);
    EXPECT_TRUE(a->sync());
    publish(t, "kept");
  }
  std::this_thread::sleep_for(Ms(500));
  auto b = consumer(t, "durable", 1);
  Message m = b->read_message();
  EXPECT_EQ(m.body, "kept");
}

TEST_F(Protocol, EphemeralChannelIsDeletedWhenLastClientLeaves) {
  auto t = unique_name();
  {
    auto a = consumer(t, "eph#ephemeral", 0);
    EXPECT_TRUE(a->sync());
    publish(t, "lost");  // queued in the ephemeral channel, never delivered (RDY 0)
    EXPECT_TRUE(a->sync());
  }
  std::this_thread::sleep_for(Ms(500));
  auto b = consumer(t, "eph#ephemeral", 1);
  EXPECT_TRUE(b->expect_silence(Ms(700))) << "the ephemeral channel must have been deleted with its queue";
  publish(t, "fresh");
  Message m = b->read_message();
  EXPECT_EQ(m.body, "fresh");
}

TEST_F(Protocol, EphemeralChannelSurvivesWhileAClientRemains) {
  auto t = unique_name();
  auto keeper = consumer(t, "eph#ephemeral", 0);
  {
    auto a = consumer(t, "eph#ephemeral", 0);
    publish(t, "kept");
    EXPECT_TRUE(a->sync());
  }
  std::this_thread::sleep_for(Ms(300));
  keeper->rdy(1);
  Message m = keeper->read_message();
  EXPECT_EQ(m.body, "kept");
}

// ---------------------------------------------------------------- CLS, NOP, unknown, line limit

TEST_F(Protocol, ClsRepliesCloseWaitKeepsConnectionAndIgnoresRdy) {
  auto t = unique_name();
  auto sub = consumer(t, "c", 1);
  publish(t, "inflight");
  Message m = sub->read_message();
  sub->cls();
  EXPECT_TRUE(sub->expect_response("CLOSE_WAIT"));
  sub->fin(m.id);  // FIN still works in closing state
  EXPECT_TRUE(sub->sync());
  sub->rdy(5);  // ignored, no reply, not fatal
  EXPECT_TRUE(sub->sync());
  publish(t, "after-cls");
  EXPECT_TRUE(sub->expect_silence(Ms(700))) << "no deliveries after CLS (RDY forced to 0, later RDY ignored)";
  EXPECT_TRUE(sub->sync()) << "the server does not close the socket after CLS";
}

TEST_F(Protocol, NopHasNoReplyInAnyState) {
  V2Client c(port());
  c.nop();
  c.send_raw("NOP\r\n");
  c.send_line("NOP extra params ignored");
  EXPECT_TRUE(c.sync());
  ASSERT_TRUE(c.subscribe(unique_name(), "c"));
  c.nop();
  EXPECT_TRUE(c.sync());
  c.cls();
  EXPECT_TRUE(c.expect_response("CLOSE_WAIT"));
  c.nop();
  EXPECT_TRUE(c.sync());
}

TEST_F(Protocol, UnknownCommandsAreFatal) {
  EXPECT_TRUE(fatal_on_fresh("FOO", "E_INVALID invalid command FOO"));
  EXPECT_TRUE(fatal_on_fresh("nop", "E_INVALID invalid command nop"));
  EXPECT_TRUE(fatal_on_fresh("sub t c", "E_INVALID invalid command sub"));
  EXPECT_TRUE(fatal_on_fresh("", "E_INVALID invalid command "));
}

TEST_F(Protocol, LineOf16384BytesIncludingNewlineIsAccepted) {
  V2Client c(port());
  std::string line = "NOP " + std::string(16384 - 5, 'a');  // + '\n' = 16384
  ASSERT_EQ(line.size() + 1, 16384u);
  c.send_line(line);
  EXPECT_TRUE(c.sync());
}

TEST_F(Protocol, LongerLineClosesWithoutErrorFrame) {
  V2Client c(port());
  std::string line = "NOP " + std::string(16384 - 4, 'a');  // + '\n' = 16385
  ASSERT_EQ(line.size() + 1, 16385u);
  c.send_line(line);
  EXPECT_TRUE(c.expect_closed());
}

// ---------------------------------------------------------------- heartbeats

TEST_F(Protocol, HeartbeatsArriveAndAnsweringClientStaysConnected) {
  V2Client c(port());
  c.identify(R"({"heartbeat_interval":1000})");
  ASSERT_TRUE(c.expect_ok());
  Stopwatch sw;
  int hb = 0;
  while (sw.ms() < 3500) {
    auto f = c.try_read_raw_frame(Ms(200));
    if (!f) continue;
    ASSERT_TRUE(f->is_heartbeat()) << f->describe();
    ++hb;
    c.nop();
  }
  EXPECT_GE(hb, 2) << "expected a heartbeat about every second";
  EXPECT_LE(hb, 5);
  EXPECT_TRUE(c.sync()) << "a client answering heartbeats must stay connected";
}

TEST_F(Protocol, SilentClientIsDisconnectedAfterTwoHeartbeatIntervals) {
  V2Client c(port());
  c.identify(R"({"heartbeat_interval":1000})");
  ASSERT_TRUE(c.expect_ok());
  Stopwatch sw;  // IDENTIFY was the last command
  EXPECT_TRUE(c.expect_closed(Ms(6000)));
  auto ms = sw.ms();
  EXPECT_GE(ms, 1500) << "closed too early";
  EXPECT_LE(ms, 3500) << "closed too late";
  EXPECT_GE(c.heartbeats_seen(), 1);
}

TEST_F(Protocol, SubscribedSilentClientIsDisconnectedToo) {
  V2Client c(port());
  c.identify(R"({"heartbeat_interval":1000})");
  ASSERT_TRUE(c.expect_ok());
  ASSERT_TRUE(c.subscribe(unique_name(), "c"));
  Stopwatch sw;
  EXPECT_TRUE(c.expect_closed(Ms(6000)));
  EXPECT_GE(sw.ms(), 1500);
}

// ---------------------------------------------------------------- sample_rate

TEST_F(Protocol, SampleRateDiscardsUnsampledMessages) {
  auto t = unique_name();
  V2Client sub(port());
  sub.identify(R"({"sample_rate":1})");
  ASSERT_TRUE(sub.expect_ok());
  ASSERT_TRUE(sub.subscribe(t, "c"));
  sub.rdy(kMaxRdy);
  V2Client p(port());
  std::vector<std::string> bodies;
  for (int i = 0; i < 200; ++i) bodies.push_back("s" + std::to_string(i));
  for (int i = 0; i < 200; i += 50) {
    p.mpub(t, std::vector<std::string>(bodies.begin() + i, bodies.begin() + i + 50));
    ASSERT_TRUE(p.expect_ok());
  }
  int delivered = 0;
  while (auto m = sub.try_read_message(Ms(700))) {
    ++delivered;
    sub.fin(m->id);
  }
  // (sample_rate+1)/100 = 2 % expected; unsampled messages are consumed and dropped
  EXPECT_LT(delivered, 30) << "sample_rate 1 should deliver ~2% of 200 messages";
  // the unsampled ones are gone from the channel: a second consumer gets nothing
  V2Client other(port());
  ASSERT_TRUE(other.subscribe(t, "c"));
  other.rdy(kMaxRdy);
  EXPECT_TRUE(other.expect_silence(Ms(500)));
}

}  // namespace
}  // namespace nsqit
