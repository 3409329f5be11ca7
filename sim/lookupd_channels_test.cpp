// Channel pre-creation from nsqlookupd (engine/lookupd_channels.h) on io_sim: the engine asks every known lookupd
// HTTP API for a new topic's channels through the HttpClient seam, on the virtual clock, and holds the topic's
// messages until the answers (or the timeouts) are in.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/lookupd_channels.h"
#include "engine/topic.h"
#include "sim/sim_world.h"

namespace nsq::sim {
namespace {

constexpr std::int64_t kMs = kMillisecond;

bool logged(SimWorld& w, const std::string& text) {
  for (const auto& line : w.trace.tail())
    if (line.find(text) != std::string::npos) return true;
  return false;
}

struct LookupdWorld {
  explicit LookupdWorld(Options o = {}) : w(7, with_lookupd(std::move(o))) {
    w.nsqd->lookupd_http_addresses = [this] { return addresses; };
  }
  static Options with_lookupd(Options o) {
    o.lookupd_tcp_addresses = {"10.0.0.9:4160"};
    o.http_client_connect_timeout = 1 * kSecond;
    o.http_client_request_timeout = 3 * kSecond;
    return o;
  }
  const TopicStats* topic(const std::string& name) {
    stats = w.nsqd->stats(name);
    return stats.empty() ? nullptr : &stats.front();
  }
  std::vector<std::string> channel_names(const std::string& t) {
    std::vector<std::string> out;
    if (const TopicStats* s = topic(t)) {
      for (const auto& c : s->channels) out.push_back(c.channel_name);
    }
    return out;
  }
  void publish(const std::string& t, std::string_view body) {
    std::vector<std::string_view> bodies{body};
    ASSERT_EQ(w.nsqd->publish(t, bodies, 0), "");
  }

  SimWorld w;
  std::vector<std::string> addresses = {"10.0.0.9:4161"};
  std::vector<TopicStats> stats;
};

io_sim::SimHttpClient::Reply channels_json(std::string json, std::int64_t delay_ns = 0) {
  io_sim::SimHttpClient::Reply r;
  r.body = std::move(json);
  r.delay_ns = delay_ns;
  return r;
}

TEST(LookupdChannels, ChannelsExistBeforeTheFirstMessageIsHandedOut) {
  LookupdWorld lw;
  lw.w.http.set_handler("10.0.0.9:4161", [](const seam::HttpRequest&) {
    return channels_json(R"({"channels":["b","a","tail#ephemeral","a"]})", 50 * kMs);
  });
  lw.publish("orders", "m1");
  lw.publish("orders", "m2");
  // The query is out; nothing is handed out yet, the messages wait in the topic.
  ASSERT_EQ(lw.w.http.requests().size(), 1u);
  const seam::HttpRequest& req = lw.w.http.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.host, "10.0.0.9:4161");
  EXPECT_EQ(req.target, "/channels?topic=orders");
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "Accept");
  EXPECT_EQ(req.headers[0].second, "application/vnd.nsq; version=1.0");
  EXPECT_EQ(req.connect_timeout_ns, 1 * kSecond);
  EXPECT_EQ(req.request_timeout_ns, 3 * kSecond);
  EXPECT_TRUE(lw.channel_names("orders").empty());
  EXPECT_EQ(lw.topic("orders")->depth, 2);

  lw.w.clock.run_for(10 * kMs);
  EXPECT_TRUE(lw.channel_names("orders").empty()) << "answer not in yet";
  lw.w.clock.run_for(100 * kMs);
  EXPECT_EQ(lw.channel_names("orders"), (std::vector<std::string>{"a", "b"}));
  const TopicStats* s = lw.topic("orders");
  EXPECT_EQ(s->depth, 0);
  for (const auto& c : s->channels) EXPECT_EQ(c.depth, 2) << c.channel_name;
  // Existing topics are not asked about again.
  lw.publish("orders", "m3");
  EXPECT_EQ(lw.w.http.requests().size(), 1u);
  EXPECT_EQ(lw.topic("orders")->channels[0].depth, 3);
}

TEST(LookupdChannels, UnionOfEveryLookupdAndFailuresIgnored) {
  LookupdWorld lw;
  lw.addresses = {"10.0.0.9:4161", "10.0.0.10:4161", "10.0.0.11:4161"};
  lw.w.http.set_handler("10.0.0.9:4161", [](const seam::HttpRequest&) { return channels_json(R"({"channels":["x"]})"); });
  lw.w.http.set_handler("10.0.0.10:4161", [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.status = 500;
    r.body = R"({"message":"INTERNAL_ERROR"})";
    return r;
  });
  lw.w.http.set_handler("10.0.0.11:4161",
                        [](const seam::HttpRequest&) { return channels_json(R"({"channels":["y","x"]})"); });
  lw.publish("t", "m");
  lw.w.clock.run_for(1 * kSecond);
  EXPECT_EQ(lw.channel_names("t"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(lw.w.http.requests().size(), 3u);
}

TEST(LookupdChannels, HangingLookupdDelaysTheTopicUntilTheRequestTimeout) {
  LookupdWorld lw;
  lw.w.http.set_handler("10.0.0.9:4161", [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.hang = true;
    return r;
  });
  const std::int64_t t0 = lw.w.clock.now_ns();
  lw.publish("slow", "m");
  Channel& late = lw.w.nsqd->get_topic("slow").get_channel("late");  // a consumer's SUB meanwhile
  lw.w.clock.run_until(t0 + 3 * kSecond - 1);
  EXPECT_EQ(late.depth(), 0) << "topic must not start before the request timeout";
  lw.w.clock.run_until(t0 + 3 * kSecond);
  EXPECT_EQ(late.depth(), 1);
  EXPECT_TRUE(logged(lw.w, "failed to query nsqlookupd for channels to pre-create for topic slow"));
}

TEST(LookupdChannels, UnreachableLookupdFailsAtTheConnectTimeout) {
  LookupdWorld lw;
  lw.w.http.set_handler("10.0.0.9:4161", [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.blackhole = true;
    return r;
  });
  const std::int64_t t0 = lw.w.clock.now_ns();
  lw.publish("t", "m");
  Channel& c = lw.w.nsqd->get_topic("t").get_channel("c");
  lw.w.clock.run_until(t0 + 1 * kSecond - 1);
  EXPECT_EQ(c.depth(), 0);
  lw.w.clock.run_until(t0 + 1 * kSecond);
  EXPECT_EQ(c.depth(), 1);
}

TEST(LookupdChannels, DeletingTheTopicCancelsTheQuery) {
  LookupdWorld lw;
  lw.w.http.set_handler("10.0.0.9:4161",
                        [](const seam::HttpRequest&) { return channels_json(R"({"channels":["a"]})", 500 * kMs); });
  lw.publish("gone", "m");
  EXPECT_EQ(lw.w.http.in_flight(), 1u);
  lw.w.nsqd->delete_topic("gone");
  EXPECT_EQ(lw.w.http.in_flight(), 0u);
  lw.w.clock.run_for(1 * kSecond);
  EXPECT_EQ(lw.topic("gone"), nullptr);
}

TEST(LookupdChannels, NoKnownLookupdHttpAddressMeansNoQuery) {
  LookupdWorld lw;
  lw.addresses.clear();  // lookupd configured but no IDENTIFY answer yet
  lw.publish("t", "m");
  EXPECT_TRUE(lw.w.http.requests().empty());
  Channel& c = lw.w.nsqd->get_topic("t").get_channel("c");
  lw.w.clock.run_for(1 * kMs);
  EXPECT_EQ(c.depth(), 1);
  EXPECT_TRUE(logged(lw.w, "no available nsqlookupd to query for channels to pre-create for topic t"));
}

TEST(LookupdChannels, AnswersParseAsGoDecodesThem) {
  std::vector<std::string> out;
  std::string err;
  EXPECT_TRUE(LookupdChannelQuery::parse_channels(R"({"Channels":["a"],"x":1})", out, err));
  EXPECT_EQ(out, std::vector<std::string>{"a"});
  out.clear();
  EXPECT_TRUE(LookupdChannelQuery::parse_channels("null", out, err));
  EXPECT_TRUE(LookupdChannelQuery::parse_channels(R"({"channels":null})", out, err));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(LookupdChannelQuery::parse_channels(R"({"channels":[1]})", out, err));
  EXPECT_FALSE(LookupdChannelQuery::parse_channels(R"([])", out, err));
  EXPECT_FALSE(LookupdChannelQuery::parse_channels("nope", out, err));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(query_escape("a#ephemeral"), "a%23ephemeral");
}

}  // namespace
}  // namespace nsq::sim
