// The rest of nsqd's HTTP API against the real binary (fact sheet §2.11, §4, §5): /stats field for field,
// topic and channel administration, /config, /debug, routing details, Prometheus /metrics, and the refusal of
// flags whose features nsqd-cpp does not have yet.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

using Json = nlohmann::ordered_json;
const std::string kV1Header = "nsq; version=1.0";

std::vector<std::string> keys_of(const Json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

const std::vector<std::string> kTopicKeys = {"topic_name", "channels",      "depth",  "backend_depth",
                                             "message_count", "message_bytes", "paused", "e2e_processing_latency"};
const std::vector<std::string> kChannelKeys = {"channel_name",   "depth",         "backend_depth", "in_flight_count",
                                               "deferred_count", "message_count", "requeue_count", "timeout_count",
                                               "client_count",   "clients",       "paused",        "e2e_processing_latency"};
const std::vector<std::string> kClientKeys = {
    "client_id",      "hostname",        "version",       "remote_address", "state",
    "ready_count",    "in_flight_count", "message_count", "finish_count",   "requeue_count",
    "connect_ts",     "sample_rate",     "deflate",       "snappy",         "user_agent",
    "tls",            "tls_cipher_suite", "tls_version",  "tls_negotiated_protocol",
    "tls_negotiated_protocol_is_mutual"};
const std::vector<std::string> kMemoryKeys = {"heap_objects",      "heap_idle_bytes",   "heap_in_use_bytes",
                                              "heap_released_bytes", "gc_pause_usec_100", "gc_pause_usec_99",
                                              "gc_pause_usec_95",  "next_gc_bytes",     "gc_total_runs"};

std::vector<std::string> with_pub_counts(std::vector<std::string> keys) {
  keys.insert(std::find(keys.begin(), keys.end(), "tls"), "pub_counts");
  return keys;
}

class HttpApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = std::make_unique<Daemon>(std::vector<std::string>{
        "--max-msg-size=1024",
        "--e2e-processing-latency-percentile=1.0,0.99",
        "--e2e-processing-latency-percentile=0.5",
        "--queue-scan-interval=50ms",
        "--queue-scan-refresh-interval=500ms",
        "--msg-timeout=30s",
    });
  }
  static void TearDownTestSuite() { daemon_.reset(); }
  static int hport() { return daemon_->http_port(); }
  static int tport() { return daemon_->tcp_port(); }

  static HttpResponse post(const std::string& target) { return http_request(hport(), "POST", target); }
  static HttpResponse get(const std::string& target) { return http_request(hport(), "GET", target); }
  static Json get_json(const std::string& target) {
    HttpResponse r = get(target);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return Json::parse(r.body);
  }
  static Json stats(const std::string& query) { return get_json("/stats?format=json&" + query); }

  static ::testing::AssertionResult is_error(const HttpResponse& r, int status, const std::string& message) {
    const std::string want = R"({"message":")" + message + R"("})";
    if (r.status != status || r.body != want)
      return ::testing::AssertionFailure() << "expected " << status << " " << want << ", got " << r.status << " '"
                                           << r.body << "'";
    if (r.header("x-nsq-content-type") != kV1Header) return ::testing::AssertionFailure() << "no X-NSQ-Content-Type";
    if (r.header("content-type") != "application/json; charset=utf-8")
      return ::testing::AssertionFailure() << "content-type " << r.header("content-type");
    return ::testing::AssertionSuccess();
  }
  // 200, empty body, no Content-Type, the V1 header (nsqd's RespondV1 with nil data).
  static ::testing::AssertionResult is_empty_ok(const HttpResponse& r) {
    if (r.status != 200 || !r.body.empty())
      return ::testing::AssertionFailure() << "expected empty 200, got " << r.status << " '" << r.body << "'";
    if (r.has_header("content-type")) return ::testing::AssertionFailure() << "unexpected content-type";
    if (r.header("x-nsq-content-type") != kV1Header) return ::testing::AssertionFailure() << "no X-NSQ-Content-Type";
    return ::testing::AssertionSuccess();
  }

  static ::testing::AssertionResult is_ok_publish(const std::string& topic, const std::string& body) {
    const HttpResponse r = http_request(hport(), "POST", "/pub?topic=" + topic, body);
    if (r.status != 200 || r.body != "OK") return ::testing::AssertionFailure() << r.status << " " << r.body;
    return ::testing::AssertionSuccess();
  }

  static Json find_named(const Json& list, const std::string& key, const std::string& name) {
    for (const auto& item : list)
      if (item.value(key, "") == name) return item;
    ADD_FAILURE() << "no " << key << "=" << name << " in " << list.dump();
    return Json::object();
  }

  static std::unique_ptr<Daemon> daemon_;
};
std::unique_ptr<Daemon> HttpApi::daemon_;

// ---------------------------------------------------------------- topics

TEST_F(HttpApi, TopicCreateDeleteAndErrors) {
  const std::string t = unique_name();
  EXPECT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  EXPECT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));  // idempotent
  EXPECT_EQ(stats("topic=" + t)["topics"].size(), 1u);
  EXPECT_TRUE(is_error(post("/topic/create"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/create?topic="), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/create?topic=a:b"), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/create?topic=%zz"), 400, "INVALID_REQUEST"));

  EXPECT_TRUE(is_error(post("/topic/delete"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/delete?topic=a:b"), 404, "TOPIC_NOT_FOUND"));  // no name validation
  EXPECT_TRUE(is_error(post("/topic/delete?topic=" + t + "_nope"), 404, "TOPIC_NOT_FOUND"));
  EXPECT_TRUE(is_empty_ok(post("/topic/delete?topic=" + t)));
  EXPECT_TRUE(stats("topic=" + t)["topics"].is_null());
  EXPECT_TRUE(is_error(post("/topic/delete?topic=" + t), 404, "TOPIC_NOT_FOUND"));
}

TEST_F(HttpApi, TopicDeleteClosesConsumersAndDropsMessages) {
  const std::string t = unique_name();
  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  ASSERT_TRUE(is_ok_publish(t, "x"));
  EXPECT_TRUE(is_empty_ok(post("/topic/delete?topic=" + t)));
  EXPECT_TRUE(c.expect_closed(Ms(3000)));
  EXPECT_TRUE(stats("topic=" + t)["topics"].is_null());
}

TEST_F(HttpApi, TopicEmptyDropsOnlyTheTopicQueue) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_ok_publish(t, "a"));
  ASSERT_TRUE(is_ok_publish(t, "b"));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["depth"], 2);
  EXPECT_TRUE(is_error(post("/topic/empty"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/empty?topic=a:b"), 400, "INVALID_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/empty?topic=" + t + "_nope"), 404, "TOPIC_NOT_FOUND"));
  EXPECT_TRUE(is_empty_ok(post("/topic/empty?topic=" + t)));
  Json topic = stats("topic=" + t)["topics"][0];
  EXPECT_EQ(topic["depth"], 0);
  EXPECT_EQ(topic["message_count"], 2);  // counters survive
  // A channel's queue is untouched by topic empty.
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=ch")));
  ASSERT_TRUE(is_ok_publish(t, "c"));
  EXPECT_TRUE(is_empty_ok(post("/topic/empty?topic=" + t)));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["channels"][0]["depth"], 1);
}

TEST_F(HttpApi, TopicPauseHoldsMessagesUntilUnpause) {
  const std::string t = unique_name();
  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(10);
  EXPECT_TRUE(is_error(post("/topic/pause"), 400, "MISSING_ARG_TOPIC"));
  EXPECT_TRUE(is_error(post("/topic/pause?topic=a:b"), 404, "TOPIC_NOT_FOUND"));
  EXPECT_TRUE(is_error(post("/topic/unpause?topic=" + t + "_nope"), 404, "TOPIC_NOT_FOUND"));
  EXPECT_TRUE(is_empty_ok(post("/topic/pause?topic=" + t)));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["paused"], true);
  ASSERT_TRUE(is_ok_publish(t, "held"));
  EXPECT_TRUE(c.expect_silence(Ms(300)));
  Json topic = stats("topic=" + t)["topics"][0];
  EXPECT_EQ(topic["depth"], 1);
  EXPECT_EQ(topic["channels"][0]["depth"], 0);
  EXPECT_TRUE(is_empty_ok(post("/topic/unpause?topic=" + t)));
  EXPECT_EQ(c.read_message().body, "held");
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["paused"], false);
}

// ---------------------------------------------------------------- channels

TEST_F(HttpApi, ChannelEndpointsArgumentErrors) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  for (const std::string op : {"create", "delete", "empty", "pause", "unpause"}) {
    SCOPED_TRACE(op);
    const std::string base = "/channel/" + op;
    EXPECT_TRUE(is_error(post(base), 400, "MISSING_ARG_TOPIC"));
    EXPECT_TRUE(is_error(post(base + "?channel=c"), 400, "MISSING_ARG_TOPIC"));
    EXPECT_TRUE(is_error(post(base + "?topic=a:b&channel=c"), 400, "INVALID_ARG_TOPIC"));
    EXPECT_TRUE(is_error(post(base + "?topic=" + t), 400, "MISSING_ARG_CHANNEL"));
    EXPECT_TRUE(is_error(post(base + "?topic=" + t + "&channel=b:c"), 400, "INVALID_ARG_CHANNEL"));
    EXPECT_TRUE(is_error(post(base + "?topic=" + t + "_nope&channel=c"), 404, "TOPIC_NOT_FOUND"));
    EXPECT_TRUE(is_error(post(base + "?topic=%zz"), 400, "INVALID_REQUEST"));
    if (op != "create") {
      EXPECT_TRUE(is_error(post(base + "?topic=" + t + "&channel=nope"), 404, "CHANNEL_NOT_FOUND"));
    }
  }
}

TEST_F(HttpApi, ChannelCreatePauseUnpauseDelete) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  EXPECT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=ch")));
  EXPECT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=ch")));
  Json ch = stats("topic=" + t)["topics"][0]["channels"][0];
  EXPECT_EQ(ch["channel_name"], "ch");
  EXPECT_EQ(ch["paused"], false);

  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(10);
  EXPECT_TRUE(is_empty_ok(post("/channel/pause?topic=" + t + "&channel=ch")));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["channels"][0]["paused"], true);
  ASSERT_TRUE(is_ok_publish(t, "p"));
  EXPECT_TRUE(c.expect_silence(Ms(300)));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["channels"][0]["depth"], 1);  // the topic still feeds the channel
  EXPECT_TRUE(is_empty_ok(post("/channel/unpause?topic=" + t + "&channel=ch")));
  Message m = c.read_message();
  EXPECT_EQ(m.body, "p");
  c.fin(m.id);

  EXPECT_TRUE(is_empty_ok(post("/channel/delete?topic=" + t + "&channel=ch")));
  EXPECT_TRUE(c.expect_closed(Ms(3000)));  // its subscribers are closed
  EXPECT_TRUE(stats("topic=" + t)["topics"][0]["channels"].empty());
  EXPECT_TRUE(is_error(post("/channel/delete?topic=" + t + "&channel=ch"), 404, "CHANNEL_NOT_FOUND"));
}

TEST_F(HttpApi, ChannelEmptyClearsQueueInFlightAndDeferred) {
  const std::string t = unique_name();
  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(1);
  ASSERT_TRUE(is_ok_publish(t, "one"));
  ASSERT_TRUE(is_ok_publish(t, "two"));
  Message first = c.read_message();
  V2Client p(tport());
  p.dpub(t, 60000, "later");
  ASSERT_TRUE(p.expect_ok());
  Json ch = stats("topic=" + t)["topics"][0]["channels"][0];
  EXPECT_EQ(ch["depth"], 1);
  EXPECT_EQ(ch["in_flight_count"], 1);
  EXPECT_EQ(ch["deferred_count"], 1);
  EXPECT_TRUE(is_empty_ok(post("/channel/empty?topic=" + t + "&channel=ch")));
  ch = stats("topic=" + t)["topics"][0]["channels"][0];
  EXPECT_EQ(ch["depth"], 0);
  EXPECT_EQ(ch["in_flight_count"], 0);
  EXPECT_EQ(ch["deferred_count"], 0);
  EXPECT_EQ(ch["clients"][0]["in_flight_count"], 0);
  c.fin(first.id);
  EXPECT_TRUE(c.expect_error("E_FIN_FAILED FIN " + first.id + " failed ID not in flight"));
}

// ---------------------------------------------------------------- /stats

// Publishes, consumes, FINs, REQs and lets one message time out, then checks every field nsqd reports.
TEST_F(HttpApi, StatsJsonFieldByField) {
  const std::string t = unique_name();
  const std::string producer_id = unique_name("prod");
  const std::int64_t before_s = now_unix_ns() / 1'000'000'000;

  V2Client p(tport());
  p.identify(R"({"client_id":")" + producer_id + R"(","hostname":"producer.host","user_agent":"ptest/1.0"})");
  ASSERT_EQ(p.read_reply().type, FrameType::Response);
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=other")));

  V2Client c(tport());
  c.identify(R"({"client_id":"consumer1","hostname":"consumer.host","user_agent":"ctest/2.0","msg_timeout":1000})");
  ASSERT_EQ(c.read_reply().type, FrameType::Response);
  ASSERT_TRUE(c.subscribe(t, "ch"));

  std::uint64_t bytes = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string body = "message-" + std::to_string(i);
    bytes += body.size();
    ASSERT_TRUE(p.publish(t, body));
  }
  p.dpub(t, 600000, "deferred");
  ASSERT_TRUE(p.expect_ok());
  bytes += 8;

  c.rdy(1);
  Message m1 = c.read_message();
  c.fin(m1.id);  // finish 1, e2e sample 1
  Message m2 = c.read_message();
  c.req(m2.id, 0);  // requeue 1
  Message m3 = c.read_message();
  c.rdy(0);  // m3 will time out (msg_timeout 1 s) and nothing else is delivered
  ASSERT_TRUE(c.sync());
  Stopwatch sw;
  Json ch;
  while (sw.ms() < 8000) {
    ch = find_named(stats("topic=" + t)["topics"][0]["channels"], "channel_name", "ch");
    if (ch["timeout_count"] == 1) break;
    std::this_thread::sleep_for(Ms(100));
  }

  const HttpResponse raw = get("/stats?format=json&topic=" + t);
  EXPECT_EQ(raw.header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(raw.header("x-nsq-content-type"), kV1Header);
  const Json s = Json::parse(raw.body);
  EXPECT_EQ(keys_of(s), (std::vector<std::string>{"version", "health", "start_time", "topics", "memory", "producers"}));
  EXPECT_EQ(s["version"], "1.3.0");
  EXPECT_EQ(s["health"], "OK");
  EXPECT_LE(s["start_time"].get<std::int64_t>(), before_s);
  EXPECT_GT(s["start_time"].get<std::int64_t>(), before_s - 600);
  EXPECT_EQ(keys_of(s["memory"]), kMemoryKeys);
  EXPECT_GT(s["memory"]["heap_in_use_bytes"].get<std::int64_t>(), 0);
  EXPECT_GE(s["memory"]["heap_objects"].get<std::int64_t>(), 9);  // this topic alone holds 9 messages
  EXPECT_EQ(s["memory"]["gc_total_runs"], 0);

  ASSERT_EQ(s["topics"].size(), 1u);
  const Json topic = s["topics"][0];
  EXPECT_EQ(keys_of(topic), kTopicKeys);
  EXPECT_EQ(topic["topic_name"], t);
  EXPECT_EQ(topic["depth"], 0);
  EXPECT_EQ(topic["backend_depth"], 0);
  EXPECT_EQ(topic["message_count"], 6);
  EXPECT_EQ(topic["message_bytes"], bytes);
  EXPECT_EQ(topic["paused"], false);
  ASSERT_EQ(topic["channels"].size(), 2u);
  EXPECT_EQ(topic["channels"][0]["channel_name"], "ch");  // sorted by name
  EXPECT_EQ(topic["channels"][1]["channel_name"], "other");

  ch = topic["channels"][0];
  EXPECT_EQ(keys_of(ch), kChannelKeys);
  EXPECT_EQ(ch["depth"], 4);  // m4, m5, m2 (requeued), m3 (timed out)
  EXPECT_EQ(ch["backend_depth"], 0);
  EXPECT_EQ(ch["in_flight_count"], 0);
  EXPECT_EQ(ch["deferred_count"], 1);
  EXPECT_EQ(ch["message_count"], 6);
  EXPECT_EQ(ch["requeue_count"], 1);
  EXPECT_EQ(ch["timeout_count"], 1);
  EXPECT_EQ(ch["client_count"], 1);
  EXPECT_EQ(ch["paused"], false);
  const Json e2e = ch["e2e_processing_latency"];
  EXPECT_EQ(keys_of(e2e), (std::vector<std::string>{"count", "percentiles"}));
  EXPECT_EQ(e2e["count"], 1);
  ASSERT_EQ(e2e["percentiles"].size(), 3u);
  EXPECT_EQ(e2e["percentiles"][0].dump().substr(0, 14), R"({"quantile":1,)");  // 1, not 1.0
  EXPECT_EQ(e2e["percentiles"][1]["quantile"], 0.99);
  EXPECT_EQ(e2e["percentiles"][2]["quantile"], 0.5);
  const double latency = e2e["percentiles"][0]["value"].get<double>();
  EXPECT_GT(latency, 0);
  EXPECT_LT(latency, 10e9);
  for (const auto& pct : e2e["percentiles"]) {
    EXPECT_EQ(keys_of(pct), (std::vector<std::string>{"quantile", "value"}));
    EXPECT_EQ(pct["value"].get<double>(), latency);  // one sample
  }
  // The topic's latency is the merge of its channels'.
  EXPECT_EQ(topic["e2e_processing_latency"]["count"], 1);
  EXPECT_EQ(topic["e2e_processing_latency"]["percentiles"][0]["value"].get<double>(), latency);

  const Json other = topic["channels"][1];
  EXPECT_EQ(other["depth"], 5);
  EXPECT_EQ(other["deferred_count"], 1);
  EXPECT_EQ(other["message_count"], 6);
  EXPECT_EQ(other["client_count"], 0);
  EXPECT_EQ(other["clients"], Json::array());
  EXPECT_EQ(other["e2e_processing_latency"].dump(),
            R"({"count":0,"percentiles":[{"quantile":1,"value":0},{"quantile":0.99,"value":0},{"quantile":0.5,"value":0}]})");

  ASSERT_EQ(ch["clients"].size(), 1u);
  const Json client = ch["clients"][0];
  EXPECT_EQ(keys_of(client), kClientKeys);
  EXPECT_EQ(client["client_id"], "consumer1");
  EXPECT_EQ(client["hostname"], "consumer.host");
  EXPECT_EQ(client["version"], "V2");
  EXPECT_EQ(client["remote_address"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(client["state"], 3);
  EXPECT_EQ(client["ready_count"], 0);
  EXPECT_EQ(client["in_flight_count"], 0);
  EXPECT_EQ(client["message_count"], 3);
  EXPECT_EQ(client["finish_count"], 1);
  EXPECT_EQ(client["requeue_count"], 1);
  EXPECT_GE(client["connect_ts"].get<std::int64_t>(), before_s);
  EXPECT_LE(client["connect_ts"].get<std::int64_t>(), before_s + 30);
  EXPECT_EQ(client["sample_rate"], 0);
  EXPECT_EQ(client["deflate"], false);
  EXPECT_EQ(client["snappy"], false);
  EXPECT_EQ(client["user_agent"], "ctest/2.0");
  EXPECT_EQ(client["tls"], false);
  EXPECT_EQ(client["tls_cipher_suite"], "");
  EXPECT_EQ(client["tls_version"], "");
  EXPECT_EQ(client["tls_negotiated_protocol"], "");
  EXPECT_EQ(client["tls_negotiated_protocol_is_mutual"], false);

  const Json producer = find_named(s["producers"], "client_id", producer_id);
  EXPECT_EQ(keys_of(producer), with_pub_counts(kClientKeys));
  EXPECT_EQ(producer["hostname"], "producer.host");
  EXPECT_EQ(producer["user_agent"], "ptest/1.0");
  EXPECT_EQ(producer["state"], 0);
  EXPECT_EQ(producer["message_count"], 0);
  EXPECT_EQ(producer["pub_counts"], Json::parse(R"([{"topic":")" + t + R"(","count":6}])"));
  (void)m3;
}

TEST_F(HttpApi, StatsFiltersAndToggles) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=alpha")));
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=beta")));
  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "alpha"));
  ASSERT_TRUE(c.publish(t, "x"));  // also a producer

  Json s = stats("topic=" + t + "_nope");
  EXPECT_TRUE(s["topics"].is_null());
  EXPECT_TRUE(s["producers"].is_null());
  EXPECT_TRUE(s.contains("memory"));

  s = stats("topic=" + t + "&channel=nope");
  EXPECT_EQ(s["topics"], Json::array());

  s = stats("topic=" + t + "&channel=beta");
  ASSERT_EQ(s["topics"].size(), 1u);
  ASSERT_EQ(s["topics"][0]["channels"].size(), 1u);
  EXPECT_EQ(s["topics"][0]["channels"][0]["channel_name"], "beta");

  // A channel filter alone keeps only the topics that have such a channel.
  const std::string only = "only_" + t.substr(0, 40);
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=" + only)));
  s = stats("channel=" + only);
  ASSERT_EQ(s["topics"].size(), 1u);
  EXPECT_EQ(s["topics"][0]["topic_name"], t);

  for (const std::string off : {"false", "0"}) {
    s = stats("topic=" + t + "&channel=alpha&include_clients=" + off);
    EXPECT_TRUE(s["topics"][0]["channels"][0]["clients"].is_null());
    EXPECT_EQ(s["topics"][0]["channels"][0]["client_count"], 1);
    EXPECT_TRUE(s["producers"].is_null());
    s = stats("topic=" + t + "&include_mem=" + off);
    EXPECT_FALSE(s.contains("memory"));
    EXPECT_EQ(keys_of(s), (std::vector<std::string>{"version", "health", "start_time", "topics", "producers"}));
  }
  for (const std::string on : {"true", "1", "yes", ""}) {
    s = stats("topic=" + t + "&channel=alpha&include_clients=" + on + "&include_mem=" + on);
    EXPECT_EQ(s["topics"][0]["channels"][0]["clients"].size(), 1u) << on;
    EXPECT_TRUE(s.contains("memory")) << on;
  }
  EXPECT_TRUE(is_error(get("/stats?topic=%zz"), 400, "INVALID_REQUEST"));
  EXPECT_TRUE(is_error(post("/stats"), 405, "METHOD_NOT_ALLOWED"));
}

TEST_F(HttpApi, StatsTextFormat) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  ASSERT_TRUE(is_empty_ok(post("/channel/create?topic=" + t + "&channel=ch")));
  ASSERT_TRUE(is_empty_ok(post("/channel/pause?topic=" + t + "&channel=ch")));
  V2Client c(tport());
  c.identify(R"({"hostname":"texthost","user_agent":"tua"})");
  ASSERT_EQ(c.read_reply().type, FrameType::Response);
  ASSERT_TRUE(c.subscribe(t, "ch"));
  V2Client p(tport());
  p.identify(R"({"hostname":"pubhost","user_agent":"pua"})");
  ASSERT_EQ(p.read_reply().type, FrameType::Response);
  ASSERT_TRUE(p.publish(t, "x"));

  for (const std::string query : {"", "format=text&", "format=xml&"}) {
    const HttpResponse r = get("/stats?" + query + "topic=" + t);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.header("x-nsq-content-type"), kV1Header);
    std::istringstream in(r.body);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_GE(lines.size(), 20u) << r.body;
    EXPECT_EQ(lines[0], "nsqd v1.3.0 (built w/nsqd-cpp)");
    EXPECT_EQ(lines[1].rfind("start_time 20", 0), 0u) << lines[1];
    EXPECT_EQ(lines[1].back(), 'Z');
    EXPECT_EQ(lines[2].rfind("uptime ", 0), 0u);
    EXPECT_EQ(lines[3], "");
    EXPECT_EQ(lines[4], "Health: OK");
    EXPECT_EQ(lines[5], "");
    EXPECT_EQ(lines[6], "Memory:");
    EXPECT_EQ(lines[7].rfind("   heap_objects             \t", 0), 0u) << lines[7];
    EXPECT_EQ(lines[15].rfind("   gc_total_runs            \t0", 0), 0u) << lines[15];
    EXPECT_EQ(lines[16], "");
    EXPECT_EQ(lines[17], "Topics:");
    char topic_line[256];
    std::snprintf(topic_line, sizeof(topic_line), "   [%-15s] depth: 0     be-depth: 0     msgs: 1        e2e%%: ",
                  t.c_str());
    EXPECT_EQ(lines[18].substr(0, std::string(topic_line).size()), topic_line);
    EXPECT_EQ(lines[19].rfind("   *P [ch                       ] depth: 1     be-depth: 0     inflt: 0    def: 0    "
                              "re-q: 0     timeout: 0     msgs: 1        e2e%: 0.0ns, 0.0ns, 0.0ns",
                              0),
              0u)
        << lines[19];
    EXPECT_EQ(lines[20].rfind("        [V2 texthost:", 0), 0u) << lines[20];
    EXPECT_NE(lines[20].find(" tua"), std::string::npos);
    EXPECT_NE(lines[20].find("] state: 3 inflt: 0    rdy: 0    fin: 0        re-q: 0        msgs: 0        connected: "),
              std::string::npos)
        << lines[20];
    EXPECT_NE(r.body.find("\nProducers:\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\n   [V2 pubhost:"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("] msgs: 1        topics: " + t + "=1 connected: "), std::string::npos) << r.body;
  }
  const HttpResponse none = get("/stats?include_mem=false&topic=" + t + "_nope");
  EXPECT_NE(none.body.find("\nHealth: OK\n\nTopics: None\n\nProducers: None\n"), std::string::npos) << none.body;
  EXPECT_EQ(none.body.find("Memory:"), std::string::npos);
}

// E2E latency off (the default): every topic and channel reports {"count":0,"percentiles":null}.
TEST(HttpApiE2e, DisabledAndChannellessTopics) {
  Daemon d;
  const std::string t = unique_name();
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(1);
  ASSERT_TRUE(c.publish(t, "x"));
  Message m = c.read_message();
  c.fin(m.id);
  ASSERT_TRUE(c.sync());
  const Json s = Json::parse(http_get(d.http_port(), "/stats?format=json&topic=" + t).body);
  ASSERT_EQ(s["topics"].size(), 1u) << s.dump();
  ASSERT_EQ(s["topics"][0]["channels"].size(), 1u) << s.dump();
  const std::string off = R"({"count":0,"percentiles":null})";
  EXPECT_EQ(s["topics"][0]["e2e_processing_latency"].dump(), off);
  EXPECT_EQ(s["topics"][0]["channels"][0]["e2e_processing_latency"].dump(), off);
  EXPECT_EQ(http_get(d.http_port(), "/config/e2e_processing_latency_percentiles").body, "null");
}

TEST_F(HttpApi, E2eTopicWithoutChannelsHasNoPercentiles) {
  const std::string t = unique_name();
  ASSERT_TRUE(is_empty_ok(post("/topic/create?topic=" + t)));
  EXPECT_EQ(stats("topic=" + t)["topics"][0]["e2e_processing_latency"].dump(), R"({"count":0,"percentiles":null})");
}

TEST_F(HttpApi, E2eQuantilesOrderAndSpread) {
  const std::string t = unique_name();
  V2Client c(tport());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.publish(t, "m" + std::to_string(i)));
  c.rdy(1);
  for (int i = 0; i < 20; ++i) {
    Message m = c.read_message();
    if (i >= 15) std::this_thread::sleep_for(Ms(30));  // a slow tail
    c.fin(m.id);
  }
  ASSERT_TRUE(c.sync());
  const Json e2e = stats("topic=" + t)["topics"][0]["channels"][0]["e2e_processing_latency"];
  EXPECT_EQ(e2e["count"], 20);
  const double p100 = e2e["percentiles"][0]["value"];
  const double p99 = e2e["percentiles"][1]["value"];
  const double p50 = e2e["percentiles"][2]["value"];
  EXPECT_GE(p100, p99);
  EXPECT_GT(p99, p50);
  EXPECT_GE(p100, 100e6);  // the last one waited for the slow tail
}

// ---------------------------------------------------------------- /config

TEST_F(HttpApi, ConfigGetRendersValuesAsNsqd) {
  auto config = [](const std::string& opt) { return get("/config/" + opt); };
  const HttpResponse timeout = config("msg_timeout");
  EXPECT_EQ(timeout.status, 200);
  EXPECT_EQ(timeout.body, "30000000000");  // ns
  EXPECT_EQ(timeout.header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(timeout.header("x-nsq-content-type"), kV1Header);
  EXPECT_EQ(config("max_msg_size").body, "1024");
  EXPECT_EQ(config("log_level").body, "2");
  EXPECT_EQ(config("tls_min_version").body, "769");
  EXPECT_EQ(config("tls_required").body, "0");
  EXPECT_EQ(config("deflate").body, "true");
  EXPECT_EQ(config("statsd_mem_stats").body, "true");
  EXPECT_EQ(config("e2e_processing_latency_percentiles").body, "[1,0.99,0.5]");
  EXPECT_EQ(config("e2e_processing_latency_window_time").body, "600000000000");
  EXPECT_EQ(config("nsqlookupd_tcp_addresses").body, "[]");
  EXPECT_EQ(config("broadcast_tcp_port").body, std::to_string(tport()));  // 0 resolves to the bound port
  EXPECT_EQ(config("broadcast_http_port").body, std::to_string(hport()));
  const HttpResponse id = config("id");
  EXPECT_GE(std::stoi(id.body), 0);
  EXPECT_LT(std::stoi(id.body), 1024);
  // Strings are sent raw, as text.
  const HttpResponse http_address = config("http_address");
  EXPECT_EQ(http_address.body, "127.0.0.1:0");  // as given, like nsqd
  EXPECT_EQ(http_address.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(config("log_prefix").body, "[nsqd] ");
  const HttpResponse prefix = config("statsd_prefix");  // nsq.%s with the host substituted
  EXPECT_EQ(prefix.body.rfind("nsq.", 0), 0u);
  EXPECT_NE(prefix.body.find("_" + std::to_string(hport()) + "."), std::string::npos) << prefix.body;
  const HttpResponse empty = config("tls_cert");
  EXPECT_TRUE(is_empty_ok(empty));
  // Options without a flag in nsqd (hidden ones) and unknown names.
  for (const std::string bad : {"queue_scan_interval", "client_timeout", "node_id", "nope", "verbose"}) {
    EXPECT_TRUE(is_error(config(bad), 400, "INVALID_OPTION")) << bad;
  }
  EXPECT_TRUE(is_error(get("/config/"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(http_request(hport(), "POST", "/config/msg_timeout"), 405, "METHOD_NOT_ALLOWED"));
}

TEST(HttpApiConfig, PutLookupdAddressesAndLogLevel) {
  Daemon d;
  const int port = d.http_port();
  auto put = [port](const std::string& opt, const std::string& body) {
    return http_request(port, "PUT", "/config/" + opt, body);
  };
  HttpResponse r = put("nsqlookupd_tcp_addresses", R"(["127.0.0.1:4160","127.0.0.1:4161"])");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"(["127.0.0.1:4160","127.0.0.1:4161"])");
  EXPECT_EQ(http_get(port, "/config/nsqlookupd_tcp_addresses").body, R"(["127.0.0.1:4160","127.0.0.1:4161"])");
  EXPECT_EQ(put("nsqlookupd_tcp_addresses", "[]").body, "[]");
  for (const std::string bad : {R"("x")", "[1]", "{", "{}"}) {
    r = put("nsqlookupd_tcp_addresses", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body, R"({"message":"INVALID_VALUE"})");
  }
  r = put("log_level", "DEBUG");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "1");
  // The level really changes: at warn, a new connection's INFO line is not logged; back at info it is.
  EXPECT_EQ(put("log_level", "warn").body, "3");
  auto count_new_client_lines = [](const std::string& out) {
    std::size_t n = 0;
    for (auto pos = out.find("TCP: new client"); pos != std::string::npos; pos = out.find("TCP: new client", pos + 1)) ++n;
    return n;
  };
  auto new_client_lines = [&] { return count_new_client_lines(d.output()); };
  const std::size_t before = new_client_lines();
  {
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.sync());
  }
  EXPECT_EQ(new_client_lines(), before);
  EXPECT_EQ(put("log_level", "Info").body, "2");
  {
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.sync());
  }
  EXPECT_TRUE(d.process().wait_output(
      [&](const std::string& out) { return count_new_client_lines(out) > before; }, Ms(3000)));
  EXPECT_EQ(put("log_level", "warn").body, "3");
  r = put("log_level", "loud");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"message":"INVALID_VALUE"})");
  r = put("log_level", "");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"message":"INVALID_VALUE"})");
  r = put("log_level", std::string(1024 * 1024 + 1, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"message":"INVALID_VALUE"})");
  r = put("msg_timeout", "5");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"message":"INVALID_OPTION"})");
  EXPECT_EQ(http_get(port, "/config/log_level").body, "3");
}

// ---------------------------------------------------------------- /debug and routing

TEST_F(HttpApi, DebugEndpoints) {
  for (const std::string path : {"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/profile",
                                 "/debug/pprof/heap", "/debug/pprof/goroutine", "/debug/pprof/block",
                                 "/debug/pprof/threadcreate"}) {
    const HttpResponse r = get(path);
    EXPECT_EQ(r.status, 501) << path;
    const Json body = Json::parse(r.body);
    EXPECT_NE(body["message"].get<std::string>().find("Go runtime"), std::string::npos) << r.body;
  }
  EXPECT_EQ(post("/debug/pprof/symbol").status, 501);
  // nsqd answers these two with 500 even when they succeed.
  EXPECT_TRUE(is_error(post("/debug/freememory"), 500, "INTERNAL_ERROR"));
  EXPECT_TRUE(is_error(http_request(hport(), "PUT", "/debug/setblockrate?rate=1"), 500, "INTERNAL_ERROR"));
  HttpResponse r = http_request(hport(), "PUT", "/debug/setblockrate?rate=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"(invalid block rate : strconv.Atoi: parsing "x": invalid syntax)");
  EXPECT_FALSE(r.has_header("x-nsq-content-type"));
  r = http_request(hport(), "PUT", "/debug/setblockrate");
  EXPECT_EQ(r.body, R"(invalid block rate : strconv.Atoi: parsing "": invalid syntax)");
  r = http_request(hport(), "PUT", "/debug/setblockrate?rate=99999999999999999999");
  EXPECT_EQ(r.body, R"(invalid block rate : strconv.Atoi: parsing "99999999999999999999": value out of range)");
  EXPECT_TRUE(is_error(get("/debug/pprof/nope"), 404, "NOT_FOUND"));
}

TEST_F(HttpApi, RoutingRedirectsAndErrors) {
  HttpResponse r = get("/stats/");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("location"), "/stats");
  EXPECT_EQ(r.body, "<a href=\"/stats\">Moved Permanently</a>.\n\n");
  r = get("/debug/pprof");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("location"), "/debug/pprof/");
  r = post("/topic/create/?topic=x");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("location"), "/topic/create?topic=x");
  EXPECT_TRUE(is_error(post("/stats/"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(get("/topic/create"), 405, "METHOD_NOT_ALLOWED"));
  EXPECT_EQ(get("/topic/create").header("allow"), "OPTIONS, POST");
  r = http_request(hport(), "DELETE", "/config/x");
  EXPECT_TRUE(is_error(r, 405, "METHOD_NOT_ALLOWED"));
  EXPECT_EQ(r.header("allow"), "GET, OPTIONS, PUT");
  EXPECT_TRUE(is_error(get("/create_topic?topic=x"), 404, "NOT_FOUND"));  // removed in 1.0
  EXPECT_TRUE(is_error(get("/config/x/y"), 404, "NOT_FOUND"));
}

// ---------------------------------------------------------------- /metrics

struct MetricLine {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text exposition format strictly enough to catch malformed output.
::testing::AssertionResult parse_metrics(const std::string& text, std::vector<MetricLine>& out,
                                         std::map<std::string, std::string>& types) {
  std::istringstream in(text);
  std::set<std::string> helped;
  std::string current_family;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) return ::testing::AssertionFailure() << "empty line";
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      if (!helped.insert(name).second) return ::testing::AssertionFailure() << "HELP twice for " << name;
      current_family = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name, type;
      f >> name >> type;
      if (name != current_family) return ::testing::AssertionFailure() << "TYPE without HELP: " << line;
      if (type != "gauge" && type != "counter") return ::testing::AssertionFailure() << "type " << type;
      if (types.count(name)) return ::testing::AssertionFailure() << "TYPE twice for " << name;
      types[name] = type;
      continue;
    }
    if (line[0] == '#') return ::testing::AssertionFailure() << "stray comment " << line;
    MetricLine m;
    std::size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
    m.name = line.substr(0, i);
    if (m.name != current_family) return ::testing::AssertionFailure() << "sample outside its family: " << line;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        const auto eq = line.find('=', i);
        const std::string key = line.substr(i, eq - i);
        if (line[eq + 1] != '"') return ::testing::AssertionFailure() << "unquoted label: " << line;
        std::string value;
        std::size_t j = eq + 2;
        for (; line[j] != '"'; ++j) {
          if (line[j] == '\\') ++j;
          value += line[j];
        }
        m.labels[key] = value;
        i = j + 1;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    if (line[i] != ' ') return ::testing::AssertionFailure() << "no space before value: " << line;
    const std::string value = line.substr(i + 1);
    char* end = nullptr;
    m.value = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') return ::testing::AssertionFailure() << "bad value: " << line;
    out.push_back(m);
  }
  return ::testing::AssertionSuccess();
}

TEST_F(HttpApi, PrometheusMetrics) {
  const std::string t = unique_name();
  V2Client c(tport());
  c.identify(R"({"msg_timeout":1000})");
  ASSERT_EQ(c.read_reply().type, FrameType::Response);
  ASSERT_TRUE(c.subscribe(t, "ch"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c.publish(t, "abcd"));
  c.rdy(1);
  Message m1 = c.read_message();
  c.fin(m1.id);
  Message m2 = c.read_message();
  c.req(m2.id, 0);
  c.read_message();  // times out
  c.rdy(0);
  ASSERT_TRUE(c.sync());
  Stopwatch sw;
  while (sw.ms() < 8000 && stats("topic=" + t)["topics"][0]["channels"][0]["timeout_count"] != 1)
    std::this_thread::sleep_for(Ms(100));

  const HttpResponse r = get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  std::vector<MetricLine> lines;
  std::map<std::string, std::string> types;
  ASSERT_TRUE(parse_metrics(r.body, lines, types)) << r.body;

  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) -> std::optional<double> {
    for (const auto& l : lines)
      if (l.name == name && l.labels == labels) return l.value;
    return std::nullopt;
  };
  const std::map<std::string, std::string> tl{{"topic", t}};
  const std::map<std::string, std::string> cl{{"topic", t}, {"channel", "ch"}};
  EXPECT_EQ(value("nsqd_topic_depth", tl), 0);
  EXPECT_EQ(value("nsqd_topic_backend_depth", tl), 0);
  EXPECT_EQ(value("nsqd_topic_messages_total", tl), 4);
  EXPECT_EQ(value("nsqd_topic_message_bytes_total", tl), 16);
  EXPECT_EQ(value("nsqd_topic_channels", tl), 1);
  EXPECT_EQ(value("nsqd_topic_paused", tl), 0);
  EXPECT_EQ(value("nsqd_channel_depth", cl), 3);
  EXPECT_EQ(value("nsqd_channel_backend_depth", cl), 0);
  EXPECT_EQ(value("nsqd_channel_in_flight", cl), 0);
  EXPECT_EQ(value("nsqd_channel_deferred", cl), 0);
  EXPECT_EQ(value("nsqd_channel_messages_total", cl), 4);
  EXPECT_EQ(value("nsqd_channel_requeued_total", cl), 1);
  EXPECT_EQ(value("nsqd_channel_timed_out_total", cl), 1);
  EXPECT_EQ(value("nsqd_channel_clients", cl), 1);
  EXPECT_EQ(value("nsqd_channel_paused", cl), 0);
  EXPECT_EQ(value("nsqd_channel_e2e_processing_latency_samples", cl), 1);
  const auto p99 = value("nsqd_channel_e2e_processing_latency_seconds",
                         {{"topic", t}, {"channel", "ch"}, {"quantile", "0.99"}});
  ASSERT_TRUE(p99.has_value());
  EXPECT_GT(*p99, 0);
  EXPECT_LT(*p99, 10);
  EXPECT_TRUE(value("nsqd_topic_e2e_processing_latency_seconds", {{"topic", t}, {"quantile", "1"}}).has_value());
  EXPECT_TRUE(value("nsqd_topic_e2e_processing_latency_seconds", {{"topic", t}, {"quantile", "0.5"}}).has_value());

  EXPECT_EQ(types["nsqd_topic_messages_total"], "counter");
  EXPECT_EQ(types["nsqd_channel_requeued_total"], "counter");
  EXPECT_EQ(types["nsqd_channel_depth"], "gauge");
  EXPECT_EQ(types["process_cpu_seconds_total"], "counter");
  EXPECT_EQ(value("nsqd_info", {{"version", "1.3.0"}}), 1);
  EXPECT_EQ(value("nsqd_healthy", {}), 1);
  EXPECT_GE(value("nsqd_clients", {}).value_or(0), 1);
  EXPECT_GE(value("nsqd_producers", {}).value_or(0), 1);
  EXPECT_GE(value("nsqd_topics", {}).value_or(0), 1);
  EXPECT_GT(value("process_resident_memory_bytes", {}).value_or(0), 1e6);
  EXPECT_GT(value("process_virtual_memory_bytes", {}).value_or(0), 1e6);
  EXPECT_GE(value("process_cpu_seconds_total", {}).value_or(-1), 0);
  EXPECT_GE(value("process_open_fds", {}).value_or(0), 4);  // listeners, our client, the HTTP connection
  EXPECT_GT(value("process_max_fds", {}).value_or(0), 0);
  const double start = value("process_start_time_seconds", {}).value_or(0);
  const double now_s = static_cast<double>(now_unix_ns()) / 1e9;
  EXPECT_GT(start, now_s - 600);
  EXPECT_LE(start, now_s);
  EXPECT_NEAR(value("nsqd_start_time_seconds", {}).value_or(0), start, 2);
  EXPECT_TRUE(is_error(post("/metrics"), 405, "METHOD_NOT_ALLOWED"));
}

// ---------------------------------------------------------------- TLS flags at start-up

TEST(HttpApiFlags, TlsFlagsFailAsNsqdOrAreAccepted) {
  TempDir tmp;
  // TLS flags are implemented: a missing certificate fails as nsqd's buildTLSConfig does (only the key given:
  // the empty cert path fails to open), and an unreadable root CA fails nsqd's client TLS config.
  for (const auto& [flag, text] : std::vector<std::pair<std::string, std::string>>{
           {"--tls-cert=/nonexistent/c.pem", "failed to build TLS config - open /nonexistent/c.pem: no such file"},
           {"--tls-key=/nonexistent/k.pem", "failed to build TLS config - open : no such file or directory"},
           {"--tls-root-ca-file=/nonexistent/ca.pem",
            "failed to build client TLS config - open /nonexistent/ca.pem: no such file or directory"}}) {
    const RunResult r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
                                     "--data-path=" + tmp.path().string(), flag},
                                    Ms(10000));
    EXPECT_EQ(r.exit_code, 1) << flag << "\n" << r.output;
    EXPECT_NE(r.output.find(text), std::string::npos) << r.output;
  }
  // Accepted: inert without a certificate (as in nsqd), or honoured.
  Daemon d({"--tls-min-version=tls1.2", "--snappy=false", "--deflate=false", "--max-deflate-level=9"});
  EXPECT_EQ(http_get(d.http_port(), "/config/tls_min_version").body, "771");
  EXPECT_EQ(http_get(d.http_port(), "/config/snappy").body, "false");
}

}  // namespace
}  // namespace nsqit
