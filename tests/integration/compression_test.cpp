// Snappy and deflate as nsqd v1.3.0 negotiates them in IDENTIFY: grants and caps in the JSON answer, then the
// compressed OK, round trips in both directions (a test client on libsnappy's framing and zlib's raw deflate),
// the order with TLS (OK over TLS, then OK compressed), refusing both at once, and garbage after the upgrade.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon.h"
#include "http_client.h"
#include "secure_client.h"

namespace nsqit {
namespace {

using Json = nlohmann::json;

const TestCerts& certs() {
  static TestCerts c;
  return c;
}

Json identify(SecureClient& c, const std::string& json) {
  c.send_with_body("IDENTIFY", json);
  const Frame f = c.read_frame();
  if (f.type != FrameType::Response) throw ClientError("IDENTIFY: " + f.describe());
  return Json::parse(f.data);
}

// A body that compresses well, bigger than one 64 KiB snappy block, and one that does not compress.
std::string big_body() {
  std::string s;
  for (int i = 0; s.size() < 200000; ++i) s += "message body line " + std::to_string(i % 97) + "\n";
  return s;
}
std::string random_body() {
  std::string s;
  std::uint32_t x = 12345;
  for (int i = 0; i < 70000; ++i) {
    x = x * 1664525u + 1013904223u;
    s.push_back(static_cast<char>(x >> 24));
  }
  return s;
}

::testing::AssertionResult round_trip(SecureClient& c, const std::string& topic) {
  const std::vector<std::string> bodies{"small", big_body(), random_body()};
  for (const auto& b : bodies) {
    c.send_with_body("PUB " + topic, b);
    if (Frame f = c.read_frame(); f.describe() != "response 'OK'") return ::testing::AssertionFailure() << f.describe();
  }
  c.send_line("SUB " + topic + " ch");
  if (Frame f = c.read_frame(); f.describe() != "response 'OK'") return ::testing::AssertionFailure() << f.describe();
  c.send_line("RDY 10");
  for (const auto& b : bodies) {
    const Frame m = c.read_frame();
    if (m.type != FrameType::Message) return ::testing::AssertionFailure() << m.describe();
    const Message msg = parse_message(m.data);
    if (msg.body != b) return ::testing::AssertionFailure() << "body of " << b.size() << " bytes differs";
    c.send_line("FIN " + msg.id);
  }
  return ::testing::AssertionSuccess();
}

Json client_stats(int http_port, const std::string& topic) {
  const Json stats = Json::parse(http_get(http_port, "/stats?format=json&topic=" + topic).body);
  return stats.at("topics").at(0).at("channels").at(0).at("clients").at(0);
}

TEST(Compression, SnappyRoundTripWithFramedStream) {
  Daemon d;
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"snappy":true})");
  EXPECT_TRUE(j.at("snappy").get<bool>());
  EXPECT_FALSE(j.at("deflate").get<bool>());
  c.start_snappy();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  // The server's stream starts with the stream identifier chunk; a small OK travels uncompressed (0x01).
  ASSERT_GE(c.wire_received().size(), 14u);
  EXPECT_EQ(c.wire_received().substr(0, 10), std::string("\xff\x06\x00\x00sNaPpY", 10));
  EXPECT_EQ(c.wire_received()[10], '\x01');
  ASSERT_TRUE(round_trip(c, "snappy_rt"));
  const Json cl = client_stats(d.http_port(), "snappy_rt");
  EXPECT_TRUE(cl.at("snappy").get<bool>());
  EXPECT_FALSE(cl.at("deflate").get<bool>());
  EXPECT_FALSE(cl.at("tls").get<bool>());
}

TEST(Compression, DeflateRoundTripAndLevelCappedByMax) {
  Daemon d({"--max-deflate-level=5"});
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"deflate":true,"deflate_level":9})");
  EXPECT_TRUE(j.at("deflate").get<bool>());
  EXPECT_EQ(j.at("deflate_level"), 5);
  EXPECT_EQ(j.at("max_deflate_level"), 5);
  c.start_deflate(9);
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  // Each flush ends with the sync marker of an empty stored block.
  const std::string& w = c.wire_received();
  ASSERT_GE(w.size(), 4u);
  EXPECT_EQ(w.substr(w.size() - 4), std::string("\x00\x00\xff\xff", 4));
  ASSERT_TRUE(round_trip(c, "deflate_rt"));
  EXPECT_TRUE(client_stats(d.http_port(), "deflate_rt").at("deflate").get<bool>());
}

TEST(Compression, DeflateLevelDefaultsToSixAndIsReportedEvenWhenNotGranted) {
  Daemon d({"--deflate=false"});
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"deflate":true,"deflate_level":2})");
  EXPECT_FALSE(j.at("deflate").get<bool>());
  EXPECT_EQ(j.at("deflate_level"), 6);  // the request is ignored when deflate is not granted
  c.send_with_body("PUB t", "x");        // still plain
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
}

TEST(Compression, SnappyDisabledIsNotGranted) {
  Daemon d({"--snappy=false"});
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"snappy":true})");
  EXPECT_FALSE(j.at("snappy").get<bool>());
  c.send_with_body("PUB t", "x");
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
}

TEST(Compression, BothAtOnceIsFatalUnlessOneIsDisabled) {
  {
    Daemon d;
    SecureClient c(d.tcp_port());
    c.send_with_body("IDENTIFY", R"({"feature_negotiation":true,"snappy":true,"deflate":true})");
    EXPECT_EQ(c.read_frame().describe(), "error 'E_IDENTIFY_FAILED cannot enable both deflate and snappy compression'");
    EXPECT_TRUE(c.closed_within(Ms(3000)));
  }
  {
    Daemon d({"--deflate=false"});
    SecureClient c(d.tcp_port());
    const Json j = identify(c, R"({"feature_negotiation":true,"snappy":true,"deflate":true})");
    EXPECT_TRUE(j.at("snappy").get<bool>());
    EXPECT_FALSE(j.at("deflate").get<bool>());
    c.start_snappy();
    EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  }
}

TEST(Compression, TlsThenSnappyGivesTwoOks) {
  Daemon d({"--tls-cert=" + certs().server_cert, "--tls-key=" + certs().server_key, "--https-address="});
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"tls_v1":true,"snappy":true})");
  EXPECT_TRUE(j.at("tls_v1").get<bool>());
  EXPECT_TRUE(j.at("snappy").get<bool>());
  c.start_tls({});
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");  // over TLS, not compressed
  c.start_snappy();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");  // compressed
  ASSERT_TRUE(round_trip(c, "tls_snappy"));
  const Json cl = client_stats(d.http_port(), "tls_snappy");
  EXPECT_TRUE(cl.at("tls").get<bool>());
  EXPECT_TRUE(cl.at("snappy").get<bool>());
}

TEST(Compression, TlsThenDeflate) {
  Daemon d({"--tls-cert=" + certs().server_cert, "--tls-key=" + certs().server_key, "--https-address="});
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"tls_v1":true,"deflate":true,"deflate_level":1})");
  EXPECT_EQ(j.at("deflate_level"), 1);
  c.start_tls({});
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  c.start_deflate(1);
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  ASSERT_TRUE(round_trip(c, "tls_deflate"));
}

// --durable holds a PUB's OK until its fsync; an IDENTIFY pipelined behind it answers after it, and the snappy
// upgrade must wait for that JSON to leave in the clear.
TEST(Compression, DurablePublishBeforeIdentifyKeepsTheUpgradeInOrder) {
  Daemon d({"--durable"});
  SecureClient c(d.tcp_port());
  c.send("PUB durable_t\n" + be32(1) + "x" + "IDENTIFY\n" + be32(42) +
         R"({"feature_negotiation":true,"snappy":true})");
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  const Frame j = c.read_frame();
  ASSERT_EQ(j.type, FrameType::Response);
  EXPECT_TRUE(Json::parse(j.data).at("snappy").get<bool>());
  c.start_snappy();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  c.send_with_body("PUB durable_t", "y");
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
}

TEST(Compression, GarbageAfterSnappyUpgradeClosesWithoutAFrame) {
  Daemon d;
  SecureClient c(d.tcp_port());
  identify(c, R"({"feature_negotiation":true,"snappy":true})");
  c.start_snappy();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  c.send_plain("NOP\nthis is not a snappy stream\n");  // nsqd: "failed to read command - snappy: corrupt input"
  EXPECT_TRUE(c.closed_within(Ms(3000)));
}

TEST(Compression, GarbageAfterDeflateUpgradeCloses) {
  Daemon d;
  SecureClient c(d.tcp_port());
  identify(c, R"({"feature_negotiation":true,"deflate":true})");
  c.start_deflate();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  c.send_plain(std::string("\xff\xff\xff\xff\xff\xff garbage", 14));  // an invalid block type
  EXPECT_TRUE(c.closed_within(Ms(3000)));
}

TEST(Compression, BodyCutShortInsideSnappyStreamGetsNsqdErrorCompressed) {
  Daemon d;
  SecureClient c(d.tcp_port());
  identify(c, R"({"feature_negotiation":true,"snappy":true})");
  c.start_snappy();
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
  c.send("PUB t\n" + be32(100) + "short");
  c.send_plain("garbage that breaks the snappy stream");
  EXPECT_EQ(c.read_frame().describe(), "error 'E_BAD_MESSAGE PUB failed to read message body'");
}

}  // namespace
}  // namespace nsqit
