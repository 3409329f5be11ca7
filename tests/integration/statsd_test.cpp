// statsd against the real binary (fact sheet §8): a UDP listener in the test receives nsqd's lines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

class UdpListener {
 public:
  UdpListener() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~UdpListener() { ::close(fd_); }
  int port() const { return port_; }
  // Next datagram, or nullopt after timeout.
  std::optional<std::string> receive(Ms timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::vector<std::string> split_lines(const std::string& datagram) {
  std::vector<std::string> out;
  std::istringstream in(datagram);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Sums the counter deltas and keeps the last gauge value of every name seen.
struct Received {
  std::vector<std::string> datagrams;
  std::vector<std::string> lines;
  std::map<std::string, long long> counters;
  std::map<std::string, long long> gauges;
  void add(const std::string& d) {
    datagrams.push_back(d);
    for (const auto& line : split_lines(d)) {
      lines.push_back(line);
      static const std::regex re(R"(^(.+):(-?\d+)\|([cg])$)");
      std::smatch m;
      if (!std::regex_match(line, m, re)) {
        ADD_FAILURE() << "malformed statsd line: " << line;
        continue;
      }
      if (m[3] == "c") counters[m[1]] += std::stoll(m[2]);
      else gauges[m[1]] = std::stoll(m[2]);
    }
  }
};

TEST(Statsd, PushesTopicChannelAndMemoryMetrics) {
  UdpListener udp;
  Daemon d({"--statsd-address=127.0.0.1:" + std::to_string(udp.port()), "--statsd-interval=1s",
            "--statsd-prefix=test.%s", "--broadcast-address=10.1.2.3", "--broadcast-http-port=24151",
            "--e2e-processing-latency-percentile=0.99,0.5"});
  const std::string prefix = "test.10_1_2_3_24151.";
  const std::string t = unique_name();
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.publish(t, "abc"));
  c.rdy(1);
  Message m = c.read_message();
  c.fin(m.id);
  ASSERT_TRUE(c.sync());

  Received r;
  const std::string tp = prefix + "topic." + t;
  const std::string cp = tp + ".channel.ch";
  Stopwatch sw;
  while (sw.ms() < 6000 && r.counters[tp + ".message_count"] < 3) {
    if (auto dg = udp.receive(Ms(500))) r.add(*dg);
  }
  EXPECT_EQ(r.counters[tp + ".message_count"], 3);
  EXPECT_EQ(r.counters[tp + ".message_bytes"], 9);
  // Let the push with these values complete.
  while (auto dg = udp.receive(Ms(300))) r.add(*dg);
  EXPECT_EQ(r.gauges[tp + ".depth"], 0);
  EXPECT_EQ(r.gauges[tp + ".backend_depth"], 0);
  EXPECT_EQ(r.counters[cp + ".message_count"], 3);
  EXPECT_EQ(r.gauges[cp + ".depth"], 1);  // RDY 1: after the FIN the next one is in flight
  EXPECT_EQ(r.gauges[cp + ".backend_depth"], 0);
  EXPECT_EQ(r.gauges[cp + ".in_flight_count"], 1);
  EXPECT_EQ(r.gauges[cp + ".deferred_count"], 0);
  EXPECT_EQ(r.counters[cp + ".requeue_count"], 0);
  EXPECT_EQ(r.counters[cp + ".timeout_count"], 0);
  EXPECT_EQ(r.gauges[cp + ".clients"], 1);
  EXPECT_GT(r.gauges[cp + ".e2e_processing_latency_99"], 0);
  EXPECT_GT(r.gauges[tp + ".e2e_processing_latency_50"], 0);
  EXPECT_GT(r.gauges[prefix + "mem.heap_in_use_bytes"], 0);
  EXPECT_TRUE(r.gauges.count(prefix + "mem.heap_objects"));
  EXPECT_TRUE(r.gauges.count(prefix + "mem.next_gc_bytes"));
  EXPECT_TRUE(r.counters.count(prefix + "mem.gc_runs"));

  // nsqd's emission order within a push.
  std::vector<std::string> order;
  for (const auto& line : r.lines) {
    if (line.rfind(tp + ".", 0) == 0 && order.size() < 15) order.push_back(line.substr(tp.size() + 1, line.find(':') - tp.size() - 1));
  }
  const std::vector<std::string> want = {"message_count", "message_bytes", "depth", "backend_depth",
                                         "e2e_processing_latency_99", "e2e_processing_latency_50",
                                         "channel.ch.message_count", "channel.ch.depth", "channel.ch.backend_depth",
                                         "channel.ch.in_flight_count", "channel.ch.deferred_count",
                                         "channel.ch.requeue_count", "channel.ch.timeout_count", "channel.ch.clients",
                                         "channel.ch.e2e_processing_latency_99"};
  EXPECT_EQ(order, want);
  for (const auto& line : r.lines) EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;

  // Counters are deltas: two more messages add exactly two.
  ASSERT_TRUE(c.publish(t, "de"));
  ASSERT_TRUE(c.publish(t, "fg"));
  sw.reset();
  while (sw.ms() < 5000 && r.counters[tp + ".message_count"] < 5) {
    if (auto dg = udp.receive(Ms(500))) r.add(*dg);
  }
  EXPECT_EQ(r.counters[tp + ".message_count"], 5);
  sw.reset();
  while (sw.ms() < 2500) {
    if (auto dg = udp.receive(Ms(200))) r.add(*dg);
  }
  EXPECT_EQ(r.counters[tp + ".message_count"], 5);  // later pushes send 0
  EXPECT_EQ(r.counters[tp + ".message_bytes"], 13);
}

TEST(Statsd, PacketSizeMemStatsAndEphemeralExclusion) {
  UdpListener udp;
  Daemon d({"--statsd-address=127.0.0.1:" + std::to_string(udp.port()), "--statsd-interval=2s",
            "--statsd-udp-packet-size=120", "--statsd-mem-stats=false", "--statsd-exclude-ephemeral",
            "--statsd-prefix="});
  const std::string t = unique_name();
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe(t, "ch"));
  V2Client e(d.tcp_port());
  ASSERT_TRUE(e.subscribe(t + "_e#ephemeral", "ch#ephemeral"));
  ASSERT_TRUE(c.publish(t, "x"));

  Received r;
  Stopwatch sw;
  std::vector<long long> arrival_ms;
  while (sw.ms() < 6000 && r.counters["topic." + t + ".message_count"] < 1) {
    if (auto dg = udp.receive(Ms(500))) {
      r.add(*dg);
      arrival_ms.push_back(sw.ms());
    }
  }
  while (auto dg = udp.receive(Ms(1200))) {
    r.add(*dg);
    arrival_ms.push_back(sw.ms());
    if (r.datagrams.size() > 40) break;
  }
  ASSERT_GE(r.datagrams.size(), 3u);
  for (const auto& dg : r.datagrams) {
    EXPECT_LE(dg.size(), 120u) << dg;
    EXPECT_EQ(dg.back(), '\n') << "a line was split: " << dg;
  }
  for (const auto& line : r.lines) {
    EXPECT_EQ(line.rfind("topic.", 0), 0u) << "empty prefix means none: " << line;
    EXPECT_EQ(line.find("ephemeral"), std::string::npos) << line;
    EXPECT_EQ(line.find("mem."), std::string::npos) << line;
  }
  // One push's datagrams are spread over (interval − 1 s) instead of sent at once.
  EXPECT_GE(arrival_ms.back() - arrival_ms.front(), 300) << r.datagrams.size() << " datagrams";
}

}  // namespace
}  // namespace nsqit
