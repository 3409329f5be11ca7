// Google Benchmark micro-benchmarks of nsqd-cpp's hot paths, so a regression shows before it reaches the
// daemon: V2 frame parsing, MPUB decoding, topic fan-out, the in-flight priority queue, disk-queue appends.
//   build/nsqd-microbench                         # all, default timing
//   build/nsqd-microbench --benchmark_filter=Disk # one group
// ctest runs each once, briefly (nsqd_microbench_smoke), only to prove they still run.
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/channel.h"
#include "engine/command_parser.h"
#include "engine/disk_queue.h"
#include "engine/guid.h"
#include "engine/in_flight_pqueue.h"
#include "engine/memory_queue.h"
#include "engine/message.h"
#include "engine/nsqd.h"
#include "engine/topic.h"
#include "engine/wire.h"
#include "io_sim/prng.h"
#include "io_sim/sim_file_system.h"
#include "io_sim/virtual_clock.h"

namespace {

class NullLogger final : public nsq::seam::Logger {
 public:
  bool enabled(nsq::seam::LogLevel) const override { return false; }
  void log(nsq::seam::LogLevel, std::string_view) override {}
};

// Counts commands and message bodies; accepts everything.
class CountingHandler final : public nsq::CommandHandler {
 public:
  nsq::BodyPlan on_line(nsq::ParsedCommand& cmd) override { return nsq::CommandParser::body_plan_for(cmd.name()); }
  bool on_body_size(nsq::ParsedCommand&, std::int32_t) override { return true; }
  bool on_mpub_count(nsq::ParsedCommand&, std::int32_t) override { return true; }
  bool on_mpub_message_size(nsq::ParsedCommand&, std::int32_t, std::int32_t) override { return true; }
  bool on_command(nsq::ParsedCommand& cmd) override {
    ++commands;
    bodies += cmd.messages.size();
    return true;
  }
  void on_line_too_long() override {}
  std::size_t commands = 0, bodies = 0;
};

// What a consumer sends most: FIN lines, fed in 64 KiB reads as the daemon gets them.
void BM_ParseFinLines(benchmark::State& state) {
  std::string stream;
  while (stream.size() < 64 * 1024 - 64) stream += "FIN 0123456789abcdef\n";
  nsq::CommandParser parser;
  CountingHandler h;
  for (auto _ : state) {
    parser.feed(h, reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(h.commands));
}
BENCHMARK(BM_ParseFinLines);

// MPUB of 200 x 200 B bodies, delivered in 64 KiB chunks.
void BM_MpubDecode(benchmark::State& state) {
  const std::string body(200, 'x');
  std::string cmd = "MPUB bench\n";
  std::string payload;
  nsq::wire::append_u32(payload, 200);
  for (int i = 0; i < 200; ++i) {
    nsq::wire::append_u32(payload, static_cast<std::uint32_t>(body.size()));
    payload += body;
  }
  nsq::wire::append_u32(cmd, static_cast<std::uint32_t>(payload.size()));
  cmd += payload;
  std::string stream;
  for (int i = 0; i < 16; ++i) stream += cmd;
  nsq::CommandParser parser;
  CountingHandler h;
  for (auto _ : state) {
    for (std::size_t off = 0; off < stream.size(); off += 64 * 1024) {
      const std::size_t n = std::min<std::size_t>(64 * 1024, stream.size() - off);
      parser.feed(h, reinterpret_cast<const std::uint8_t*>(stream.data() + off), n);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(h.bodies));
}
BENCHMARK(BM_MpubDecode);

// Publish into a topic with N channels and no consumers: new message, ID, fan-out (shared body), queueing.
void BM_TopicFanOut(benchmark::State& state) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::Prng rng{1};
  NullLogger logger;
  nsq::Options opts;
  opts.mem_queue_size = 1'000'000'000;
  nsq::NSQD nsqd(opts, nsq::Seams{clock, rng, logger});
  nsq::Topic& t = nsqd.get_topic("bench");
  for (int c = 0; c < state.range(0); ++c) t.get_channel("c" + std::to_string(c));
  const std::string body(200, 'x');
  std::int64_t n = 0;
  for (auto _ : state) {
    t.put(t.new_message(body));
    if (++n % 100000 == 0) {
      state.PauseTiming();
      for (auto& [name, ch] : t.channels()) ch->empty();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_TopicFanOut)->Arg(1)->Arg(3);

// A channel's memory queue at a steady backlog of N messages: a published 200 B message (new Message and Body,
// as Topic::new_message makes them) pushed, the oldest popped (materialized for delivery) and dropped.
// Arg(1) = 0 stores the body inline, 1 shares it with a copy held outside (fan-out to several channels).
nsq::MessagePtr published(nsq::GuidFactory& guid, std::int64_t& n, const std::string& body) {
  auto m = std::make_unique<nsq::Message>();
  m->id = guid.next(++n << 20);
  m->timestamp = n;
  m->body = nsq::BodyRef(body);
  return m;
}

void BM_MemoryQueuePushPop(benchmark::State& state) {
  nsq::MemoryQueue q;
  nsq::GuidFactory guid(1);
  const std::string body(200, 'x');
  std::int64_t n = 0;
  const bool shared = state.range(1) != 0;
  nsq::BodyRef other;
  for (std::int64_t i = 0; i < state.range(0); ++i) q.push(published(guid, n, body));
  for (auto _ : state) {
    nsq::MessagePtr m = published(guid, n, body);
    if (shared) other = m->body;
    q.push(std::move(m));
    benchmark::DoNotOptimize(q.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryQueuePushPop)->Args({0, 0})->Args({10000, 0})->Args({1000000, 0})->Args({10000, 1});

// The same with the representation MemoryQueue replaced (a deque of heap Messages), for comparison.
void BM_DequeOfMessagesPushPop(benchmark::State& state) {
  std::deque<nsq::MessagePtr> q;
  nsq::GuidFactory guid(1);
  const std::string body(200, 'x');
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < state.range(0); ++i) q.push_back(published(guid, n, body));
  for (auto _ : state) {
    q.push_back(published(guid, n, body));
    nsq::MessagePtr m = std::move(q.front());
    q.pop_front();
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DequeOfMessagesPushPop)->Arg(0)->Arg(10000)->Arg(1000000);

// In-flight queue at a steady 5,000 messages: push one with a later deadline, remove the earliest.
void BM_InFlightPushPop(benchmark::State& state) {
  std::vector<nsq::Message> msgs(5001);
  nsq::InFlightPqueue q;
  std::int64_t pri = 0;
  for (std::size_t i = 0; i < 5000; ++i) {
    msgs[i].pri = pri++;
    q.push(&msgs[i]);
  }
  std::size_t spare = 5000;
  for (auto _ : state) {
    msgs[spare].pri = pri++;
    q.push(&msgs[spare]);
    nsq::Message* m = q.pop_if_due(pri);
    spare = static_cast<std::size_t>(m - msgs.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InFlightPushPop);

// Removal from the middle (a FIN): O(log n) through the index each message keeps.
void BM_InFlightRemove(benchmark::State& state) {
  std::vector<nsq::Message> msgs(5000);
  nsq::InFlightPqueue q;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    msgs[i].pri = static_cast<std::int64_t>((i * 7919) % 5000);
    q.push(&msgs[i]);
  }
  std::size_t k = 0;
  for (auto _ : state) {
    nsq::Message* m = &msgs[k];
    q.remove(m);
    q.push(m);
    k = (k + 2477) % msgs.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InFlightRemove);

// Disk-queue appends of 226 B records (a 200 B message as nsqd stores it), over the in-memory file system:
// arg 0 = write-through (one write per record), arg N = batched, one flush per N records.
void BM_DiskQueueAppend(benchmark::State& state) {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  NullLogger logger;
  nsq::DiskQueueOptions o;
  o.data_path = "/d";
  o.max_bytes_per_file = 16 * 1024 * 1024;
  o.sync_every = 1'000'000'000;
  o.batch_writes = state.range(0) > 0;
  auto q = std::make_unique<nsq::DiskQueue>("bench", o, fs, clock, logger);
  const std::string record(226, 'r');
  std::int64_t n = 0;
  for (auto _ : state) {
    q->put(record);
    if (o.batch_writes && ++n % state.range(0) == 0) q->flush();
    if (q->write_file_num() > 2) {
      state.PauseTiming();
      q->remove_all();
      q = std::make_unique<nsq::DiskQueue>("bench" + std::to_string(n), o, fs, clock, logger);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiskQueueAppend)->Arg(0)->Arg(200);

}  // namespace

BENCHMARK_MAIN();
