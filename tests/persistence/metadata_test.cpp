// nsqd.dat encoding and the engine's load / persist / clean-close cycle over the in-memory file system.
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "dq_test_env.h"
#include "engine/channel.h"
#include "engine/metadata.h"
#include "engine/nsqd.h"
#include "engine/topic.h"
#include "io_sim/prng.h"

namespace {

TEST(Metadata, EncodesLikeNsqd) {
  nsq::Metadata m;
  EXPECT_EQ(nsq::encode_metadata(m), R"({"topics":null,"version":"1.3.0"})");
  m.topics.push_back({"t", false, {{"c", true}}});
  m.topics.push_back({"u", true, {}});
  EXPECT_EQ(nsq::encode_metadata(m),
            R"({"topics":[{"name":"t","paused":false,"channels":[{"name":"c","paused":true}]},)"
            R"({"name":"u","paused":true,"channels":null}],"version":"1.3.0"})");
}

TEST(Metadata, DecodesAndRejectsLikeGo) {
  std::string err;
  auto m = nsq::decode_metadata(
      R"({"topics":[{"name":"t","paused":true,"channels":[{"name":"c","paused":false}],"x":1}],"version":"1.3.0"})",
      err);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->topics.size(), 1u);
  EXPECT_TRUE(m->topics[0].paused);
  EXPECT_EQ(m->topics[0].channels[0].name, "c");
  EXPECT_TRUE(nsq::decode_metadata(R"({"topics":null})", err));
  EXPECT_FALSE(nsq::decode_metadata("{\"topics\":[", err));
  EXPECT_FALSE(nsq::decode_metadata(R"({"topics":5})", err));
  EXPECT_FALSE(nsq::decode_metadata(R"({"topics":[{"name":1}]})", err));
}

struct Engine {
  dqtest::Env env;
  nsq::io_sim::Prng rng{7};
  nsq::Options opts;
  std::unique_ptr<nsq::NSQD> nsqd;

  Engine() {
    opts.data_path = "/data";
    opts.mem_queue_size = 2;
  }
  void start() { nsqd = std::make_unique<nsq::NSQD>(opts, nsq::Seams{env.clock, rng, env.logger, &env.fs}); }
  void close() {
    bool done = false;
    nsqd->shutdown();
    nsqd->close([&] { done = true; });
    while (!done && env.clock.run_next()) {
    }
    ASSERT_TRUE(done);
    nsqd.reset();
  }
  std::string dat() { return env.read_text("/data/nsqd.dat"); }
};

TEST(Metadata, PersistedOnCreatePauseDeleteAndRestoredAtLoad) {
  Engine e;
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  e.env.settle();
  EXPECT_EQ(e.dat(), R"({"topics":null,"version":"1.3.0"})");
  nsq::Topic& t = e.nsqd->get_topic("t");
  t.get_channel("c");
  t.get_channel("e#ephemeral");
  e.nsqd->get_topic("gone");
  e.nsqd->get_topic("x#ephemeral");
  e.env.settle();
  EXPECT_EQ(e.dat(), R"({"topics":[{"name":"gone","paused":false,"channels":null},)"
                     R"({"name":"t","paused":false,"channels":[{"name":"c","paused":false}]}],"version":"1.3.0"})");
  t.find_channel("c")->pause();
  t.pause();
  e.nsqd->delete_topic("gone");
  e.env.settle();
  EXPECT_EQ(e.dat(), R"({"topics":[{"name":"t","paused":true,"channels":[{"name":"c","paused":true}]}],)"
                     R"("version":"1.3.0"})");
  e.close();
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  nsq::Topic* t2 = e.nsqd->find_topic("t");
  ASSERT_NE(t2, nullptr);
  EXPECT_TRUE(t2->paused());
  ASSERT_NE(t2->find_channel("c"), nullptr);
  EXPECT_TRUE(t2->find_channel("c")->paused());
}

TEST(Metadata, MalformedFileRefusesToLoadAndTouchesNothing) {
  Engine e;
  e.env.fs.put_durable("/data/nsqd.dat", "{\"topics\":[{\"name\":\"t\"");
  e.start();
  std::string err = e.nsqd->load_metadata();
  EXPECT_NE(err.find("failed to parse metadata in /data/nsqd.dat"), std::string::npos) << err;
  e.env.settle();
  EXPECT_EQ(e.dat(), "{\"topics\":[{\"name\":\"t\"");
  EXPECT_EQ(e.nsqd->find_topic("t"), nullptr);
}

TEST(Metadata, CleanCloseFlushesQueuesAndRestartServesThem) {
  Engine e;
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  nsq::Topic& t = e.nsqd->get_topic("t");
  t.get_channel("c");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(t.put(t.new_message("body" + std::to_string(i))), "");
  // mem-queue-size 2: two in the channel's memory, three on its disk.
  EXPECT_EQ(t.find_channel("c")->depth(), 5);
  EXPECT_EQ(t.find_channel("c")->backend_depth(), 3);
  e.nsqd->get_topic("lonely");
  for (int i = 0; i < 3; ++i) {
    nsq::Topic& l = *e.nsqd->find_topic("lonely");
    ASSERT_EQ(l.put(l.new_message("l" + std::to_string(i))), "");
  }
  e.close();
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  EXPECT_EQ(e.nsqd->find_topic("t")->find_channel("c")->depth(), 5);
  EXPECT_EQ(e.nsqd->find_topic("lonely")->depth(), 3);
}

}  // namespace

namespace {

TEST(EnginePersistence, DiskWriteErrorFailsThePublishAndMarksUnhealthyUntilNextSuccess) {
  Engine e;
  e.opts.mem_queue_size = 0;  // every message to disk
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  nsq::Topic& t = e.nsqd->get_topic("t");
  // A publisher puts, then flush_puts() writes the batch (disk appends are batched) before it answers.
  ASSERT_EQ(t.put(t.new_message("fine")), "");
  ASSERT_EQ(t.flush_puts(), "");
  EXPECT_TRUE(e.nsqd->healthy());
  e.env.fs.capacity = e.env.fs.used_bytes();
  ASSERT_EQ(t.put(t.new_message("too much")), "");  // only buffered
  const std::string err = t.flush_puts();
  EXPECT_EQ(err, "write /data/t.diskqueue.000000.dat: no space left on device");
  EXPECT_EQ(e.nsqd->health(), "NOK - " + err);
  EXPECT_EQ(t.message_count(), 1u);
  EXPECT_EQ(t.depth(), 1);
  e.env.fs.capacity.reset();
  ASSERT_EQ(t.put(t.new_message("fine again")), "");
  ASSERT_EQ(t.flush_puts(), "");
  EXPECT_EQ(e.nsqd->health(), "OK");
  EXPECT_EQ(t.message_count(), 2u);
  EXPECT_EQ(t.depth(), 2);
}

TEST(EnginePersistence, MemQueueSizeZeroKeepsEverythingOnDisk) {
  Engine e;
  e.opts.mem_queue_size = 0;
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  nsq::Topic& t = e.nsqd->get_topic("t");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.put(t.new_message("m" + std::to_string(i))), "");
  EXPECT_EQ(t.depth(), 4);
  EXPECT_EQ(t.backend_depth(), 4);
  nsq::Channel& c = t.get_channel("c");  // the backlog moves to the channel's disk queue
  EXPECT_EQ(t.depth(), 0);
  EXPECT_EQ(c.depth(), 4);
  EXPECT_EQ(c.backend_depth(), 4);
  EXPECT_TRUE(e.env.fs.exists("/data/t:c.diskqueue.000000.dat"));
}

}  // namespace

namespace {

// Reads every record left in a queue's files (as a restart would), as message bodies.
std::set<std::string> bodies_on_disk(dqtest::Env& env, const std::string& queue) {
  nsq::DiskQueueOptions o;
  o.data_path = "/data";
  o.max_bytes_per_file = 4096;
  o.min_msg_size = 26;
  o.max_msg_size = 1024 * 1024 + 26;
  nsq::DiskQueue q(queue, o, env.fs, env.clock, env.logger);
  std::set<std::string> out;
  while (auto rec = q.read_next()) {
    if (auto m = nsq::decode_message_payload(*rec)) out.insert(std::string(m->body.view()));
  }
  return out;
}

// --durable: an OK is only sent once the message is fsynced, so after a power loss (unsynced writes gone) every
// acknowledged message is still on disk, in the topic's queue or already in the channel's.
// A durable publish whose topic is deleted before its fsync completes is answered ("exiting"), never left
// hanging.
TEST(EnginePersistence, DurablePublishToADeletedTopicIsAnswered) {
  Engine e;
  e.opts.durable = true;
  e.env.fs.sync_latency_ns = 50'000'000;
  e.start();
  ASSERT_EQ(e.nsqd->load_metadata(), "");
  nsq::Topic& t = e.nsqd->get_topic("gone");
  ASSERT_EQ(t.put(t.new_message("x")), "");
  std::optional<std::string> answer;
  t.when_durable([&answer](const std::string& err) { answer = err; });
  e.nsqd->delete_topic("gone");
  e.env.clock.run_for(200'000'000);
  ASSERT_TRUE(answer.has_value()) << "the publisher was never answered";
  EXPECT_EQ(*answer, "exiting");
  EXPECT_TRUE(e.nsqd->healthy());
}

TEST(EnginePersistence, DurableAcknowledgedPublishesSurvivePowerLoss) {
  for (int seed = 0; seed < 30; ++seed) {
    Engine e;
    e.opts.durable = true;
    e.opts.max_bytes_per_file = 4096;
    e.opts.sync_every = 50;
    e.env.fs.sync_latency_ns = 2'000'000;
    e.start();
    ASSERT_EQ(e.nsqd->load_metadata(), "");
    nsq::Topic& t = e.nsqd->get_topic("t");
    t.get_channel("c");
    std::set<std::string> acked;
    nsq::io_sim::Prng rng(static_cast<std::uint64_t>(seed));
    const int crash_after = 50 + static_cast<int>(rng.uniform(250));
    for (int i = 0; i < crash_after; ++i) {
      const std::string body = "msg-" + std::to_string(i) + std::string(rng.uniform(200), 'x');
      ASSERT_EQ(t.put(t.new_message(body)), "");
      t.when_durable([&acked, body](const std::string& err) {
        if (err.empty()) acked.insert(body);
      });
      if (rng.uniform(4) == 0) e.env.clock.run_for(static_cast<std::int64_t>(rng.uniform(3'000'000)));
    }
    e.env.fs.crash([&rng](std::size_t n) { return static_cast<std::size_t>(rng.uniform(n + 1)); });
    e.nsqd.reset();
    std::set<std::string> on_disk = bodies_on_disk(e.env, "t");
    for (const auto& b : bodies_on_disk(e.env, "t:c")) on_disk.insert(b);
    ASSERT_FALSE(acked.empty()) << "seed " << seed;
    for (const auto& b : acked) ASSERT_EQ(on_disk.count(b), 1u) << "seed " << seed << ": lost acknowledged " << b;
  }
}

}  // namespace
