// HTTP API against the real nsqd binary (fact sheet §4.1-4.3): /ping, /info, /pub, /mpub, routing errors.
// Every successful publish is proven by consuming the messages over TCP.
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

constexpr int kMaxMsgSize = 1024;
constexpr int kMaxBodySize = 4096;
const std::string kV1Header = "nsq; version=1.0";

class Http : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = std::make_unique<Daemon>(std::vector<std::string>{
        "--max-msg-size=" + std::to_string(kMaxMsgSize),
        "--max-body-size=" + std::to_string(kMaxBodySize),
        "--max-req-timeout=5s",
        "--queue-scan-interval=50ms",
        // hidden option in nsqd (5 s there); shorter so new channels are scanned soon. Bounds in the
        // assertions still allow for nsqd's 5 s.
        "--queue-scan-refresh-interval=500ms",
    });
  }
  static void TearDownTestSuite() { daemon_.reset(); }

  static int hport() { return daemon_->http_port(); }
  static int tport() { return daemon_->tcp_port(); }

  static std::unique_ptr<V2Client> consumer(const std::string& topic, int rdy = 50) {
    auto c = std::make_unique<V2Client>(tport());
    EXPECT_TRUE(c->subscribe(topic, "c"));
    c->rdy(rdy);
    return c;
  }
  // Reads exactly n messages (FINing them) and then checks nothing else arrives.
  static std::multiset<std::string> drain(V2Client& c, int n) {
    std::multiset<std::string> got;
    for (int i = 0; i < n; ++i) {
      Message m = c.read_message();
      got.insert(m.body);
      c.fin(m.id);
    }
    EXPECT_TRUE(c.expect_silence(Ms(300)));
    return got;
  }
  static ::testing::AssertionResult is_error(const HttpResponse& r, int status, const std::string& message) {
    std::string want_body = R"({"message":")" + message + R"("})";
    if (r.status != status || r.body != want_body)
      return ::testing::AssertionFailure() << "expected " << status << " " << want_body << ", got " << r.status
                                           << " '" << r.body << "'";
    if (r.header("x-nsq-content-type") != kV1Header)
      return ::testing::AssertionFailure() << "missing X-NSQ-Content-Type on error " << message;
    return ::testing::AssertionSuccess();
  }
  static ::testing::AssertionResult is_ok_text(const HttpResponse& r) {
    if (r.status != 200 || r.body != "OK")
      return ::testing::AssertionFailure() << "expected 200 OK, got " << r.status << " '" << r.body << "'";
    if (r.header("x-nsq-content-type") != kV1Header)
      return ::testing::AssertionFailure() << "missing X-NSQ-Content-Type: " << kV1Header;
    return ::testing::AssertionSuccess();
  }

  static std::unique_ptr<Daemon> daemon_;
};
std::unique_ptr<Daemon> Http::daemon_;

TEST_F(Http, PingReturnsOkText) {
  auto r = http_get(hport(), "/ping");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
  EXPECT_FALSE(r.has_header("x-nsq-content-type")) << "/ping uses the plain-text wrapper";
}

TEST_F(Http, InfoHasEveryFieldInOrder) {
  auto before = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = http_get(hport(), "/info");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-nsq-content-type"), kV1Header);
  EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
  auto j = nlohmann::ordered_json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected{"version",
                                          "broadcast_address",
                                          "hostname",
                                          "http_port",
                                          "tcp_port",
                                          "start_time",
                                          "max_heartbeat_interval",
                                          "max_output_buffer_size",
                                          "max_output_buffer_timeout",
                                          "max_deflate_level"};
  EXPECT_EQ(keys, expected) << r.body;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(j.value("version", ""), "1.3.0");
  EXPECT_EQ(j.value("hostname", ""), std::string(host));
  EXPECT_EQ(j.value("broadcast_address", ""), std::string(host)) << "broadcast address defaults to the hostname";
  EXPECT_EQ(j.value("http_port", -1), hport());
  EXPECT_EQ(j.value("tcp_port", -1), tport());
  auto st = j.value("start_time", std::int64_t{-1});
  EXPECT_LE(st, before);
  EXPECT_GE(st, before - 120);
  EXPECT_EQ(j.value("max_heartbeat_interval", std::int64_t{-1}), 60'000'000'000LL) << "nanoseconds";
  EXPECT_EQ(j.value("max_output_buffer_size", -1), 65536);
  EXPECT_EQ(j.value("max_output_buffer_timeout", std::int64_t{-1}), 30'000'000'000LL) << "nanoseconds";
  EXPECT_EQ(j.value("max_deflate_level", -1), 6);
}

TEST_F(Http, PubPublishesAMessage) {
  auto t = unique_name();
  auto before = now_unix_ns();
  auto r = http_post(hport(), "/pub?topic=" + t, "hello http");
  EXPECT_TRUE(is_ok_text(r));
  EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
  auto sub = consumer(t);
  Message m = sub->read_message();
  EXPECT_EQ(m.body, "hello http");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_TRUE(is_lower_hex16(m.id));
  EXPECT_GE(m.timestamp_ns, before - 2'000'000'000LL);
  EXPECT_LE(m.timestamp_ns, now_unix_ns() + 2'000'000'000LL);
}

TEST_F(Http, PubBinaryBodyIsPreserved) {
  auto t = unique_name();
  std::string body;
  for (int i = 0; i < 256; ++i) body += static_cast<char>(i);
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t, body)));
  auto sub = consumer(t);
  EXPECT_EQ(sub->read_message().body, body);
}

TEST_F(Http, PubErrors) {
  auto t = unique_name();
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + t, ""), 400, "MSG_EMPTY"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub", "body"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=a:b", "body"), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + std::string(65, 'x'), "body"), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + t + "&defer=abc", "body"), 400, "INVALID_DEFER"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + t + "&defer=-1", "body"), 400, "INVALID_DEFER"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + t + "&defer=5001", "body"), 400, "INVALID_DEFER"));
  EXPECT_TRUE(is_error(http_post(hport(), "/pub?topic=" + t, std::string(kMaxMsgSize + 1, 'x')), 413, "MSG_TOO_BIG"));
  // form bodies are not parameters
  EXPECT_TRUE(is_error(http_request(hport(), "POST", "/pub", "topic=" + t,
                                    {{"Content-Type", "application/x-www-form-urlencoded"}}),
                       400, "MISSING_ARG_TOPIC"));
  // none of the rejected publishes reached the topic
  auto sub = consumer(t);
  EXPECT_TRUE(sub->expect_silence(Ms(500)));
}

TEST_F(Http, PubAtMaxMsgSizeAndMaxDeferAreAccepted) {
  auto t = unique_name();
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t, std::string(kMaxMsgSize, 'm'))));
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t + "&defer=5000", "deferred")));
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t + "&defer=0", "zero")));
  auto sub = consumer(t);
  std::multiset<std::string> got{sub->read_message().body, sub->read_message().body};
  EXPECT_EQ(got, (std::multiset<std::string>{std::string(kMaxMsgSize, 'm'), "zero"}));
}

TEST_F(Http, PubDeferDelaysDelivery) {
  auto t = unique_name();
  auto sub = consumer(t);
  Stopwatch sw;
  ASSERT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t + "&defer=1500", "deferred")));
  ASSERT_TRUE(is_ok_text(http_post(hport(), "/pub?topic=" + t, "immediate")));
  Message first = sub->read_message();
  EXPECT_EQ(first.body, "immediate");
  Message later = sub->read_message(Ms(15000));
  EXPECT_EQ(later.body, "deferred");
  EXPECT_GE(sw.ms(), 1490) << "deferred message delivered before its delay";
}

TEST_F(Http, MpubTextSplitsOnNewlines) {
  auto t = unique_name();
  auto r = http_post(hport(), "/mpub?topic=" + t, "a\nb\r\n\nc\n");
  EXPECT_TRUE(is_ok_text(r));
  auto sub = consumer(t);
  // empty lines skipped; a trailing \r is kept
  EXPECT_EQ(drain(*sub, 3), (std::multiset<std::string>{"a", "b\r", "c"}));
}

TEST_F(Http, MpubTextEmptyBodyPublishesNothing) {
  auto t = unique_name();
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/mpub?topic=" + t, "")));
  auto sub = consumer(t);
  EXPECT_TRUE(sub->expect_silence(Ms(400)));
}

TEST_F(Http, MpubTextErrors) {
  auto t = unique_name();
  EXPECT_TRUE(is_error(http_post(hport(), "/mpub", "a\nb"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(http_post(hport(), "/mpub?topic=a:b", "a\nb"), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(http_post(hport(), "/mpub?topic=" + t, "ok\n" + std::string(kMaxMsgSize + 1, 'x') + "\n"), 413,
                       "MSG_TOO_BIG"));
  std::string big;
  while (big.size() <= static_cast<std::size_t>(kMaxBodySize)) big += "0123456789\n";
  EXPECT_TRUE(is_error(http_post(hport(), "/mpub?topic=" + t, big), 413, "BODY_TOO_BIG"));
  auto sub = consumer(t);
  EXPECT_TRUE(sub->expect_silence(Ms(400))) << "failed /mpub must publish nothing";
}

TEST_F(Http, MpubBinary) {
  auto t = unique_name();
  std::string with_nl = "line1\nline2";
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/mpub?topic=" + t + "&binary=true", mpub_payload({"x", with_nl, "zz"}))));
  EXPECT_TRUE(is_ok_text(http_post(hport(), "/mpub?topic=" + t + "&binary=1", mpub_payload({"one"}) + "trailing")));
  auto sub = consumer(t);
  EXPECT_EQ(drain(*sub, 4), (std::multiset<std::string>{"x", with_nl, "zz", "one"}));
}

TEST_F(Http, MpubBinaryErrors) {
  auto t = unique_name();
  auto url = "/mpub?topic=" + t + "&binary=true";
  EXPECT_TRUE(is_error(http_post(hport(), url, be32(0)), 413, "BAD_BODY"));
  EXPECT_TRUE(is_error(http_post(hport(), url, be32(2) + be32(1) + "a" + be32(0)), 413, "BAD_MESSAGE"));
  EXPECT_TRUE(is_error(http_post(hport(), url, be32(1) + be32(kMaxMsgSize + 1) + std::string(kMaxMsgSize + 1, 'q')),
                       413, "BAD_MESSAGE"));
  std::string big = be32(1) + be32(kMaxBodySize) + std::string(kMaxBodySize, 'b');
  EXPECT_TRUE(is_error(http_post(hport(), url, big), 413, "BODY_TOO_BIG"));
  auto sub = consumer(t);
  EXPECT_TRUE(sub->expect_silence(Ms(400)));
}

TEST_F(Http, RoutingErrors) {
  EXPECT_TRUE(is_error(http_get(hport(), "/does-not-exist"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(http_get(hport(), "/pub?topic=x"), 405, "METHOD_NOT_ALLOWED"));
  EXPECT_TRUE(is_error(http_get(hport(), "/mpub?topic=x"), 405, "METHOD_NOT_ALLOWED"));
  EXPECT_TRUE(is_error(http_post(hport(), "/info", ""), 405, "METHOD_NOT_ALLOWED"));
  EXPECT_EQ(http_post(hport(), "/ping", "").status, 405);
  EXPECT_EQ(http_request(hport(), "HEAD", "/ping").status, 405) << "HEAD is not routed";
  // endpoints removed in 1.0
  EXPECT_TRUE(is_error(http_post(hport(), "/put?topic=x", "a"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(http_post(hport(), "/mput?topic=x", "a"), 404, "NOT_FOUND"));
}

}  // namespace
}  // namespace nsqit
