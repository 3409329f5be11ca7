// Persistence with the real binary (fact sheet §2.3, §2.13, §3): disk overflow, --mem-queue-size=0, clean
// restarts, corrupt files, nsqd.dat, and a data directory written by the Go nsqd v1.3.0.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) break;  // '=' padding ends it
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// Subscribes and FINs everything until `want` messages arrived or nothing came for `idle`.
std::vector<Message> consume(int port, const std::string& topic, const std::string& channel, std::size_t want,
                             Ms idle = Ms(3000), bool fin = true) {
  V2Client c(port);
  EXPECT_TRUE(c.subscribe(topic, channel));
  c.rdy(1000);
  std::vector<Message> got;
  while (got.size() < want) {
    auto m = c.try_read_message(idle);
    if (!m) break;
    if (fin) c.fin(m->id);
    got.push_back(*m);
  }
  // Anything beyond `want` is a duplicate or a stray: give it a moment to show up.
  if (auto extra = c.try_read_message(Ms(300))) got.push_back(*extra);
  if (fin) {
    EXPECT_TRUE(c.sync());
  }
  return got;
}

std::vector<std::string> bodies_of(const std::vector<Message>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.body);
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

std::multiset<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

void publish_all(int port, const std::string& topic, const std::vector<std::string>& bodies) {
  V2Client c(port);
  for (std::size_t i = 0; i < bodies.size(); i += 100) {
    std::vector<std::string> batch(bodies.begin() + static_cast<long>(i),
                                   bodies.begin() + static_cast<long>(std::min(bodies.size(), i + 100)));
    c.mpub(topic, batch);
    ASSERT_TRUE(c.expect_ok());
  }
}

std::vector<std::string> queue_files(const fs::path& dir, const std::string& queue) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(queue + ".diskqueue.", 0) == 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Persistence, PublishPastMemoryQueueAndConsumeEverything) {
  Daemon d({"--mem-queue-size=10", "--max-bytes-per-file=2048"});
  const auto bodies = numbered("overflow-", 500);
  publish_all(d.tcp_port(), "spill", bodies);
  // No channel yet: 10 in memory, the rest on the topic's disk queue, over several files.
  EXPECT_GT(queue_files(d.data_path(), "spill").size(), 3u);
  auto got = consume(d.tcp_port(), "spill", "c", bodies.size());
  EXPECT_EQ(as_set(bodies_of(got)), as_set(bodies));
}

TEST(Persistence, MemQueueSizeZeroSendsEverythingThroughDisk) {
  Daemon d({"--mem-queue-size=0"});
  {
    V2Client sub(d.tcp_port());
    ASSERT_TRUE(sub.subscribe("zero", "c"));
  }
  const auto bodies = numbered("zero-", 200);
  publish_all(d.tcp_port(), "zero", bodies);
  EXPECT_FALSE(queue_files(d.data_path(), "zero:c").empty());
  auto got = consume(d.tcp_port(), "zero", "c", bodies.size());
  // With memory out of the way, order is kept.
  EXPECT_EQ(bodies_of(got), bodies);
  // Nothing is lost across a restart either: publish more, stop, start, consume.
  const auto more = numbered("zero-after-", 50);
  publish_all(d.tcp_port(), "zero", more);
  EXPECT_EQ(d.stop(), 0);
  Daemon d2(Daemon::Config{{"--mem-queue-size=0"}, true, d.data_path()});
  EXPECT_EQ(bodies_of(consume(d2.tcp_port(), "zero", "c", more.size())), more);
}

TEST(Persistence, CleanRestartKeepsQueuedInFlightAndDeferredMessages) {
  TempDir dir;
  const std::string path = dir.path().string();
  constexpr int kDeferMs = 5000;
  Stopwatch since_dpub;
  {
    Daemon d(Daemon::Config{{}, true, path});
    V2Client holder(d.tcp_port());
    ASSERT_TRUE(holder.subscribe("keep", "c"));
    holder.rdy(3);
    publish_all(d.tcp_port(), "keep", numbered("flight-", 3));
    for (int i = 0; i < 3; ++i) holder.read_message();  // in flight, never FINished
    V2Client pub(d.tcp_port());
    since_dpub.reset();
    pub.dpub("keep", kDeferMs, "deferred-0");
    ASSERT_TRUE(pub.expect_ok());
    pub.dpub("keep", kDeferMs, "deferred-1");
    ASSERT_TRUE(pub.expect_ok());
    holder.rdy(0);
    ASSERT_TRUE(holder.sync());
    publish_all(d.tcp_port(), "keep", numbered("queued-", 4));
    EXPECT_EQ(d.stop(SIGTERM), 0) << d.output();
    // nsqd's order: memory queue, then in-flight, then deferred.
    EXPECT_NE(d.output().find("flushing 4 memory 3 in-flight 2 deferred messages to backend"), std::string::npos)
        << d.output();
  }
  EXPECT_FALSE(queue_files(path, "keep:c").empty());
  // The deadlines live beside the go-diskqueue files, not in them.
  EXPECT_TRUE(fs::exists(fs::path(path) / "keep:c.nsqd-cpp.timing.json"));
  EXPECT_NE(read_file(fs::path(path) / "nsqd.dat").find(R"({"name":"keep","paused":false,"channels":[{"name":"c")"),
            std::string::npos);
  Daemon d(Daemon::Config{{}, true, path});
  ASSERT_LT(since_dpub.ms(), kDeferMs - 1000) << "restart too slow for this test";
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe("keep", "c"));
  c.rdy(100);
  std::map<std::string, int> attempts;
  for (int i = 0; i < 7; ++i) {
    Message m = c.read_message();
    attempts[m.body] = m.attempts;
    c.fin(m.id);
  }
  // In-flight ones come back ready, their attempts kept (1 delivery before, 1 now); queued ones are fresh.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempts["flight-" + std::to_string(i)], 2) << "in-flight keep attempts";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(attempts["queued-" + std::to_string(i)], 1);
  // Deferred ones keep their original deadline across the restart (nsqd would deliver them at once).
  EXPECT_TRUE(c.expect_silence(Ms(kDeferMs - 1500 - since_dpub.ms())));
  for (int i = 0; i < 2; ++i) {
    Message m = c.read_message(Ms(5000));
    EXPECT_GE(since_dpub.ms(), kDeferMs - 100) << m.body;
    EXPECT_EQ(m.body.rfind("deferred-", 0), 0u) << m.body;
    c.fin(m.id);
  }
  EXPECT_FALSE(fs::exists(fs::path(path) / "keep:c.nsqd-cpp.timing.json"));
}

TEST(Persistence, CorruptQueueFileLosesOnlyThatFile) {
  TempDir dir;
  const std::string path = dir.path().string();
  const auto bodies = numbered("corrupt-", 300);
  {
    Daemon d(Daemon::Config{{"--mem-queue-size=0", "--max-bytes-per-file=1024"}, true, path});
    publish_all(d.tcp_port(), "bad", bodies);
    publish_all(d.tcp_port(), "good", bodies);
    EXPECT_EQ(d.stop(), 0);
  }
  auto files = queue_files(path, "bad");
  ASSERT_GT(files.size(), 4u);
  // Garble the second record's length in the second data file.
  const fs::path victim = fs::path(path) / files[1];
  std::string data = read_file(victim);
  ASSERT_GT(data.size(), 60u);
  const std::size_t second = 4 + ((static_cast<unsigned char>(data[2]) << 8) | static_cast<unsigned char>(data[3]));
  data[second] = '\x7f';
  write_file(victim, data);
  Daemon d(Daemon::Config{{"--mem-queue-size=0", "--max-bytes-per-file=1024"}, true, path});
  auto got = bodies_of(consume(d.tcp_port(), "bad", "c", bodies.size(), Ms(2000)));
  // One record of that file came out, the rest of it is lost; every other file is served, in order.
  EXPECT_LT(got.size(), bodies.size());
  EXPECT_GT(got.size(), bodies.size() - 40);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), [&](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(8)) < std::stoi(b.substr(8));
  }));
  EXPECT_EQ(got.back(), bodies.back());
  EXPECT_NE(d.output().find("jump to next file"), std::string::npos) << d.output();
  EXPECT_TRUE(fs::exists(victim.string() + ".bad"));
  // Another queue is untouched.
  EXPECT_EQ(bodies_of(consume(d.tcp_port(), "good", "c", bodies.size())), bodies);
}

TEST(Persistence, MalformedNsqdDatRefusesToStartAndTouchesNothing) {
  TempDir dir;
  const std::string path = dir.path().string();
  {
    Daemon d(Daemon::Config{{}, true, path});
    publish_all(d.tcp_port(), "meta", {"x"});
    EXPECT_EQ(d.stop(), 0);
  }
  const fs::path dat = fs::path(path) / "nsqd.dat";
  ASSERT_EQ(read_file(dat), R"({"topics":[{"name":"meta","paused":false,"channels":null}],"version":"1.3.0"})");
  const std::string bad = R"({"topics":[{"name":"meta","paused":fal)";
  write_file(dat, bad);
  auto r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
                        "--data-path=" + path},
                       Ms(15000));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("failed to load metadata - failed to parse metadata in " + dat.string()),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(dat), bad);
  // Wrong types are as fatal as broken JSON.
  write_file(dat, R"({"topics":{"name":"meta"}})");
  r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--data-path=" + path},
                  Ms(15000));
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

TEST(Persistence, NsqdDatFollowsChannelsAndSkipsEphemeral) {
  Daemon d;
  {
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.subscribe("shape", "one"));
    V2Client e(d.tcp_port());
    ASSERT_TRUE(e.subscribe("shape", "two#ephemeral"));
    V2Client f(d.tcp_port());
    ASSERT_TRUE(f.subscribe("gone#ephemeral", "c"));
    const fs::path dat = fs::path(d.data_path()) / "nsqd.dat";
    const std::string want =
        R"({"topics":[{"name":"shape","paused":false,"channels":[{"name":"one","paused":false}]}],"version":"1.3.0"})";
    Stopwatch sw;
    while (read_file(dat) != want && sw.ms() < 5000) std::this_thread::sleep_for(Ms(20));
    EXPECT_EQ(read_file(dat), want);
  }
}

// Durable mode: every OK means fsynced, and a channel's read position on disk never passes an unfinished
// message, so kill -9 loses nothing acknowledged and not FINished (it may deliver some twice).
TEST(Persistence, DurableKillNineLosesNoAcknowledgedMessage) {
  TempDir dir;
  const std::string path = dir.path().string();
  const std::vector<std::string> flags{"--durable", "--max-bytes-per-file=4096"};
  const auto bodies = numbered("durable-", 400);
  std::set<std::string> finished;
  {
    Daemon d(Daemon::Config{flags, true, path});
    V2Client sub(d.tcp_port());
    ASSERT_TRUE(sub.subscribe("dur", "c"));
    publish_all(d.tcp_port(), "dur", std::vector<std::string>(bodies.begin(), bodies.begin() + 300));
    {
      V2Client pub(d.tcp_port());
      for (std::size_t i = 300; i < bodies.size(); ++i) pub.pub("dur", bodies[i]);
      for (std::size_t i = 300; i < bodies.size(); ++i) ASSERT_TRUE(pub.expect_ok());
    }
    sub.rdy(60);
    for (int i = 0; i < 60; ++i) {
      Message m = sub.read_message();
      if (i % 3 == 0) {
        sub.fin(m.id);
        finished.insert(m.body);
      }
    }
    ASSERT_TRUE(sub.sync());  // the FINs were processed
    EXPECT_EQ(d.stop(SIGKILL), 128 + SIGKILL);
  }
  Daemon d(Daemon::Config{flags, true, path});
  // At least once: replays may repeat a message (even one FINished before the kill), so FIN errors are fine.
  std::set<std::string> seen;
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe("dur", "c"));
  c.rdy(1000);
  while (auto f = c.try_read_raw_frame(Ms(2000))) {
    if (f->type != FrameType::Message) continue;
    Message m = parse_message(f->data);
    seen.insert(m.body);
    c.fin(m.id);
  }
  for (const auto& b : bodies) {
    if (finished.count(b) == 0) {
      EXPECT_EQ(seen.count(b), 1u) << b << " was acknowledged and not finished";
    }
  }
}

// Durable mode: deferred deadlines (DPUB, and REQ with a delay) survive kill -9 too; the timing side file is
// written by the same sync that makes the queue durable.
TEST(Persistence, DurableKillNineKeepsDeferredDeadlines) {
  TempDir dir;
  const std::string path = dir.path().string();
  const std::vector<std::string> flags{"--durable"};
  constexpr int kDeferMs = 5000;
  Stopwatch since;
  {
    Daemon d(Daemon::Config{flags, true, path});
    V2Client sub(d.tcp_port());
    ASSERT_TRUE(sub.subscribe("later", "c"));
    V2Client pub(d.tcp_port());
    pub.pub("later", "requeued");
    ASSERT_TRUE(pub.expect_ok());
    sub.rdy(1);
    Message m = sub.read_message();
    since.reset();
    sub.req(m.id, kDeferMs);
    pub.dpub("later", kDeferMs, "dpub");
    ASSERT_TRUE(pub.expect_ok());  // durable: the message and its delay are on disk
    ASSERT_TRUE(sub.sync());       // the REQ was processed
    // The REQ's deadline is written by a sync of its own; give it a moment, then crash.
    std::this_thread::sleep_for(Ms(300));
    EXPECT_EQ(d.stop(SIGKILL), 128 + SIGKILL);
  }
  EXPECT_TRUE(fs::exists(fs::path(path) / "later:c.nsqd-cpp.timing.json"));
  Daemon d(Daemon::Config{flags, true, path});
  ASSERT_LT(since.ms(), kDeferMs - 1500) << "restart too slow for this test";
  V2Client c(d.tcp_port());
  ASSERT_TRUE(c.subscribe("later", "c"));
  c.rdy(10);
  // Nothing before the deadline (nsqd, and a crash without the side file, would deliver both at once).
  EXPECT_TRUE(c.expect_silence(Ms(kDeferMs - 1000 - since.ms())));
  std::set<std::string> got;
  for (int i = 0; i < 2; ++i) {
    Message m = c.read_message(Ms(5000));
    EXPECT_GE(since.ms(), kDeferMs - 200) << m.body;
    got.insert(m.body);
    c.fin(m.id);
  }
  EXPECT_EQ(got, (std::set<std::string>{"requeued", "dpub"}));
}

TEST(Persistence, DurableHttpPublishesSurviveKillNine) {
  TempDir dir;
  const std::string path = dir.path().string();
  {
    Daemon d(Daemon::Config{{"--durable"}, true, path});
    auto r = http_post(d.http_port(), "/pub?topic=hdur", "via-pub");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "OK");
    r = http_post(d.http_port(), "/mpub?topic=hdur", "via-mpub-1\nvia-mpub-2\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(d.stop(SIGKILL), 128 + SIGKILL);
  }
  Daemon d(Daemon::Config{{"--durable"}, true, path});
  auto got = bodies_of(consume(d.tcp_port(), "hdur", "c", 3));
  EXPECT_EQ(as_set(got), as_set({"via-pub", "via-mpub-1", "via-mpub-2"}));
}

TEST(Persistence, DurableRepliesStayInCommandOrder) {
  Daemon d({"--durable"});
  V2Client c(d.tcp_port());
  c.pub("order", "one");
  c.mpub("order", {"two", "three"});
  c.send_line("NOP");
  c.send_line("FIN 0123456789abcdef");  // not subscribed: an error that must wait behind the OKs
  EXPECT_TRUE(c.expect_ok());
  EXPECT_TRUE(c.expect_ok());
  EXPECT_TRUE(c.expect_fatal("E_INVALID cannot FIN in current state"));
}

// The Go nsqd v1.3.0 wrote this directory (see ../shared/fixtures/README.md); we must serve exactly what its
// MANIFEST.json lists, per queue.
TEST(Persistence, ServesGoNsqdDataDirectory) {
  const fs::path fixture = fs::path(NSQD_FIXTURES_DIR) / "go-nsqd-1.3.0-datadir";
  if (!fs::exists(fixture / "MANIFEST.json")) GTEST_SKIP() << "fixture not found at " << fixture;
  const auto manifest = nlohmann::json::parse(read_file(fixture / "MANIFEST.json"));
  TempDir dir;
  fs::copy(fixture / "data", dir.path(), fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
  }
  // Unpause what the Go nsqd left paused (orders/shipping, frozen) by editing our copy's nsqd.dat.
  const fs::path dat = dir.path() / "nsqd.dat";
  std::string meta = read_file(dat);
  for (std::size_t p; (p = meta.find("\"paused\":true")) != std::string::npos;) meta.replace(p, 13, "\"paused\":false");
  write_file(dat, meta);

  Daemon d(Daemon::Config{{"--mem-queue-size=5", "--max-bytes-per-file=4096"}, true, dir.path().string()});
  for (const auto& [queue, encoded] : manifest["queues"].items()) {
    std::vector<std::string> want;
    for (const auto& b : encoded) want.push_back(base64_decode(b.get<std::string>()));
    const auto slash = queue.find('/');
    const std::string topic = queue.substr(0, slash);
    std::string channel = queue.substr(slash + 1);
    if (channel.front() == '<') channel = "newcomer";
    auto got = consume(d.tcp_port(), topic, channel, want.size(), Ms(3000));
    EXPECT_EQ(got.size(), want.size()) << queue;
    EXPECT_EQ(as_set(bodies_of(got)), as_set(want)) << queue;
  }
  EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace nsqit
