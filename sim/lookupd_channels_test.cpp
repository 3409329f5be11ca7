// Channel pre-creation from nsqlookupd (engine/lookupd_channels.h) on io_sim: the engine asks every known lookupd
// HTTP API for a new topic's channels through the HttpClient seam, on the virtual clock, and holds the topic's
// messages until the answers (or the timeouts) are in.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lookup_peer.h"
#include "engine/lookupd_channels.h"
#include "engine/topic.h"
#include "engine/wire.h"
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

// The lookupd side of the TCP protocol, just enough for nsqd's peer: "  V1", IDENTIFY answered with `info`, every
// other command answered "OK".
class SimLookupd final : public seam::ConnectionHandler {
 public:
  SimLookupd(SimWorld& w, const std::string& address, std::string info)
      : info_(std::move(info)), listener_(w.net.listen(address)) {
    listener_->start([this](std::unique_ptr<seam::Connection> c) {
      conn_ = std::move(c);
      conn_->start(this);
    });
  }
  void on_read(const std::uint8_t* data, std::size_t size) override {
    in_.append(reinterpret_cast<const char*>(data), size);
    if (!magic_) {
      if (in_.size() < 4) return;
      in_.erase(0, 4);
      magic_ = true;
    }
    for (;;) {
      const auto nl = in_.find('\n');
      if (nl == std::string::npos) return;
      const std::string line = in_.substr(0, nl);
      std::size_t used = nl + 1;
      std::string reply = "OK";
      if (line == "IDENTIFY") {
        if (in_.size() < nl + 5) return;
        const std::size_t n = wire::read_u32(in_.data() + nl + 1);
        if (in_.size() < nl + 5 + n) return;
        used += 4 + n;
        reply = info_;
      }
      in_.erase(0, used);
      commands.push_back(line);
      std::string frame(4, '\0');
      const auto n = static_cast<std::uint32_t>(reply.size());
      for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(n >> (24 - 8 * i));
      conn_->write(frame + reply);
    }
  }
  void on_drained() override {}
  void on_closed(std::string_view) override { conn_.reset(); }
  std::vector<std::string> commands;

 private:
  std::string info_;
  std::string in_;
  bool magic_ = false;
  std::unique_ptr<seam::Connection> conn_;
  std::unique_ptr<io_sim::SimListener> listener_;
};

// The whole chain in the simulated world: nsqd's lookupd peer learns broadcast_address:http_port from the
// IDENTIFY answer (an IPv6 address in brackets, as Go's net.JoinHostPort) and a new topic asks that address.
TEST(LookupdChannels, PeerIdentifyAnswerGivesTheHttpAddress) {
  Options o;
  o.lookupd_tcp_addresses = {"10.0.0.9:4160"};
  SimWorld w(11, o);
  SimLookupd lookupd(w, "10.0.0.9:4160", R"({"tcp_port":4160,"http_port":4161,"broadcast_address":"fd00::9"})");
  w.http.set_handler("[fd00::9]:4161",
                     [](const seam::HttpRequest&) { return channels_json(R"({"channels":["from-lookupd"]})"); });
  LookupPeers peers(*w.nsqd);
  peers.start();
  w.clock.run_for(100 * kMs);
  ASSERT_FALSE(lookupd.commands.empty());
  EXPECT_EQ(lookupd.commands[0], "IDENTIFY");
  EXPECT_EQ(peers.http_addresses(), std::vector<std::string>{"[fd00::9]:4161"});
  std::vector<std::string_view> bodies{"m"};
  ASSERT_EQ(w.nsqd->publish("t", bodies, 0), "");
  w.clock.run_for(100 * kMs);
  ASSERT_EQ(w.http.requests().size(), 1u);
  EXPECT_EQ(w.http.requests()[0].host, "[fd00::9]:4161");
  const auto stats = w.nsqd->stats("t");
  ASSERT_EQ(stats.size(), 1u);
  ASSERT_EQ(stats[0].channels.size(), 1u);
  EXPECT_EQ(stats[0].channels[0].channel_name, "from-lookupd");
  EXPECT_EQ(stats[0].channels[0].depth, 1);
  // lookupd hears about the topic and the pre-created channel.
  EXPECT_NE(std::find(lookupd.commands.begin(), lookupd.commands.end(), "REGISTER t from-lookupd"),
            lookupd.commands.end());
  peers.stop();
}

// A lookupd that requires TLS answers 403 with its https_port; nsqd asks again over https.
TEST(LookupdChannels, Forbidden403IsAskedAgainOverHttps) {
  LookupdWorld lw;
  lw.w.http.set_handler("10.0.0.9:4161", [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.status = 403;
    r.body = R"({"message": "TLS_REQUIRED", "https_port": 4162})";
    return r;
  });
  lw.w.http.set_handler("10.0.0.9:4162", [](const seam::HttpRequest& req) {
    return channels_json(req.https ? R"({"channels":["tls"]})" : R"({"channels":["plain"]})");
  });
  lw.publish("t", "m");
  lw.w.clock.run_for(100 * kMs);
  EXPECT_EQ(lw.channel_names("t"), std::vector<std::string>{"tls"});
  ASSERT_EQ(lw.w.http.requests().size(), 2u);
  EXPECT_EQ(lw.w.http.requests()[1].target, "/channels?topic=t");
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
