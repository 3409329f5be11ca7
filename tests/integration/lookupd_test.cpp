// nsqlookupd registration against the real binary (fact sheet §6), with a fake lookupd inside the test that
// speaks the lookupd side of the protocol: "  V1", IDENTIFY, REGISTER, UNREGISTER, PING, [int32 size][data].
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "fake_http_server.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

// Accepts connections one at a time and records every command ("IDENTIFY <json>", "REGISTER t c", "PING", and
// "CONNECT" / "EOF" markers). Its HTTP API (announced in the IDENTIFY answer as 127.0.0.1:<port>) answers
// GET /channels?topic=t from set_channels(), as nsqlookupd does.
class FakeLookupd {
 public:
  explicit FakeLookupd(std::string identify_reply = "")
      : http_([this](const FakeHttpRequest& r) { return on_http(r); }), identify_reply_(std::move(identify_reply)) {
    if (identify_reply_.empty()) {
      identify_reply_ = R"({"tcp_port":4160,"http_port":)" + std::to_string(http_.port()) +
                        R"(,"version":"1.3.0","broadcast_address":"127.0.0.1","hostname":"fake"})";
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) throw std::runtime_error("bind");
    ::listen(listen_fd_, 8);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeLookupd() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Waits until `count` commands equal to `cmd` (or starting with it, for IDENTIFY) were seen.
  bool wait_for(const std::string& cmd, Ms timeout, int count = 1) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return count_locked(cmd) >= count; });
  }
  std::vector<std::string> commands() {
    std::lock_guard lk(mu_);
    return commands_;
  }
  void clear() {
    std::lock_guard lk(mu_);
    commands_.clear();
  }
  // Closes the current connection from the lookupd side.
  void drop_connection() { drop_ = true; }

  FakeHttpServer& http() { return http_; }
  void set_channels(const std::string& topic, std::vector<std::string> channels) {
    std::lock_guard lk(mu_);
    channels_[topic] = std::move(channels);
  }
  // /channels requests are left unanswered (nsqd must time out).
  void set_http_hang(bool hang) { http_hang_ = hang; }

 private:
  FakeHttpReply on_http(const FakeHttpRequest& r) {
    FakeHttpReply reply;
    if (http_hang_) {
      reply.hang = true;
      return reply;
    }
    if (r.path != "/channels") {
      reply.status = 404;
      reply.body = R"({"message":"NOT_FOUND"})";
      return reply;
    }
    auto it = r.query.find("topic");
    if (it == r.query.end()) {
      reply.status = 400;
      reply.body = R"({"message":"MISSING_ARG_TOPIC"})";
      return reply;
    }
    std::lock_guard lk(mu_);
    nlohmann::json channels = nlohmann::json::array();
    if (auto c = channels_.find(it->second); c != channels_.end())
      for (const auto& name : c->second) channels.push_back(name);
    reply.body = nlohmann::json{{"channels", channels}}.dump();
    return reply;
  }

  int count_locked(const std::string& cmd) const {
    int n = 0;
    for (const auto& c : commands_) n += (c == cmd || (cmd == "IDENTIFY" && c.rfind("IDENTIFY ", 0) == 0)) ? 1 : 0;
    return n;
  }
  void record(std::string c) {
    std::lock_guard lk(mu_);
    commands_.push_back(std::move(c));
    cv_.notify_all();
  }
  static void reply(int fd, const std::string& data) {
    std::string out(4, '\0');
    const auto n = static_cast<std::uint32_t>(data.size());
    out[0] = static_cast<char>(n >> 24);
    out[1] = static_cast<char>(n >> 16);
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n);
    out += data;
    (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      record("CONNECT");
      serve(fd);
      ::close(fd);
      record("EOF");
    }
  }
  void serve(int fd) {
    std::string buf;
    bool magic = false;
    while (!stop_) {
      if (drop_.exchange(false)) return;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char tmp[4096];
      const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<std::size_t>(n));
      if (!magic) {
        if (buf.size() < 4) continue;
        if (buf.substr(0, 4) != "  V1") {
          record("BAD MAGIC");
          return;
        }
        buf.erase(0, 4);
        magic = true;
      }
      while (true) {
        const auto nl = buf.find('\n');
        if (nl == std::string::npos) break;
        const std::string line = buf.substr(0, nl);
        if (line == "IDENTIFY") {
          if (buf.size() < nl + 5) break;
          const auto* b = reinterpret_cast<const unsigned char*>(buf.data() + nl + 1);
          const std::size_t size = (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) | (std::size_t(b[2]) << 8) | b[3];
          if (buf.size() < nl + 5 + size) break;
          record("IDENTIFY " + buf.substr(nl + 5, size));
          buf.erase(0, nl + 5 + size);
          reply(fd, identify_reply_);
          if (identify_reply_ == "E_INVALID") {
            // nsqd must hang up on us.
          }
          continue;
        }
        record(line);
        buf.erase(0, nl + 1);
        reply(fd, "OK");
      }
    }
  }

  FakeHttpServer http_;
  std::string identify_reply_;
  std::map<std::string, std::vector<std::string>> channels_;
  std::atomic<bool> http_hang_{false};
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> commands_;
};

std::vector<std::string> after_last_identify(const std::vector<std::string>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds) {
    if (c.rfind("IDENTIFY ", 0) == 0) out.clear();
    else if (c != "CONNECT" && c != "EOF" && c != "PING") out.push_back(c);
  }
  return out;
}

TEST(Lookupd, IdentifyAndRegistrationEvents) {
  FakeLookupd lookupd;
  Daemon d({"--lookupd-tcp-address=" + lookupd.address(), "--broadcast-address=node-a.example"});
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(5000))) << d.output();
  std::string identify;
  for (const auto& c : lookupd.commands())
    if (c.rfind("IDENTIFY ", 0) == 0) identify = c.substr(9);
  // Keys sorted, as Go encodes a map.
  const auto j = nlohmann::ordered_json::parse(identify);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"broadcast_address", "hostname", "http_port", "tcp_port", "version"}));
  EXPECT_EQ(j["broadcast_address"], "node-a.example");
  EXPECT_FALSE(j["hostname"].get<std::string>().empty());
  EXPECT_EQ(j["http_port"], d.http_port());
  EXPECT_EQ(j["tcp_port"], d.tcp_port());
  EXPECT_EQ(j["version"], "1.3.0");

  const std::string t = unique_name();
  const int hp = d.http_port();
  ASSERT_EQ(http_post(hp, "/topic/create?topic=" + t, "").status, 200);
  EXPECT_TRUE(lookupd.wait_for("REGISTER " + t, Ms(3000)));
  ASSERT_EQ(http_post(hp, "/channel/create?topic=" + t + "&channel=c1", "").status, 200);
  EXPECT_TRUE(lookupd.wait_for("REGISTER " + t + " c1", Ms(3000)));
  ASSERT_EQ(http_post(hp, "/channel/create?topic=" + t + "&channel=c2", "").status, 200);
  EXPECT_TRUE(lookupd.wait_for("REGISTER " + t + " c2", Ms(3000)));
  ASSERT_EQ(http_post(hp, "/channel/delete?topic=" + t + "&channel=c2", "").status, 200);
  EXPECT_TRUE(lookupd.wait_for("UNREGISTER " + t + " c2", Ms(3000)));
  {
    // A consumer's SUB on an ephemeral channel registers it too.
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.subscribe(t, "e#ephemeral"));
    EXPECT_TRUE(lookupd.wait_for("REGISTER " + t + " e#ephemeral", Ms(3000)));
  }
  EXPECT_TRUE(lookupd.wait_for("UNREGISTER " + t + " e#ephemeral", Ms(3000)));  // last consumer left
  ASSERT_EQ(http_post(hp, "/topic/delete?topic=" + t, "").status, 200);
  EXPECT_TRUE(lookupd.wait_for("UNREGISTER " + t + " c1", Ms(3000)));
  const auto cmds = after_last_identify(lookupd.commands());
  const std::vector<std::string> want = {
      "REGISTER " + t,           "REGISTER " + t + " c1",          "REGISTER " + t + " c2",
      "UNREGISTER " + t + " c2", "REGISTER " + t + " e#ephemeral", "UNREGISTER " + t + " e#ephemeral",
      "UNREGISTER " + t,         "UNREGISTER " + t + " c1"};
  EXPECT_EQ(cmds, want);
}

TEST(Lookupd, ReconnectReplaysIdentifyAndEveryRegistration) {
  FakeLookupd lookupd;
  Daemon d({"--lookupd-tcp-address=" + lookupd.address()});
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(5000)));
  const std::string t1 = unique_name(), t2 = unique_name();
  const int hp = d.http_port();
  ASSERT_EQ(http_post(hp, "/topic/create?topic=" + t1, "").status, 200);
  ASSERT_EQ(http_post(hp, "/topic/create?topic=" + t2, "").status, 200);
  ASSERT_EQ(http_post(hp, "/channel/create?topic=" + t2 + "&channel=a", "").status, 200);
  ASSERT_EQ(http_post(hp, "/channel/create?topic=" + t2 + "&channel=b", "").status, 200);
  ASSERT_TRUE(lookupd.wait_for("REGISTER " + t2 + " b", Ms(3000)));
  lookupd.clear();
  lookupd.drop_connection();
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(8000))) << d.output();
  ASSERT_TRUE(lookupd.wait_for("REGISTER " + t2 + " b", Ms(3000)));
  const auto cmds = lookupd.commands();
  EXPECT_EQ(cmds.front(), "EOF");
  EXPECT_EQ(cmds[1], "CONNECT");
  // A channel-less topic is registered alone; a topic with channels only through its channels.
  std::vector<std::string> mine;
  for (const auto& c : after_last_identify(cmds))
    if (c.find(t1) != std::string::npos || c.find(t2) != std::string::npos) mine.push_back(c);
  const std::vector<std::string> want = {"REGISTER " + t1, "REGISTER " + t2 + " a", "REGISTER " + t2 + " b"};
  std::vector<std::string> sorted_mine = mine, sorted_want = want;
  std::sort(sorted_mine.begin(), sorted_mine.end());
  std::sort(sorted_want.begin(), sorted_want.end());
  EXPECT_EQ(sorted_mine, sorted_want);
}

TEST(Lookupd, InvalidIdentifyAnswerClosesTheConnection) {
  FakeLookupd lookupd("E_INVALID");
  Daemon d({"--lookupd-tcp-address=" + lookupd.address()});
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(5000)));
  EXPECT_TRUE(lookupd.wait_for("EOF", Ms(3000))) << "nsqd must hang up after E_INVALID";
  EXPECT_TRUE(lookupd.wait_for("IDENTIFY", Ms(8000), 2)) << "and try again later";
}

TEST(Lookupd, ConfigPutReconcilesPeers) {
  FakeLookupd first, second;
  Daemon d({"--lookupd-tcp-address=" + first.address()});
  ASSERT_TRUE(first.wait_for("IDENTIFY", Ms(5000)));
  const int hp = d.http_port();
  HttpResponse r = http_request(hp, "PUT", "/config/nsqlookupd_tcp_addresses",
                                R"([")" + first.address() + R"(",")" + second.address() + R"("])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(second.wait_for("IDENTIFY", Ms(5000)));
  const std::string t = unique_name();
  ASSERT_EQ(http_post(hp, "/topic/create?topic=" + t, "").status, 200);
  EXPECT_TRUE(first.wait_for("REGISTER " + t, Ms(3000)));
  EXPECT_TRUE(second.wait_for("REGISTER " + t, Ms(3000)));
  r = http_request(hp, "PUT", "/config/nsqlookupd_tcp_addresses", R"([")" + second.address() + R"("])");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(first.wait_for("EOF", Ms(3000))) << "a removed peer is closed";
  ASSERT_EQ(http_post(hp, "/topic/delete?topic=" + t, "").status, 200);
  EXPECT_TRUE(second.wait_for("UNREGISTER " + t, Ms(3000)));
  for (const auto& c : first.commands()) EXPECT_NE(c, "UNREGISTER " + t);
}

// nsqd logged lookupd's IDENTIFY answer (so it knows the HTTP address).
bool peer_info_known(Daemon& d) {
  return d.process().wait_output([](const std::string& out) { return out.find("peer info") != std::string::npos; },
                                 Ms(5000));
}

// A topic created at run time gets the channels nsqlookupd knows before it hands out its first message (#313).
TEST(Lookupd, RuntimeTopicGetsLookupdChannelsFirst) {
  FakeLookupd lookupd;
  Daemon d({"--lookupd-tcp-address=" + lookupd.address()});
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(5000)));
  const std::string t = unique_name();
  lookupd.set_channels(t, {"archive", "billing", "tail#ephemeral"});
  ASSERT_TRUE(peer_info_known(d));
  {
    V2Client p(d.tcp_port());
    p.pub(t, "first");
    ASSERT_TRUE(p.expect_ok());
    p.pub(t, "second");
    ASSERT_TRUE(p.expect_ok());
  }
  ASSERT_TRUE(lookupd.http().wait_requests(1, Ms(3000)));
  const auto reqs = lookupd.http().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/channels?topic=" + t);
  EXPECT_EQ(reqs[0].headers.at("accept"), "application/vnd.nsq; version=1.0");
  // Both non-ephemeral channels exist and got both messages; the ephemeral one was not created.
  EXPECT_TRUE(lookupd.wait_for("REGISTER " + t + " billing", Ms(3000)));
  const auto stats = nlohmann::json::parse(http_get(d.http_port(), "/stats?format=json&topic=" + t).body);
  ASSERT_EQ(stats["topics"].size(), 1u) << stats.dump();
  const auto& channels = stats["topics"][0]["channels"];
  ASSERT_EQ(channels.size(), 2u) << stats.dump();
  EXPECT_EQ(channels[0]["channel_name"], "archive");
  EXPECT_EQ(channels[1]["channel_name"], "billing");
  for (const auto& c : channels) {
    EXPECT_EQ(c["depth"], 2) << c.dump();
    EXPECT_EQ(c["message_count"], 2) << c.dump();
  }
  EXPECT_EQ(stats["topics"][0]["depth"], 0);
  // A consumer of a pre-created channel gets the first message.
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "billing"));
  c.rdy(1);
  EXPECT_EQ(c.read_message().body, "first");
  // A topic that exists already is not asked about again.
  V2Client p(d.tcp_port());
  p.pub(t, "third");
  ASSERT_TRUE(p.expect_ok());
  EXPECT_EQ(lookupd.http().requests().size(), 1u);
}

// lookupd's HTTP API never answers: after --http-client-request-timeout the topic starts anyway, without
// pre-created channels, and the failure is only logged.
TEST(Lookupd, ChannelQueryTimeoutLeavesTopicWorking) {
  FakeLookupd lookupd;
  lookupd.set_http_hang(true);
  Daemon d({"--lookupd-tcp-address=" + lookupd.address(), "--http-client-request-timeout=700ms"});
  ASSERT_TRUE(peer_info_known(d));
  const std::string t = unique_name();
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  c.rdy(1);
  Stopwatch sw;
  V2Client p(d.tcp_port());
  p.pub(t, "hello");
  ASSERT_TRUE(p.expect_ok());
  const Message m = c.read_message(Ms(5000));
  EXPECT_EQ(m.body, "hello");
  // Delivery waited for the query to give up (the topic was created by the SUB, query still hanging).
  EXPECT_GE(sw.ms(), 300);
  EXPECT_TRUE(d.process().wait_output(
      [&](const std::string& out) {
        return out.find("failed to query nsqlookupd for channels to pre-create for topic " + t) != std::string::npos;
      },
      Ms(3000)))
      << d.output();
  EXPECT_EQ(lookupd.http().requests().size(), 1u);
}

// A failing lookupd HTTP API (500) is logged and ignored too.
TEST(Lookupd, ChannelQueryErrorIsIgnored) {
  FakeLookupd lookupd;
  Daemon d({"--lookupd-tcp-address=" + lookupd.address()});
  ASSERT_TRUE(peer_info_known(d));
  lookupd.http().set_handler([](const FakeHttpRequest&) { return FakeHttpReply{500, R"({"message":"boom"})"}; });
  const std::string t = unique_name();
  ASSERT_EQ(http_post(d.http_port(), "/topic/create?topic=" + t, "").status, 200);
  ASSERT_EQ(http_post(d.http_port(), "/pub?topic=" + t, "x").status, 200);
  ASSERT_TRUE(lookupd.http().wait_requests(1, Ms(3000)));
  EXPECT_TRUE(d.process().wait_output(
      [&](const std::string& out) { return out.find("got response 500") != std::string::npos; }, Ms(3000)))
      << d.output();
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "late"));
  c.rdy(1);
  EXPECT_EQ(c.read_message().body, "x");
}

// Go nsqd answers PUT null with null and keeps showing null (a nil slice); [] stays [].
TEST(Lookupd, ConfigPutNullAnswersNull) {
  Daemon d;
  const int hp = d.http_port();
  EXPECT_EQ(http_get(hp, "/config/nsqlookupd_tcp_addresses").body, "[]");
  HttpResponse r = http_request(hp, "PUT", "/config/nsqlookupd_tcp_addresses", "null");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "null");
  EXPECT_EQ(http_get(hp, "/config/nsqlookupd_tcp_addresses").body, "null");
  r = http_request(hp, "PUT", "/config/nsqlookupd_tcp_addresses", "[]");
  EXPECT_EQ(r.body, "[]");
  EXPECT_EQ(http_get(hp, "/config/nsqlookupd_tcp_addresses").body, "[]");
}

TEST(Lookupd, PingsEveryFifteenSeconds) {
  FakeLookupd lookupd;
  Daemon d({"--lookupd-tcp-address=" + lookupd.address()});
  ASSERT_TRUE(lookupd.wait_for("IDENTIFY", Ms(5000)));
  lookupd.clear();
  Stopwatch sw;
  ASSERT_TRUE(lookupd.wait_for("PING", Ms(17000)));
  EXPECT_GE(sw.ms(), 13000);
}

}  // namespace
}  // namespace nsqit
