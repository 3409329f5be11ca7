// Model-based property of engine/disk_queue over io_sim's in-memory file system: any sequence of puts, reads,
// syncs, clean restarts and crashes (power loss, with or without torn tails) keeps every synced message, in
// order, exactly once. A read may repeat one that was read but whose read position was never synced (at least
// once), and may bring back unsynced writes that happened to survive, but never out of order.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/disk_queue.h"
#include "io_sim/sim_file_system.h"
#include "io_sim/virtual_clock.h"

namespace {

class QuietLogger final : public nsq::seam::Logger {
 public:
  bool enabled(nsq::seam::LogLevel) const override { return false; }
  void log(nsq::seam::LogLevel, std::string_view) override {}
};

enum class OpKind { put, read, sync, tick, crash, torn_crash, reopen };

struct Op {
  OpKind kind;
  int arg;  // put: payload size; tick: ms; torn_crash: bytes kept of each unsynced tail
};

void showValue(const Op& op, std::ostream& os) {
  static const char* kNames[] = {"put", "read", "sync", "tick", "crash", "torn_crash", "reopen"};
  os << kNames[static_cast<int>(op.kind)] << "(" << op.arg << ")";
}

rc::Gen<Op> gen_op() {
  return rc::gen::weightedOneOf<Op>({
      {10, rc::gen::map(rc::gen::inRange(8, 60), [](int n) { return Op{OpKind::put, n}; })},
      {6, rc::gen::just(Op{OpKind::read, 0})},
      {2, rc::gen::just(Op{OpKind::sync, 0})},
      {2, rc::gen::map(rc::gen::inRange(0, 2500), [](int ms) { return Op{OpKind::tick, ms}; })},
      {1, rc::gen::just(Op{OpKind::crash, 0})},
      {1, rc::gen::map(rc::gen::inRange(0, 80), [](int n) { return Op{OpKind::torn_crash, n}; })},
      {1, rc::gen::just(Op{OpKind::reopen, 0})},
  });
}

std::string make_payload(int index, int size) {
  std::string s = std::to_string(index) + "|";
  s.resize(static_cast<std::size_t>(std::max<int>(size, static_cast<int>(s.size()))), '#');
  return s;
}

int index_of(const std::string& payload) { return std::stoi(payload.substr(0, payload.find('|'))); }

struct World {
  nsq::io_sim::VirtualClock clock;
  nsq::io_sim::SimFileSystem fs{clock};
  QuietLogger logger;
  nsq::DiskQueueOptions opts;
  std::unique_ptr<nsq::DiskQueue> q;

  // batched: appends buffered until flush() (as nsqd's topics and channels use the queue).
  explicit World(bool batched) {
    opts.batch_writes = batched;
    opts.data_path = "/d";
    opts.max_bytes_per_file = 150;  // a few records per file: rolls and file deletions happen often
    opts.min_msg_size = 8;
    opts.max_msg_size = 100;
    opts.sync_every = 7;
    opts.sync_timeout_ns = 1'000'000'000;
    fs.sync_latency_ns = 3'000'000;
    open();
  }
  void open() { q = std::make_unique<nsq::DiskQueue>("q", opts, fs, clock, logger); }
};

// Drops the queue as a power loss would: unsynced writes lost (crash) or cut to a prefix (torn_crash).
void crash(World& w, const Op& op) {
  w.q.reset();
  if (op.kind == OpKind::crash) {
    w.fs.crash();
  } else {
    const auto keep = static_cast<std::size_t>(op.arg);
    w.fs.crash([keep](std::size_t n) { return std::min(n, keep); });
  }
}

}  // namespace

RC_GTEST_PROP(DiskQueueProps, SyncedMessagesSurviveInOrderExactlyOnce, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  World w(*rc::gen::arbitrary<bool>());
  int next_index = 0;
  std::set<int> required;    // put, not yet read, and either synced or no crash since: must still come out
  int last_read = -1;        // highest index read since the last crash (reads are strictly increasing)
  int synced_upto = -1;      // every put <= this is durable
  int durable_read = -1;     // every read <= this is durably consumed: never delivered again

  auto on_read = [&](int r) {
    RC_ASSERT(r > last_read);      // in order, no duplicate within an epoch
    RC_ASSERT(r > durable_read);   // a durably consumed message never comes back
    RC_ASSERT(r < next_index);
    // Nothing required may be skipped over.
    RC_ASSERT(required.empty() || *required.begin() >= r);
    required.erase(r);
    last_read = r;
  };
  auto request_sync = [&] {
    const int put_mark = next_index - 1;
    const int read_mark = last_read;
    w.q->sync([&, put_mark, read_mark](nsq::seam::IoResult res) {
      if (!res.ok()) return;
      synced_upto = std::max(synced_upto, put_mark);
      durable_read = std::max(durable_read, read_mark);
    });
  };
  auto reopen_clean = [&] {
    bool closed = false;
    w.q->close([&](nsq::seam::IoResult res) { closed = res.ok(); });
    while (!closed && w.clock.run_next()) {
    }
    RC_ASSERT(closed);
    synced_upto = next_index - 1;
    durable_read = std::max(durable_read, last_read);
    w.q.reset();
    w.open();
  };

  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::put: {
        const int i = next_index++;
        RC_ASSERT(w.q->put(make_payload(i, op.arg)) == "");
        if (w.opts.batch_writes && op.arg % 3 == 0) RC_ASSERT(w.q->flush() == "");  // the owner's per-turn flush
        required.insert(i);
        break;
      }
      case OpKind::read:
        if (auto rec = w.q->read_next()) on_read(index_of(*rec));
        break;
      case OpKind::sync:
        request_sync();
        break;
      case OpKind::tick:
        w.clock.run_for(static_cast<std::int64_t>(op.arg) * 1'000'000);
        break;
      case OpKind::crash:
      case OpKind::torn_crash: {
        crash(w, op);
        // Unsynced puts may or may not have survived; synced ones must still come out.
        for (auto it = required.begin(); it != required.end();) it = *it > synced_upto ? required.erase(it) : ++it;
        last_read = durable_read;
        w.open();
        break;
      }
      case OpKind::reopen:
        reopen_clean();
        break;
    }
  }
  // Finally: a clean restart, then everything left must come out, in order.
  reopen_clean();
  while (auto rec = w.q->read_next()) on_read(index_of(*rec));
  RC_ASSERT(required.empty());
  RC_ASSERT(!w.q->readable());
}

// Durable mode's ack tracking: whatever the sequence of puts, reads, acks, syncs, crashes and restarts, a
// synced message that was never acknowledged comes out again after a crash (at least once), and reads stay in
// order within a run.
RC_GTEST_PROP(DiskQueueProps, UnackedReadsSurviveCrashes, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const auto ack_picks = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 1000));
  std::size_t next_pick = 0;
  World w(*rc::gen::arbitrary<bool>());
  w.q->set_track_acks(true);
  int next_index = 0;
  std::set<int> required;  // synced (or not yet crashed) and never acknowledged
  std::set<int> read_now;  // read since the last restart
  std::vector<std::pair<std::uint64_t, int>> outstanding;  // (seq, index) not acked yet
  int last_read = -1;
  int synced_upto = -1;

  auto reopen = [&] {
    w.q.reset();
    w.open();
    w.q->set_track_acks(true);
    outstanding.clear();
    read_now.clear();
    last_read = -1;
  };
  auto read_one = [&]() -> bool {
    std::uint64_t seq = 0;
    auto rec = w.q->read_next(&seq);
    if (!rec) return false;
    const int r = index_of(*rec);
    RC_ASSERT(r > last_read);
    for (int i : required) {
      if (i >= r) break;
      RC_ASSERT(read_now.count(i) == 1u);  // a required message was skipped
    }
    last_read = r;
    read_now.insert(r);
    outstanding.emplace_back(seq, r);
    return true;
  };
  auto ack_one = [&](std::size_t k) {
    if (outstanding.empty()) return;
    k %= outstanding.size();
    w.q->ack(outstanding[k].first);
    required.erase(outstanding[k].second);
    outstanding.erase(outstanding.begin() + static_cast<long>(k));
  };
  auto close_clean = [&] {
    bool closed = false;
    w.q->close([&](nsq::seam::IoResult res) { closed = res.ok(); });
    while (!closed && w.clock.run_next()) {
    }
    RC_ASSERT(closed);
    synced_upto = next_index - 1;
  };

  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::put: {
        const int i = next_index++;
        RC_ASSERT(w.q->put(make_payload(i, op.arg)) == "");
        if (w.opts.batch_writes && op.arg % 3 == 0) RC_ASSERT(w.q->flush() == "");  // the owner's per-turn flush
        required.insert(i);
        break;
      }
      case OpKind::read:
        read_one();
        // Half the time acknowledge one outstanding read.
        if (next_pick < ack_picks.size() && ack_picks[next_pick] % 2 == 0) {
          ack_one(static_cast<std::size_t>(ack_picks[next_pick] / 2));
        }
        ++next_pick;
        break;
      case OpKind::sync: {
        const int mark = next_index - 1;
        w.q->sync([&, mark](nsq::seam::IoResult res) {
          if (res.ok()) synced_upto = std::max(synced_upto, mark);
        });
        break;
      }
      case OpKind::tick:
        w.clock.run_for(static_cast<std::int64_t>(op.arg) * 1'000'000);
        break;
      case OpKind::crash:
      case OpKind::torn_crash: {
        crash(w, op);
        for (auto it = required.begin(); it != required.end();) it = *it > synced_upto ? required.erase(it) : ++it;
        reopen();
        break;
      }
      case OpKind::reopen:
        close_clean();
        reopen();
        break;
    }
  }
  close_clean();
  reopen();
  while (read_one()) ack_one(outstanding.size() - 1);
  RC_ASSERT(required.empty());
}
