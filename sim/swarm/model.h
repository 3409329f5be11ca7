// The reference model: what nsqd must hold, kept by the simulator from what it can see exactly.
//
// It watches the engine's side of every connection (io_sim::ServerTap): the commands nsqd processed, at the
// virtual instant it processed them, and every frame nsqd wrote, at the instant it wrote it. HTTP publishes and
// admin actions are reported by the driver right before it calls the engine. Events are buffered during one
// engine step (one timer) and applied after it, in order, so the outcome of a FIN/REQ/TOUCH (an E_*_FAILED frame
// in the same step, or none) is known when it is applied.
//
// From that the model knows, per channel instance (a channel deleted and re-created is a new instance), every
// message copy's state: queued, deferred (with its exact due time), in flight (to which connection, written
// when), finished or dropped (empty, delete, ephemeral removal). nsqd's fan-out rule is mirrored: a publish goes
// to every channel of its topic at the moment the topic hands it over (immediately, or when a paused or
// channel-less topic later drains).
//
// The only inexact thing is timing inside nsqd that is invisible on the wire: a message goes in flight when
// nsqd buffers it, up to one output-buffer timeout before it is written, and a timeout fires on a scan tick
// after the deadline. Checkers use the resulting bounds (earliest_expiry, rdy_max) and never guess.
//
// Checkers (sim/checkers/) observe the model through the hooks below; the model itself judges nothing.
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io_sim/sim_network.h"
#include "sim/swarm/wire_tap.h"
#include "sim/wire.h"

namespace nsq {
class NSQD;
}

namespace nsq::sim::swarm {

inline constexpr std::uint32_t kNone = 0xffffffffu;

// limbo: after a crash (or a failed publish) nsqd may or may not still hold this copy; what the durability mode
// documents as a possible loss (README "Persistence and what a crash can lose"). A limbo copy that shows up
// again is in flight like any other; one that never does is an accepted loss.
enum class CopyState : std::uint8_t { queued, deferred, in_flight, finished, dropped, limbo };
const char* state_name(CopyState s);

struct Msg {
  std::uint32_t topic = kNone;  // topic instance
  std::string body;
  std::string id;               // learnt from its first delivery
  std::int64_t timestamp = 0;
  std::int64_t processed_at = 0;
  std::int64_t defer_ns = 0;
  bool acked = false;    // nsqd answered OK to its publish (TCP response or HTTP 200)
  bool failed = false;   // nsqd answered an error: not acknowledged; it may or may not exist
  bool crashed = false;  // it existed (published) when nsqd crashed: it may come back on any channel
  bool answered = false;
};

struct Copy {
  std::uint32_t msg = kNone;
  std::uint32_t chan = kNone;  // channel instance
  CopyState state = CopyState::queued;
  std::uint16_t attempts = 0;  // of its latest delivery
  std::uint16_t max_attempts = 0;  // the highest any delivery of it carried (see the attempts checker's crash_ok)
  std::uint64_t holder = 0;    // connection while in flight
  std::int64_t not_before = 0; // while deferred: due time
  std::int64_t last_write = 0;
  std::int64_t earliest_expiry = 0;  // while in flight: nsqd cannot have timed it out before this
  std::int64_t final_at = 0;   // finished or dropped at
  // nsqd accepted a FIN/REQ/TOUCH from a connection whose delivery of this copy is still in nsqd's output
  // buffer (IDs stay the same across redeliveries, so a late FIN from an earlier delivery finishes the new one):
  // that delivery's frame will still be written, within one output-buffer timeout, with ghost_attempts.
  // ghost_optional: the connection resolved a delivery it may still have held from before (then no frame comes).
  std::uint64_t ghost_conn = 0;
  std::uint16_t ghost_attempts = 0;
  bool ghost_optional = false;
  // A FIN/REQ/TOUCH was accepted from a connection whose delivery may have timed out (and been redelivered to
  // it unseen): the wire cannot tell which delivery it resolved. From then on this copy's attempts may be one
  // ahead, one timeout may be counted differently, and the next frame to that connection within its
  // output-buffer timeout may predate the REQ. Checkers widen exactly these bounds, nothing else.
  bool ambiguous = false;
  std::uint64_t ambiguous_conn = 0;
  std::int64_t ambiguous_until = 0;
  // Persistence: restarted = an nsqd restart happened since its last delivery (attempts may be one more than
  // the model saw: a delivery buffered but never written before the shutdown was persisted with its count);
  // crashed = it existed at a crash: the disk may hand back an older record (attempts anywhere from 1), and it
  // may be delivered again after a FIN (at least once).
  bool restarted = false;
  bool crashed = false;
  std::int64_t deferred_at = 0;       // when its current deferral was set
  std::int64_t wall_jumps_at_defer = 0;  // Model::wall_jumps() then (a restart re-derives deadlines from wall time)
  int deliveries = 0;
  int fins_ok = 0;
  int reqs_ok = 0;
  int timeouts = 0;  // inferred: redelivered without a REQ
};

struct ChannelInst {
  std::string topic_name, name;
  std::uint32_t topic = kNone;
  bool ephemeral = false;
  bool live = true;
  bool admin_deleted = false;
  std::int64_t created_at = 0, deleted_at = 0;
  std::uint64_t assigned = 0;  // copies handed over: nsqd's channel message_count
  std::uint64_t reqs_ok = 0;   // nsqd's requeue_count
  std::uint64_t alive = 0;     // queued + deferred + in flight
  std::uint64_t deferred = 0;  // model state deferred (some may already be due)
  std::uint64_t timeouts_inferred = 0;
  std::uint64_t timeout_slack = 0;  // in flight and possibly expired when dropped
  std::uint64_t ambiguous = 0;      // copies marked Copy::ambiguous
  std::map<std::uint32_t, std::uint32_t> copies;  // msg -> copy
  std::vector<std::uint32_t> copy_list;           // the same copies, as a vector for scans (checkers)
  // After a crash or a failed publish nsqd's counters for this channel can hold what the model cannot see
  // (replays, limbo copies): exact comparisons become bounds.
  bool inexact = false;
  bool crash_lost = false;  // vanished in a crash (its creation was not yet in nsqd.dat): may come back
  bool lossy = false;       // see Limits::ephemeral_lossy
  // It lived through a crash: its disk queue's stored depth may be off (even negative, as go-diskqueue's)
  // until reads reach the tail, so what nsqd says it holds is no bound at all.
  bool crashed = false;
};

struct TopicInst {
  std::string name;
  bool ephemeral = false;
  bool live = true;
  bool paused = false;
  std::uint64_t published = 0;            // nsqd's topic message_count
  std::deque<std::uint32_t> pending;      // msgs the topic holds (no channel, or paused)
  std::map<std::string, std::uint32_t> channels;  // live channel instances by name
  std::map<std::string, std::uint32_t> by_id;     // message ID -> msg
  bool inexact = false;     // see ChannelInst::inexact
  // Publishes not answered yet: a failure is answered late (in --durable mode behind the OKs still waiting for
  // their fsync), so until then nsqd may hold up to this many fewer than the model.
  std::uint64_t unanswered = 0;
  bool crash_lost = false;
  std::vector<std::uint32_t> limbo_pending;  // msgs the topic may still hold after a crash
};

struct Conn {
  std::uint64_t id = 0;
  std::string label;  // "c7#2": client 7's second connection (also its IDENTIFY client_id)
  std::int64_t obt_ns = 0;          // output buffer timeout it asked for
  std::int64_t msg_timeout_ns = 0;  // msg_timeout it asked for
  std::uint32_t chan = kNone;       // channel instance once SUB was processed
  bool closing = false;             // CLS processed
  std::vector<std::pair<std::int64_t, std::int64_t>> rdy;  // (processed at, count)
  std::set<std::uint32_t> held;     // copies in flight to it (model view)
  std::uint64_t fins_ok = 0, reqs_ok = 0, messages = 0;
  // Commands that nsqd answers (IDENTIFY, SUB, CLS, PUB, DPUB, MPUB), oldest first: the msgs a publish carried,
  // so the response or error frame that answers it tells whether it was acknowledged.
  std::deque<std::vector<std::uint32_t>> awaiting;
  // Message ID -> copy of the latest delivery of that ID to this connection. IDs are unique per topic only
  // while the wall clock does not step back across a restart (nsqd's too); a FIN names what it was sent.
  std::map<std::string, std::uint32_t> delivered;
  CommandStream in;
  wire::FrameParser out;
  bool input_corrupt = false;
};

class Model;

// One invariant each (sim/checkers/). Hooks run while the model applies a step; the copy is shown in its state
// before the event is applied.
class Checker {
 public:
  virtual ~Checker() = default;
  virtual const char* name() const = 0;
  virtual void on_delivery(const Model&, const Conn&, const Copy&, const wire::Message&) {}
  // cmd is "FIN", "REQ" or "TOUCH"; ok = nsqd accepted it.
  virtual void on_resolve(const Model&, const Conn&, const Copy&, std::string_view /*cmd*/, bool /*ok*/) {}
  virtual void after_step(const Model&, NSQD&) {}
  virtual void at_end(const Model&, NSQD&) {}
};

struct Violation {
  std::string checker;
  std::int64_t at = 0;
  std::string what;
};

class Model final : public io_sim::ServerTap {
 public:
  struct Limits {
    std::int64_t default_obt_ns = 0;
    std::int64_t default_msg_timeout_ns = 0;
    std::int64_t max_msg_timeout_ns = 0;
    std::int64_t max_req_timeout_ns = 0;
    std::int64_t scan_interval_ns = 0;
    // --mem-queue-size small enough that an #ephemeral channel or topic overflows: nsqd discards the overflow
    // (its backend is a black hole), so what such a channel holds is only bounded, never owed.
    bool ephemeral_lossy = false;
  };
  Model(const io_sim::VirtualClock& clock, Limits limits) : clock_(clock), limits_(limits) {}

  void add_checker(std::unique_ptr<Checker> c) { checkers_.push_back(std::move(c)); }
  // Print what the model applies (with --trace), as "model" lines on stderr; not part of the trace hash.
  void set_verbose(bool v) { verbose_ = v; }

  // --- from the driver
  void register_conn(std::uint64_t conn_id, std::string label, std::int64_t obt_ns, std::int64_t msg_timeout_ns);
  // A connection that is not a client's (nsqd's own, to nsqlookupd): not watched.
  void ignore_conn(std::uint64_t conn_id) { ignored_.insert(conn_id); }
  // Call right before the engine call, in the same step.
  void http_publish(const std::string& topic, std::vector<std::string> bodies, std::int64_t defer_ns);
  void admin(std::string action, const std::string& topic, const std::string& channel);
  // An HTTP publish was answered (ok = 200). Bodies identify the msgs.
  void http_answer(std::vector<std::string> bodies, bool ok);
  // The wall clock jumped (restarts re-derive deferral deadlines from wall time).
  void note_wall_jump(std::int64_t delta_ns) { wall_jumps_ += delta_ns < 0 ? -delta_ns : delta_ns; }
  std::int64_t wall_jumps() const { return wall_jumps_; }
  // Disk faults are on until t (a failed sync may leave a deferral's timing file unwritten).
  void note_disk_fault(std::int64_t until) { disk_fault_until_ = std::max(disk_fault_until_, until); }
  // nsqd is going down (clean: shutdown + close; crash: the engine is dropped). Applies what the engine did
  // so far and suspends the checks until restarted().
  void begin_restart();
  // The new NSQD has loaded its metadata. clean: nothing is lost (memory, in-flight, deferred persisted);
  // crash: default mode may lose anything not yet delivered again, durable mode only what was not
  // acknowledged. Either way every connection is gone.
  void restarted(bool clean, bool durable, NSQD& nsqd);
  bool suspended() const { return suspended_; }
  bool durable() const { return durable_; }
  void set_durable(bool d) { durable_ = d; }
  std::uint64_t restarts() const { return restarts_; }
  // Changes whenever the model's topics or channels (instances, liveness, names) may have changed.
  std::uint64_t topology_epoch() const { return topology_epoch_; }
  // After every engine step.
  void after_step(NSQD& nsqd);
  void at_end(NSQD& nsqd);

  // io_sim::ServerTap
  void server_read(std::uint64_t conn_id, std::string_view bytes) override;
  void server_write(std::uint64_t conn_id, std::string_view bytes) override;

  // --- for checkers
  std::int64_t now() const { return clock_.now_ns(); }
  const Limits& limits() const { return limits_; }
  const Msg& msg(std::uint32_t i) const { return msgs_[i]; }
  const Copy& copy(std::uint32_t i) const { return copies_[i]; }
  const ChannelInst& chan(std::uint32_t i) const { return chans_[i]; }
  const std::vector<Copy>& copies() const { return copies_; }
  const std::vector<ChannelInst>& channels() const { return chans_; }
  const std::vector<TopicInst>& topics() const { return topics_; }
  const std::map<std::uint64_t, Conn>& conns() const { return conns_; }
  const Conn* conn(std::uint64_t id) const;
  const Conn* conn_by_label(const std::string& label) const {
    auto it = by_label_.find(label);
    return it == by_label_.end() ? nullptr : conn(it->second);
  }
  // The live instance of a topic name, or null.
  const TopicInst* live_topic(const std::string& name) const {
    auto it = live_topics_.find(name);
    return it == live_topics_.end() ? nullptr : &topics_[it->second];
  }
  // Largest RDY nsqd may have applied at some instant in [from, to].
  std::int64_t rdy_max(const Conn& c, std::int64_t from, std::int64_t to) const;
  // How long before a frame was written nsqd may have put its message in flight: the connection's output-buffer
  // timeout, plus a process stall that ended within it (the flush timer then fired late).
  std::int64_t obt(const Conn& c) const {
    return c.obt_ns + (now() - stall_end_ <= c.obt_ns + 1'000'000 ? stall_ns_ : 0);
  }
  // The process stalled for delta, ending now (io_sim::VirtualClock::stall).
  void note_stall(std::int64_t delta_ns) {
    stall_end_ = now();
    stall_ns_ = delta_ns;
  }
  // Whether nsqd may have delivered this copy to c without the frame being written yet.
  bool may_hold_unwritten(const Copy& cp, const Conn& c) const;
  std::string describe(const Copy& c) const;

  void fail(const char* checker, std::string what) const;
  const std::vector<Violation>& violations() const { return violations_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t deliveries() const { return deliveries_; }
  std::uint64_t published() const { return msgs_.size(); }
  // Copies neither finished nor dropped.
  std::uint64_t unresolved() const;

 private:
  struct Event {
    enum Kind : std::uint8_t { read, write, http_pub, admin, http_answer } kind;
    std::uint64_t conn = 0;
    std::string data;                // bytes; or the action
    std::string topic, channel;      // http_pub, admin
    std::vector<std::string> bodies; // http_pub
    std::int64_t defer_ns = 0;
  };

  void apply(Event& e, const std::vector<Event>& step);
  void apply_step();  // applies and clears step_
  Conn& conn_at(std::uint64_t id);  // creating it
  Conn* find_conn(std::uint64_t id) { return const_cast<Conn*>(std::as_const(*this).conn(id)); }
  void apply_command(Conn& c, const Command& cmd, std::map<std::string, int>& succeed);
  void apply_frame(Conn& c, const wire::Frame& f);
  void answered(const std::vector<std::uint32_t>& msgs, bool ok);
  std::vector<std::uint32_t> publish(const std::string& topic, const std::vector<std::string>& bodies,
                                     std::int64_t defer_ns);
  void to_limbo(Copy& c);
  void lose_channel(std::uint32_t chan);
  std::uint32_t revive_topic(const std::string& name);
  std::uint32_t revive_channel(std::uint32_t topic, const std::string& name);
  std::uint32_t topic_inst(const std::string& name, bool create);
  std::uint32_t channel_inst(std::uint32_t topic, const std::string& name, bool create);
  // nsqd: whose topics' started() says whether they still hold their messages (default: the step's, if any).
  void drain_topic(std::uint32_t t, NSQD* nsqd = nullptr);
  void assign(std::uint32_t msg, std::uint32_t chan);
  void drop_channel(std::uint32_t chan, bool admin);
  void drop_copy(Copy& c);
  void set_state(Copy& c, CopyState s);
  void release_holder(Copy& c);
  void reconcile(NSQD& nsqd);
  std::uint32_t copy_by_id(const Conn& c, std::string_view id) const;

  const io_sim::VirtualClock& clock_;
  Limits limits_;
  std::vector<std::unique_ptr<Checker>> checkers_;
  std::vector<Msg> msgs_;
  std::vector<Copy> copies_;
  std::vector<ChannelInst> chans_;
  std::vector<TopicInst> topics_;
  std::map<std::string, std::uint32_t> live_topics_;
  std::map<std::string, std::map<std::string, std::uint32_t>> ids_by_topic_name_;  // topic -> ID -> msg
  std::map<std::string, std::uint32_t> msg_by_body_;
  std::map<std::uint64_t, Conn> conns_;
  // conns_ by id for ids below kIndexedConns (network ids count up from 1): the lookup of every event.
  static constexpr std::uint64_t kIndexedConns = 1 << 20;
  std::vector<Conn*> conn_index_;
  std::map<std::string, std::uint64_t> by_label_;
  std::vector<Event> step_;
  std::vector<Event> applying_;  // the step being applied (see apply_step)
  mutable std::vector<Violation> violations_;
  std::uint64_t events_ = 0;
  std::uint64_t deliveries_ = 0;
  bool topology_dirty_ = true;
  std::uint64_t topology_epoch_ = 0;
  void touch_topology() {
    topology_dirty_ = true;
    ++topology_epoch_;
  }
  NSQD* step_nsqd_ = nullptr;              // while a step's events are applied
  std::vector<std::uint32_t> held_topics_;  // topics with pending msgs nsqd has not started yet (drain_topic)
  const NSQD* seen_nsqd_ = nullptr;
  std::uint64_t seen_topology_ = 0;
  bool verbose_ = false;
  bool suspended_ = false;
  std::int64_t stall_end_ = -1'000'000'000'000;
  std::int64_t stall_ns_ = 0;
  std::set<std::uint64_t> ignored_;
  bool durable_ = false;
  std::int64_t disk_fault_until_ = -1;  // end of the latest disk fault window (syncs may have failed until then)
  bool after_crash_ = false;  // reconcile adopts nsqd's topology once after a crash
  bool in_restart_ = false;
  std::uint64_t restarts_ = 0;
  std::int64_t wall_jumps_ = 0;
  std::int64_t next_idle_check_ = 0;
  void say(const std::string& what) const;
};

}  // namespace nsq::sim::swarm
