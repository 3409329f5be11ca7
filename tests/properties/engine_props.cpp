// Property 6: a model-based run of the whole engine on fake seams.
//
// A deterministic fake clock (virtual time + timer queue), splitmix64 randomness, a quiet logger and in-memory
// connections drive an NSQD with generated actions: consumers connecting (magic, IDENTIFY unbuffered, SUB, RDY),
// publishing (PUB, MPUB, DPUB, HTTP-style publish), FIN / REQ / TOUCH of received messages, CLS, disconnects and
// time passing. Every server->client frame is parsed and checked against a small model:
//   - a consumer never has more unacknowledged messages than its RDY (counting only messages that are certainly
//     still in flight on the server: delivered, not FIN/REQ'd, expiry not yet reached);
//   - FIN/REQ/TOUCH of a message the consumer owns and whose expiry has not passed succeeds; one whose expiry
//     passed a whole scan interval ago (or that another consumer now owns) fails;
//   - attempts go 1, 2, 3... on each (re)delivery of a message on a channel;
//   - nothing is delivered before its due time (DPUB delay, REQ delay, in-flight expiry), nothing after its FIN;
//   - each message reaches exactly the channels that existed when the topic handed it over (backlog to the
//     first channel), with the timestamp of its publication and one ID shared by all copies;
// then a drain phase (every channel consumed, everything FINished, time advanced past all deadlines) checks that
// every message was FINished exactly once per channel and that stats() ends with depth, in_flight and deferred 0.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "io_sim/sim_http_client.h"
#include "engine/channel.h"
#include "engine/message.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/seam/clock.h"
#include "engine/seam/logger.h"
#include "engine/seam/network.h"
#include "engine/seam/random.h"
#include "engine/stats.h"
#include "engine/topic.h"
#include "engine/wire.h"
#include "prop_util.h"

namespace {

using nsq::kMillisecond;
using nsq::kSecond;

// ---- fake seams ----------------------------------------------------------------------------------------------

class FakeClock final : public nsq::seam::Clock {
 public:
  explicit FakeClock(std::int64_t wall_base) : wall_base_(wall_base) {}
  std::int64_t now_ns() const override { return now_; }
  std::int64_t wall_ns() const override { return wall_base_ + now_; }
  nsq::seam::TimerId schedule_at(std::int64_t deadline_ns, std::function<void()> fn) override {
    // A deadline in the past runs "after the current handler" and after anything already posted: as now.
    const std::int64_t d = std::max(deadline_ns, now_);
    const nsq::seam::TimerId id = ++last_id_;
    timers_.emplace(std::make_pair(d, id), std::move(fn));
    deadlines_.emplace(id, d);
    return id;
  }
  void cancel(nsq::seam::TimerId id) override {
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return;
    timers_.erase({it->second, id});
    deadlines_.erase(it);
  }
  // Runs every timer due at or before t in (deadline, scheduling) order, time set to each deadline; then now = t.
  void run_until(std::int64_t t) {
    while (!timers_.empty() && timers_.begin()->first.first <= t) {
      auto it = timers_.begin();
      now_ = std::max(now_, it->first.first);
      std::function<void()> fn = std::move(it->second);
      deadlines_.erase(it->first.second);
      timers_.erase(it);
      if (++fired_ > 5'000'000) RC_FAIL("timer storm: more than 5M timers fired");
      fn();
    }
    now_ = std::max(now_, t);
  }
  void run_ready() { run_until(now_); }

 private:
  std::int64_t wall_base_;
  std::int64_t now_ = 0;
  nsq::seam::TimerId last_id_ = 0;
  std::uint64_t fired_ = 0;
  std::map<std::pair<std::int64_t, nsq::seam::TimerId>, std::function<void()>> timers_;
  std::unordered_map<nsq::seam::TimerId, std::int64_t> deadlines_;
};

class SplitMix final : public nsq::seam::Random {
 public:
  explicit SplitMix(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next_u64() override {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t s_;
};

class QuietLogger final : public nsq::seam::Logger {
 public:
  bool enabled(nsq::seam::LogLevel level) const override { return level >= nsq::seam::LogLevel::warn; }
  void log(nsq::seam::LogLevel, std::string_view line) override {
    if (lines.size() < 200) lines.emplace_back(line);
  }
  std::vector<std::string> lines;
};

// What the test knows about one connection; shared between the engine-owned handle and the test.
struct ConnState {
  int index = 0;
  nsq::seam::ConnectionHandler* handler = nullptr;
  bool handle_alive = true;   // the engine still holds the Connection
  bool server_closed = false;  // the engine called close()
  bool peer_closed = false;    // the test hung up
  bool drain_posted = false;
  int starts = 0;
  std::string addr;
  std::string in;  // server->client bytes not yet parsed into frames
};

struct Write {
  std::int64_t t;  // virtual time of the write (monotonic ns)
  int conn;
  std::string bytes;
};

struct FakeNet {
  FakeClock& clock;
  std::vector<Write> pending;  // in write order, across all connections
  std::vector<std::string> problems;
};

class FakeConnection final : public nsq::seam::Connection {
 public:
  FakeConnection(FakeNet& net, std::shared_ptr<ConnState> st) : net_(net), st_(std::move(st)) {}
  ~FakeConnection() override { st_->handle_alive = false; }
  void start(nsq::seam::ConnectionHandler* handler) override {
    if (++st_->starts != 1) net_.problems.push_back("Connection::start called twice");
    st_->handler = handler;
  }
  void write(std::string&& bytes) override {
    if (st_->server_closed) {
      net_.problems.push_back("write() after close() on connection " + std::to_string(st_->index));
      return;
    }
    if (st_->peer_closed) return;  // nobody is listening any more
    net_.pending.push_back({net_.clock.now_ns(), st_->index, std::move(bytes)});
    if (!st_->drain_posted) {
      st_->drain_posted = true;
      std::shared_ptr<ConnState> st = st_;
      net_.clock.post([st] {
        st->drain_posted = false;
        if (st->handle_alive && !st->server_closed && !st->peer_closed && st->handler) st->handler->on_drained();
      });
    }
  }
  std::size_t pending_bytes() const override { return 0; }
  void set_reading(bool) override {}
  void close() override { st_->server_closed = true; }
  const std::string& remote_address() const override { return st_->addr; }

 private:
  FakeNet& net_;
  std::shared_ptr<ConnState> st_;
};

// ---- actions -------------------------------------------------------------------------------------------------

enum Kind {
  kConnect, kRdy, kPub, kMpub, kDpub, kHttpPub, kFin, kReq, kTouch, kDisconnect, kCls, kAdvance,
  kPauseChannel, kPauseTopic, kEmptyChannel
};

struct Action {
  Kind kind = kAdvance;
  int a = 0, b = 0, c = 0;
  std::string body;
  std::vector<std::string> bodies;
};

void showValue(const Action& x, std::ostream& os) {
  static const char* names[] = {"Connect", "Rdy",  "Pub",        "Mpub", "Dpub", "HttpPub",
                                "Fin",     "Req",  "Touch",      "Disconnect", "Cls",  "Advance",
                                "PauseChannel", "PauseTopic", "EmptyChannel"};
  os << names[x.kind] << "(" << x.a << "," << x.b << "," << x.c;
  if (!x.body.empty()) os << "," << propu::printable(x.body, 16);
  if (!x.bodies.empty()) os << ",#" << x.bodies.size();
  os << ")";
}

struct Scenario {
  std::vector<Action> actions;
  std::int64_t mem_queue_size = 10000;
  std::uint64_t seed = 0;
};

void showValue(const Scenario& s, std::ostream& os) {
  os << "mem_queue_size=" << s.mem_queue_size << " seed=" << s.seed << " actions=[";
  for (const auto& a : s.actions) {
    showValue(a, os);
    os << " ";
  }
  os << "]";
}

rc::Gen<Action> gen_action() {
  using rc::gen::inRange;
  using rc::gen::just;
  using rc::gen::map;
  using rc::gen::tuple;
  auto body = rc::gen::resize(12, rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
  auto mk = [](Kind k) {
    return [k](const std::tuple<int, int, int>& t) {
      Action x;
      x.kind = k;
      x.a = std::get<0>(t);
      x.b = std::get<1>(t);
      x.c = std::get<2>(t);
      return x;
    };
  };
  auto ints = [](int a_hi, int b_hi, int c_hi) {
    return tuple(inRange(0, a_hi), inRange(0, b_hi), inRange(0, c_hi));
  };
  return rc::gen::weightedOneOf<Action>({
      {3, map(ints(2, 6, 3), mk(kConnect))},
      {2, map(ints(8, 6, 1), mk(kRdy))},
      {4, map(body, [](std::string s) { Action x; x.kind = kPub; x.body = std::move(s); return x; })},
      {2, map(rc::gen::resize(4, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(body))),
              [](std::vector<std::string> v) { Action x; x.kind = kMpub; x.bodies = std::move(v); return x; })},
      {2, map(tuple(body, inRange(0, 1500)),
              [](const std::tuple<std::string, int>& t) {
                Action x;
                x.kind = kDpub;
                x.body = std::get<0>(t);
                x.b = std::get<1>(t);
                return x;
              })},
      {1, map(tuple(rc::gen::resize(3, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(body))),
                    rc::gen::weightedOneOf<int>({{1, just(0)}, {1, inRange(1, 1500)}})),
              [](const std::tuple<std::vector<std::string>, int>& t) {
                Action x;
                x.kind = kHttpPub;
                x.bodies = std::get<0>(t);
                x.b = std::get<1>(t);
                return x;
              })},
      {5, map(ints(8, 64, 1), mk(kFin))},
      {3, map(tuple(inRange(0, 8), inRange(0, 64), rc::gen::weightedOneOf<int>({{1, just(0)}, {1, inRange(1, 1000)}})),
              mk(kReq))},
      {2, map(ints(8, 64, 1), mk(kTouch))},
      {1, map(ints(8, 1, 1), mk(kDisconnect))},
      {1, map(ints(8, 1, 1), mk(kCls))},
      {5, map(tuple(just(0), inRange(1, 1500), just(0)), mk(kAdvance))},
      {1, map(ints(2, 2, 1), mk(kPauseChannel))},  // a: channel, b: 1 pause / 0 unpause
      {1, map(ints(1, 2, 1), mk(kPauseTopic))},
      {1, map(ints(2, 1, 1), mk(kEmptyChannel))},
  });
}

rc::Gen<Scenario> gen_scenario() {
  return rc::gen::map(rc::gen::tuple(rc::gen::scale(2.0, rc::gen::container<std::vector<Action>>(gen_action())),
                                     rc::gen::element<std::int64_t>(10000, 2, 0),
                                     rc::gen::arbitrary<std::uint64_t>()),
                      [](const std::tuple<std::vector<Action>, std::int64_t, std::uint64_t>& t) {
                        return Scenario{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
                      });
}

// ---- the model -----------------------------------------------------------------------------------------------

constexpr std::int64_t kMsgTimeout = 500 * kMillisecond;
constexpr std::int64_t kMaxMsgTimeout = 2500 * kMillisecond;
// Per-consumer msg_timeout choices (IDENTIFY msg_timeout in ms; 0 = the server default kMsgTimeout).
constexpr int kIdentifyMsgTimeouts[] = {0, 1000, 2000};
constexpr std::int64_t kScanInterval = 100 * kMillisecond;
constexpr std::int64_t kWallBase = std::int64_t{1700000000} * kSecond;
const char* const kTopic = "t";
const char* const kChannels[] = {"c0", "c1"};
constexpr int kMaxLiveConsumers = 4;

struct Consumer {
  int conn = -1;
  int channel = 0;
  std::int64_t rdy = 0;
  bool closing = false;  // sent CLS
  bool live = true;      // not disconnected
  std::map<std::string, std::string> held;  // message id -> body: received, not FIN/REQ'd by this consumer
  std::vector<std::string> errors;          // non-fatal error frames not yet matched to a command
  int close_waits = 0;
  std::int64_t msg_timeout = kMsgTimeout;
};

// One message on one channel, as far as the test can know.
struct MsgState {
  int deliveries = 0;
  bool finished = false;
  int fin_ok = 0;
  std::int64_t not_before = 0;   // earliest legal next delivery (DPUB / REQ delay / publication)
  bool in_flight = false;        // last seen delivered and not FIN/REQ'd/known timed out
  bool dropped = false;          // the channel was emptied while this message was in it
  int owner = -1;                // consumer index of the last delivery
  std::int64_t delivery_ts = 0;  // of the last delivery
  std::int64_t expiry = 0;       // server-side in-flight deadline of the last delivery (TOUCH extends it)
};

struct Published {
  std::int64_t wall = 0;
  std::int64_t not_before = 0;
  std::string id;  // learnt from the first delivery
};

class World {
 public:
  explicit World(const Scenario& sc)
      : clock_(kWallBase), random_(sc.seed), chunker_(sc.seed ^ 0x5EED), net_{clock_, {}, {}} {
    nsq::Options o;
    o.node_id = 7;
    o.msg_timeout = kMsgTimeout;
    o.max_msg_timeout = kMaxMsgTimeout;
    o.queue_scan_interval = kScanInterval;
    o.mem_queue_size = sc.mem_queue_size;
    // Heartbeats every 2 s and a 4 s read deadline: every connection must answer heartbeats (with NOP) or be
    // dropped, so the heartbeat and read-deadline timers are exercised too.
    o.client_timeout = 4 * kSecond;
    nsq::Seams seams{clock_, random_, logger_, nullptr};
    seams.http_client = &http_;
    nsqd_ = std::make_unique<nsq::NSQD>(o, seams);
    producer_ = open_conn();
    send(producer_, "  V2");
  }
  ~World() {
    nsqd_.reset();  // before the seams it uses
  }

  struct Counts {
    int deliveries = 0, redeliveries = 0, ack_failed = 0, fins = 0, reqs = 0, touches = 0, heartbeats = 0;
  };
  const Counts& counts() const { return counts_; }

  void run(const std::vector<Action>& actions) {
    for (const Action& a : actions) {
      std::ostringstream os;
      showValue(a, os);
      trace("@" + std::to_string(clock_.now_ns() / kMillisecond) + "ms " + os.str());
      step(a);
      settle();
    }
    drain();
  }

 private:
  // ---- plumbing ----
  void fail(const std::string& what) {
    std::string t;
    const std::size_t from = trace_.size() > 80 ? trace_.size() - 80 : 0;
    for (std::size_t i = from; i < trace_.size(); ++i) t += "  " + trace_[i] + "\n";
    RC_FAIL(what + "\n  (at " + std::to_string(clock_.now_ns() / kMillisecond) + " ms)\n  trace (last lines):\n" + t);
  }
  void expect(bool ok, const std::string& what) {
    if (!ok) fail(what);
  }
  void trace(std::string line) { trace_.push_back(std::move(line)); }

  int open_conn() {
    auto st = std::make_shared<ConnState>();
    st->index = static_cast<int>(conns_.size());
    st->addr = "127.0.0.1:" + std::to_string(40000 + st->index);
    conns_.push_back(st);
    nsqd_->accept(std::make_unique<FakeConnection>(net_, st));
    clock_.run_ready();
    expect(st->handler != nullptr, "accept() did not start the connection");
    return st->index;
  }

  bool usable(int conn) const {
    const auto& st = *conns_[conn];
    return st.handle_alive && !st.server_closed && !st.peer_closed && st.handler != nullptr;
  }

  // Client->server bytes, delivered in random pieces (the magic and commands split anywhere).
  void send(int conn, const std::string& bytes) {
    expect(usable(conn), "test bug: sending on an unusable connection " + std::to_string(conn));
    std::size_t at = 0;
    while (at < bytes.size()) {
      std::size_t n = bytes.size() - at;
      if (chunker_.uniform(4) == 0) n = 1 + static_cast<std::size_t>(chunker_.uniform(n));
      expect(usable(conn), "connection " + std::to_string(conn) + " closed in the middle of a command");
      conns_[conn]->handler->on_read(reinterpret_cast<const std::uint8_t*>(bytes.data()) + at, n);
      at += n;
    }
    clock_.run_ready();
  }

  static std::string sized(const std::string& line, const std::string& body) {
    std::string out = line + "\n";
    nsq::wire::append_u32(out, static_cast<std::uint32_t>(body.size()));
    return out + body;
  }

  // Parsed server->client frames, in global write order.
  struct Frame {
    std::int64_t t;
    int conn;
    std::int32_t type;
    std::string data;
  };

  std::vector<Frame> collect() {
    std::vector<Frame> frames;
    std::vector<Write> writes;
    writes.swap(net_.pending);
    for (auto& w : writes) {
      auto& st = *conns_[w.conn];
      st.in += w.bytes;
      while (st.in.size() >= 8) {
        const std::uint32_t size = nsq::wire::read_u32(st.in.data());
        expect(size >= 4 && size < (1u << 24), "bad frame size " + std::to_string(size));
        if (st.in.size() < 4 + static_cast<std::size_t>(size)) break;
        Frame f;
        f.t = w.t;
        f.conn = w.conn;
        f.type = static_cast<std::int32_t>(nsq::wire::read_u32(st.in.data() + 4));
        f.data = st.in.substr(8, size - 4);
        st.in.erase(0, 4 + size);
        frames.push_back(std::move(f));
      }
    }
    return frames;
  }

  Consumer* consumer_of(int conn) {
    auto it = consumer_by_conn_.find(conn);
    return it == consumer_by_conn_.end() ? nullptr : &consumers_[it->second];
  }

  void apply(const std::vector<Frame>& frames) {
    for (const Frame& f : frames) {
      if (f.type == 0) {
        if (f.data == "_heartbeat_") {
          needs_nop_.insert(f.conn);
          ++counts_.heartbeats;
        } else if (f.data == "CLOSE_WAIT") {
          if (Consumer* c = consumer_of(f.conn)) ++c->close_waits;
        } else if (f.data != "OK") {
          fail("unexpected response on conn " + std::to_string(f.conn) + ": " + propu::printable(f.data));
        }
      } else if (f.type == 1) {
        Consumer* c = consumer_of(f.conn);
        const bool nonfatal = f.data.starts_with("E_FIN_FAILED ") || f.data.starts_with("E_REQ_FAILED ") ||
                              f.data.starts_with("E_TOUCH_FAILED ");
        expect(c != nullptr && nonfatal,
               "unexpected error frame on conn " + std::to_string(f.conn) + ": " + propu::printable(f.data));
        c->errors.push_back(f.data);
      } else if (f.type == 2) {
        on_message(f);
      } else {
        fail("unknown frame type " + std::to_string(f.type));
      }
    }
  }

  // Everything the last command or timers produced; answers heartbeats; checks nobody was dropped.
  void settle() {
    for (int round = 0; round < 10; ++round) {
      apply(collect());
      if (needs_nop_.empty()) break;
      std::set<int> nops;
      nops.swap(needs_nop_);
      for (int conn : nops) {
        if (usable(conn)) send(conn, "NOP\n");
      }
    }
    expect(net_.problems.empty(), net_.problems.empty() ? "" : net_.problems.front());
    for (const auto& st : conns_) {
      if (!st->peer_closed) expect(!st->server_closed, "server closed connection " + std::to_string(st->index));
    }
    for (const auto& c : consumers_) {
      if (c.live) expect(c.errors.empty(), "unmatched error frame: " + (c.errors.empty() ? "" : c.errors.front()));
    }
  }

  // ---- message delivery checks ----
  void on_message(const Frame& f) {
    Consumer* c = consumer_of(f.conn);
    expect(c != nullptr, "message frame on the producer connection");
    expect(c->live, "message to a disconnected consumer");
    expect(f.data.size() >= nsq::kMessageHeaderSize, "short message frame");
    const auto ts = static_cast<std::int64_t>(nsq::wire::read_u64(f.data.data()));
    const std::uint16_t attempts = nsq::wire::read_u16(f.data.data() + 8);
    const std::string id = f.data.substr(10, 16);
    const std::string body = f.data.substr(nsq::kMessageHeaderSize);
    const int ci = consumer_by_conn_[f.conn];
    const std::string where = " (consumer " + std::to_string(ci) + " on " + kChannels[c->channel] + ", body " +
                              propu::printable(body, 24) + ", id " + id + ")";
    trace("  @" + std::to_string(f.t / kMillisecond) + "ms deliver attempts=" + std::to_string(attempts) + where);

    auto pub = published_.find(body);
    expect(pub != published_.end(), "delivered a body never published" + where);
    expect(ts == pub->second.wall, "timestamp " + std::to_string(ts) + " != publish time " +
                                       std::to_string(pub->second.wall) + where);
    if (pub->second.id.empty()) {
      expect(!ids_.count(id), "two messages share ID " + id + where);
      pub->second.id = id;
      ids_.insert(id);
    } else {
      expect(pub->second.id == id, "copies of one message have different IDs" + where);
    }

    auto ms_it = msgs_[c->channel].find(body);
    expect(ms_it != msgs_[c->channel].end(), "message delivered on a channel that should not have it" + where);
    MsgState& ms = ms_it->second;
    expect(!ms.finished, "delivered again after a successful FIN" + where);
    expect(!ms.dropped, "delivered after the channel was emptied" + where);
    expect(!paused_channels_.count(c->channel), "delivered on a paused channel" + where);
    expect(attempts == ms.deliveries + 1, "attempts " + std::to_string(attempts) + " but this is delivery #" +
                                              std::to_string(ms.deliveries + 1) + where);
    expect(f.t >= ms.not_before, "delivered " + std::to_string((ms.not_before - f.t) / kMillisecond) +
                                     " ms before its due time" + where);
    if (ms.in_flight) {
      expect(f.t >= ms.expiry, "redelivered while still in flight (expiry " +
                                   std::to_string(ms.expiry / kMillisecond) + " ms)" + where);
      // The old delivery is dead; its owner may still hold it (stale).
      if (ms.owner >= 0) consumers_[ms.owner].held.erase(id);
    }

    // RDY: messages certainly in flight for this consumer (expiry still ahead) must be fewer than RDY.
    expect(!c->closing, "delivery after CLS" + where);
    std::int64_t live_held = 0;
    for (const auto& [hid, hbody] : c->held) {
      const MsgState& h = msgs_[c->channel].at(hbody);
      if (h.in_flight && h.owner == ci && h.expiry > f.t) ++live_held;
    }
    expect(live_held < c->rdy, "consumer has " + std::to_string(live_held) + " unacknowledged in-flight messages and RDY " +
                                   std::to_string(c->rdy) + ", yet got another" + where);

    ++counts_.deliveries;
    if (ms.deliveries > 0) ++counts_.redeliveries;
    ++ms.deliveries;
    ms.in_flight = true;
    ms.owner = ci;
    ms.delivery_ts = f.t;
    ms.expiry = f.t + c->msg_timeout;
    c->held[id] = body;
  }

  // ---- publishing ----
  std::string fresh_body(const std::string& payload) {
    return "m" + std::to_string(next_body_++) + "|" + payload;
  }

  void record_publish(const std::string& body, std::int64_t delay_ns) {
    Published p;
    p.wall = clock_.wall_ns();
    p.not_before = clock_.now_ns() + delay_ns;
    published_[body] = p;
    if (channels_.empty() || topic_paused_) {
      backlog_.push_back(body);
    } else {
      for (int ch : channels_) add_expected(ch, body);
    }
  }

  // The topic hands its queue to every channel existing now (if it has channels and is not paused).
  void topic_drain() {
    if (channels_.empty() || topic_paused_) return;
    for (const auto& body : backlog_) {
      for (int ch : channels_) add_expected(ch, body);
    }
    backlog_.clear();
  }

  void add_expected(int ch, const std::string& body) {
    MsgState ms;
    ms.not_before = published_.at(body).not_before;
    msgs_[ch].emplace(body, ms);
  }

  void channel_created(int ch) {
    if (channels_.count(ch)) return;
    channels_.insert(ch);
    topic_drain();  // the first channel takes the topic's backlog (unless the topic is paused)
  }

  // ---- consumers ----
  std::vector<int> live_consumers(bool with_held) const {
    std::vector<int> v;
    for (std::size_t i = 0; i < consumers_.size(); ++i) {
      if (consumers_[i].live && (!with_held || !consumers_[i].held.empty())) v.push_back(static_cast<int>(i));
    }
    return v;
  }

  void connect(int ch, std::int64_t rdy, int timeout_choice) {
    Consumer c;
    c.conn = open_conn();
    c.channel = ch;
    c.rdy = rdy;
    const int identify_timeout = kIdentifyMsgTimeouts[timeout_choice];
    if (identify_timeout > 0) c.msg_timeout = identify_timeout * kMillisecond;
    consumers_.push_back(c);
    const int ci = static_cast<int>(consumers_.size()) - 1;
    consumer_by_conn_[c.conn] = ci;
    trace("  consumer " + std::to_string(ci) + " = conn " + std::to_string(c.conn));
    channel_created(ch);
    const std::string identify = R"({"output_buffer_size":-1,"msg_timeout":)" + std::to_string(identify_timeout) + "}";
    send(c.conn, "  V2" + sized("IDENTIFY", identify) + "SUB " + kTopic + " " +
                     kChannels[ch] + "\nRDY " + std::to_string(rdy) + "\n");
  }

  void set_rdy(int ci, std::int64_t n) {
    Consumer& c = consumers_[ci];
    if (!c.closing) c.rdy = n;  // nsqd ignores RDY after CLS
    send(c.conn, "RDY " + std::to_string(n) + "\n");
  }

  enum class Ack { fin, req, touch };

  // FIN / REQ / TOUCH of a message the consumer holds; checks the outcome against the model.
  void ack(int ci, const std::string& id, Ack kind, std::int64_t req_delay_ns) {
    Consumer& c = consumers_[ci];
    const std::string body = c.held.at(id);
    MsgState& ms = msgs_[c.channel].at(body);
    const std::int64_t now = clock_.now_ns();
    const char* word = kind == Ack::fin ? "FIN" : kind == Ack::req ? "REQ" : "TOUCH";
    std::string line = std::string(word) + " " + id;
    if (kind == Ack::req) line += " " + std::to_string(req_delay_ns / kMillisecond);
    send(c.conn, line + "\n");
    std::vector<Frame> frames = collect();
    // The outcome: an error frame for this command (written synchronously) or nothing.
    bool ok = true;
    for (auto it = frames.begin(); it != frames.end(); ++it) {
      if (it->conn == c.conn && it->type == 1 && it->data.starts_with(std::string("E_") + word + "_FAILED " + word + " " + id)) {
        ok = false;
        frames.erase(it);
        break;
      }
    }
    const bool owned = ms.in_flight && ms.owner == ci;
    const std::string where = " (" + line + " by consumer " + std::to_string(ci) + " on " + kChannels[c.channel] +
                              ", expiry " + std::to_string(ms.expiry / kMillisecond) + " ms)";
    trace(std::string("  ") + (ok ? "ok" : "failed") + where);
    if (owned && now < ms.expiry) expect(ok, std::string(word) + " of an owned, unexpired message failed" + where);
    if (!owned) expect(!ok, std::string(word) + " succeeded on a message the consumer does not own" + where);
    if (owned && now >= ms.expiry + kScanInterval) {
      expect(!ok, std::string(word) + " succeeded a whole scan interval after the message's expiry" + where);
    }
    if (!ok) ++counts_.ack_failed;
    (kind == Ack::fin ? counts_.fins : kind == Ack::req ? counts_.reqs : counts_.touches) += ok ? 1 : 0;
    if (ok) {
      if (kind == Ack::fin) {
        ms.finished = true;
        ++ms.fin_ok;
        ms.in_flight = false;
        c.held.erase(id);
      } else if (kind == Ack::req) {
        ms.in_flight = false;
        ms.not_before = now + req_delay_ns;
        c.held.erase(id);
      } else {
        ms.expiry = std::min(now + c.msg_timeout, ms.delivery_ts + kMaxMsgTimeout);
      }
    } else {
      if (owned) ms.in_flight = false;  // it timed out (and is queued again)
      c.held.erase(id);
    }
    apply(frames);
  }

  // ---- actions ----
  void step(const Action& a) {
    switch (a.kind) {
      case kConnect:
        if (live_consumers(false).size() >= kMaxLiveConsumers) return;
        connect(a.a, a.b, a.c);
        return;
      case kRdy: {
        auto v = live_consumers(false);
        if (v.empty()) return;
        set_rdy(v[static_cast<std::size_t>(a.a) % v.size()], a.b);
        return;
      }
      case kPub: {
        const std::string body = fresh_body(a.body);
        record_publish(body, 0);
        send(producer_, sized(std::string("PUB ") + kTopic, body));
        return;
      }
      case kMpub: {
        std::string payload;
        nsq::wire::append_u32(payload, static_cast<std::uint32_t>(a.bodies.size()));
        for (const auto& b : a.bodies) {
          const std::string body = fresh_body(b);
          record_publish(body, 0);
          nsq::wire::append_u32(payload, static_cast<std::uint32_t>(body.size()));
          payload += body;
        }
        send(producer_, sized(std::string("MPUB ") + kTopic, payload));
        return;
      }
      case kDpub: {
        const std::string body = fresh_body(a.body);
        record_publish(body, a.b * kMillisecond);
        send(producer_, sized(std::string("DPUB ") + kTopic + " " + std::to_string(a.b), body));
        return;
      }
      case kHttpPub: {
        std::vector<std::string> bodies;
        for (const auto& b : a.bodies) {
          bodies.push_back(fresh_body(b));
          record_publish(bodies.back(), a.b * kMillisecond);
        }
        std::vector<std::string_view> views(bodies.begin(), bodies.end());
        const std::string err = nsqd_->publish(kTopic, views, a.b * kMillisecond);
        clock_.run_ready();
        expect(err.empty(), "publish() failed: " + err);
        return;
      }
      case kFin:
      case kReq:
      case kTouch: {
        auto v = live_consumers(true);
        if (v.empty()) return;
        const int ci = v[static_cast<std::size_t>(a.a) % v.size()];
        auto it = consumers_[ci].held.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(static_cast<std::size_t>(a.b) % consumers_[ci].held.size()));
        const std::string id = it->first;
        ack(ci, id, a.kind == kFin ? Ack::fin : a.kind == kReq ? Ack::req : Ack::touch, a.c * kMillisecond);
        return;
      }
      case kDisconnect: {
        auto v = live_consumers(false);
        if (v.empty()) return;
        Consumer& c = consumers_[v[static_cast<std::size_t>(a.a) % v.size()]];
        auto& st = *conns_[c.conn];
        apply(collect());
        st.peer_closed = true;
        c.live = false;
        c.held.clear();
        if (st.handle_alive && !st.server_closed) st.handler->on_closed("EOF");
        clock_.run_ready();
        return;
      }
      case kCls: {
        auto v = live_consumers(false);
        std::erase_if(v, [&](int i) { return consumers_[i].closing; });
        if (v.empty()) return;
        Consumer& c = consumers_[v[static_cast<std::size_t>(a.a) % v.size()]];
        c.closing = true;
        c.rdy = 0;
        send(c.conn, "CLS\n");
        return;
      }
      case kAdvance:
        clock_.run_until(clock_.now_ns() + a.b * kMillisecond);
        return;
      case kPauseChannel:
        if (!channels_.count(a.a)) return;
        set_channel_paused(a.a, a.b == 1);
        return;
      case kPauseTopic:
        set_topic_paused(a.b == 1);
        return;
      case kEmptyChannel: {
        if (!channels_.count(a.a)) return;
        nsqd_->find_topic(kTopic)->find_channel(kChannels[a.a])->empty();
        clock_.run_ready();
        for (auto& [body, ms] : msgs_[a.a]) {
          if (ms.finished) continue;
          ms.dropped = true;
          ms.in_flight = false;
        }
        for (auto& c : consumers_) {
          if (c.channel == a.a) c.held.clear();
        }
        return;
      }
    }
  }

  // As the HTTP API's /channel/pause, /channel/unpause, /topic/pause, /topic/unpause do.
  void set_channel_paused(int ch, bool paused) {
    nsq::Channel* c = nsqd_->find_topic(kTopic)->find_channel(kChannels[ch]);
    if (paused) {
      paused_channels_.insert(ch);
      c->pause();
    } else {
      paused_channels_.erase(ch);
      c->unpause();
    }
    clock_.run_ready();
  }
  void set_topic_paused(bool paused) {
    nsq::Topic& t = nsqd_->get_topic(kTopic);
    topic_paused_ = paused;
    if (paused) {
      t.pause();
    } else {
      topic_drain();
      t.unpause();
    }
    clock_.run_ready();
  }

  void drain() {
    trace("@" + std::to_string(clock_.now_ns() / kMillisecond) + "ms drain");
    if (topic_paused_) set_topic_paused(false);
    for (int ch : std::set<int>(paused_channels_)) set_channel_paused(ch, false);
    if (channels_.empty() && !backlog_.empty()) connect(0, 0, 0);
    settle();
    for (int ch : std::set<int>(channels_)) {
      bool has = false;
      for (const auto& c : consumers_) has = has || (c.live && !c.closing && c.channel == ch);
      if (!has) {
        connect(ch, 0, 0);
        settle();
      }
    }
    for (int ci : live_consumers(false)) {
      if (!consumers_[ci].closing) {
        set_rdy(ci, 100);
        settle();
      }
    }
    auto all_done = [&] {
      for (const auto& [ch, m] : msgs_) {
        for (const auto& [body, ms] : m) {
          if (!ms.finished) return false;
        }
      }
      return true;
    };
    for (int round = 0; round < 3000 && !all_done(); ++round) {
      for (;;) {
        auto v = live_consumers(true);
        if (v.empty()) break;
        const int ci = v.front();
        ack(ci, consumers_[ci].held.begin()->first, Ack::fin, 0);
        settle();
      }
      if (all_done()) break;
      clock_.run_until(clock_.now_ns() + kScanInterval);
      settle();
    }
    // Past every deadline: nothing may come back.
    for (int i = 0; i < 50; ++i) {
      clock_.run_until(clock_.now_ns() + kScanInterval);
      settle();
    }
    for (const auto& [ch, m] : msgs_) {
      for (const auto& [body, ms] : m) {
        expect(ms.fin_ok == (ms.dropped ? 0 : 1), "message " + propu::printable(body, 24) + " on " + kChannels[ch] + " FINished " +
                                   std::to_string(ms.fin_ok) + " times after the drain (delivered " +
                                   std::to_string(ms.deliveries) + " times)");
      }
    }
    expect(backlog_.empty(), "test bug: backlog left");
    // The engine agrees: nothing queued, in flight or deferred anywhere, one channel copy per message.
    for (const nsq::TopicStats& t : nsqd_->stats()) {
      expect(t.depth == 0, "topic depth " + std::to_string(t.depth) + " after the drain");
      for (const nsq::ChannelStats& c : t.channels) {
        const int ch = c.channel_name == kChannels[0] ? 0 : 1;
        const std::string name = " on channel " + c.channel_name;
        expect(c.depth == 0, "depth " + std::to_string(c.depth) + name);
        expect(c.in_flight_count == 0, "in_flight " + std::to_string(c.in_flight_count) + name);
        expect(c.deferred_count == 0, "deferred " + std::to_string(c.deferred_count) + name);
        expect(c.message_count == msgs_[ch].size(), "message_count " + std::to_string(c.message_count) +
                                                        " but the model expects " + std::to_string(msgs_[ch].size()) +
                                                        name);
        for (const nsq::ClientStats& cl : c.clients) {
          expect(cl.in_flight_count == 0, "client " + cl.remote_address + " in_flight_count " +
                                              std::to_string(cl.in_flight_count) + name);
        }
      }
    }
  }

  FakeClock clock_;
  SplitMix random_;
  SplitMix chunker_;
  QuietLogger logger_;
  FakeNet net_;
  nsq::io_sim::SimHttpClient http_{clock_};  // no lookupd or auth configured: never asked
  std::vector<std::shared_ptr<ConnState>> conns_;
  std::unique_ptr<nsq::NSQD> nsqd_;
  int producer_ = -1;

  std::vector<Consumer> consumers_;
  std::map<int, int> consumer_by_conn_;
  std::set<int> needs_nop_;
  std::set<int> channels_;
  std::set<int> paused_channels_;
  bool topic_paused_ = false;
  std::vector<std::string> backlog_;
  std::map<std::string, Published> published_;
  std::set<std::string> ids_;
  std::map<int, std::map<std::string, MsgState>> msgs_;  // channel -> body -> state
  std::uint64_t next_body_ = 0;
  std::vector<std::string> trace_;
  Counts counts_;
};

}  // namespace

RC_GTEST_PROP(EngineModel, DeliveryInvariantsAndDrain, ()) {
  const Scenario sc = *gen_scenario();
  World w(sc);
  w.run(sc.actions);
  const auto& n = w.counts();
  // Coverage summary printed by RapidCheck: cases with redeliveries (timeouts or REQ) and cases where a FIN/REQ/
  // TOUCH raced a timeout.
  RC_CLASSIFY(n.deliveries == 0, "no deliveries");
  RC_CLASSIFY(n.redeliveries > 0 && n.ack_failed > 0, "redeliveries and late acks");
}
