#include "sim/swarm/model.h"

#include <algorithm>
#include <cstdio>

#include "engine/nsqd.h"
#include "engine/topic.h"
#include "io_sim/trace.h"

namespace nsq::sim::swarm {

namespace {
bool is_ephemeral(std::string_view name) { return name.ends_with("#ephemeral"); }

std::uint64_t parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') break;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return v;
}
}  // namespace

const char* state_name(CopyState s) {
  switch (s) {
    case CopyState::queued: return "queued";
    case CopyState::deferred: return "deferred";
    case CopyState::in_flight: return "in-flight";
    case CopyState::finished: return "finished";
    case CopyState::dropped: return "dropped";
    case CopyState::limbo: return "limbo";
  }
  return "?";
}

void Model::fail(const char* checker, std::string what) const {
  if (violations_.size() >= 100) return;
  violations_.push_back(Violation{checker, now(), std::move(what)});
}

void Model::say(const std::string& what) const {
  if (verbose_) std::fprintf(stderr, "%s model %s\n", io_sim::Trace::format_time(now()).c_str(), what.c_str());
}

const Conn* Model::conn(std::uint64_t id) const {
  if (id < kIndexedConns) return id < conn_index_.size() ? conn_index_[id] : nullptr;
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : &it->second;
}

Conn& Model::conn_at(std::uint64_t id) {
  if (id < conn_index_.size() && conn_index_[id] != nullptr) return *conn_index_[id];
  Conn& c = conns_[id];  // map nodes never move, and the model never forgets a connection
  if (id < kIndexedConns) {
    if (conn_index_.size() <= id) conn_index_.resize(id + 1, nullptr);
    conn_index_[id] = &c;
  }
  return c;
}

void Model::apply_step() {
  // applying_ keeps its capacity from step to step; apply() never adds to step_ (only the network taps do).
  applying_.swap(step_);
  events_ += applying_.size();
  for (Event& e : applying_) apply(e, applying_);
  applying_.clear();
}

std::uint64_t Model::unresolved() const {
  std::uint64_t n = 0;
  for (const auto& ch : chans_) n += ch.lossy ? 0 : ch.alive;
  return n;
}

std::string Model::describe(const Copy& c) const {
  const Msg& m = msgs_[c.msg];
  const ChannelInst& ch = chans_[c.chan];
  return m.body + " on " + ch.topic_name + "/" + ch.name + " (" + state_name(c.state) + ", attempts " +
         std::to_string(c.attempts) + ")";
}

bool Model::may_hold_unwritten(const Copy& cp, const Conn& c) const {
  if (c.chan != cp.chan) return false;
  switch (cp.state) {
    case CopyState::queued: return true;
    case CopyState::deferred: return cp.not_before <= now();
    case CopyState::in_flight: return cp.earliest_expiry <= now();
    case CopyState::limbo: return true;
    default: return false;
  }
}

std::int64_t Model::rdy_max(const Conn& c, std::int64_t from, std::int64_t to) const {
  std::int64_t best = 0;
  // The value in effect at `from` (latest change at or before it) and every change up to `to`.
  for (std::size_t i = c.rdy.size(); i-- > 0;) {
    if (c.rdy[i].first > to) continue;
    best = std::max(best, c.rdy[i].second);
    if (c.rdy[i].first <= from) break;
  }
  return best;
}

void Model::register_conn(std::uint64_t conn_id, std::string label, std::int64_t obt_ns,
                          std::int64_t msg_timeout_ns) {
  Conn& c = conn_at(conn_id);
  c.id = conn_id;
  c.label = std::move(label);
  by_label_[c.label] = conn_id;
  c.obt_ns = obt_ns > 0 ? obt_ns : limits_.default_obt_ns;
  c.msg_timeout_ns = msg_timeout_ns > 0 ? msg_timeout_ns : limits_.default_msg_timeout_ns;
}

void Model::http_publish(const std::string& topic, std::vector<std::string> bodies, std::int64_t defer_ns) {
  Event e{Event::http_pub};
  e.topic = topic;
  e.bodies = std::move(bodies);
  e.defer_ns = defer_ns;
  step_.push_back(std::move(e));
}

void Model::admin(std::string action, const std::string& topic, const std::string& channel) {
  Event e{Event::admin};
  e.data = std::move(action);
  e.topic = topic;
  e.channel = channel;
  step_.push_back(std::move(e));
}

void Model::http_answer(std::vector<std::string> bodies, bool ok) {
  Event e{Event::http_answer};
  e.bodies = std::move(bodies);
  e.defer_ns = ok ? 1 : 0;
  step_.push_back(std::move(e));
}

void Model::server_read(std::uint64_t conn_id, std::string_view bytes) {
  if (!ignored_.empty() && ignored_.count(conn_id) != 0) return;
  Event e{Event::read};
  e.conn = conn_id;
  e.data = std::string(bytes);
  step_.push_back(std::move(e));
}

void Model::server_write(std::uint64_t conn_id, std::string_view bytes) {
  if (!ignored_.empty() && ignored_.count(conn_id) != 0) return;
  Event e{Event::write};
  e.conn = conn_id;
  e.data = std::string(bytes);
  step_.push_back(std::move(e));
}

void Model::after_step(NSQD& nsqd) {
  // Checks run after every step that touched the engine's wire or API, and at least every millisecond of
  // virtual time otherwise (steps that are only client-side timers or bytes in flight cannot change what the
  // checkers compare, except nsqd's own timers, whose effects the next check sees).
  const bool had_events = !step_.empty();
  if (suspended_) {
    // nsqd is going down: keep up with what it wrote, judge nothing until restarted().
    apply_step();
    return;
  }
  // A topic nsqd held for its nsqlookupd channel query started in this step (the query's answer, a step of its
  // own): first, what it held went to every channel it has, then its deliveries (this step's frames) went out.
  for (const std::uint32_t t : held_topics_) drain_topic(t, &nsqd);
  held_topics_.erase(std::remove_if(held_topics_.begin(), held_topics_.end(),
                                    [this](std::uint32_t t) { return topics_[t].pending.empty() || !topics_[t].live; }),
                     held_topics_.end());
  if (had_events) {
    step_nsqd_ = &nsqd;
    apply_step();
    step_nsqd_ = nullptr;
  }
  // Every step: nsqd removes ephemeral channels and topics in tasks of their own, with no wire traffic (and a
  // client may re-create one a moment later).
  reconcile(nsqd);
  if (!had_events && now() < next_idle_check_) return;
  next_idle_check_ = now() + 1'000'000;
  for (auto& c : checkers_) c->after_step(*this, nsqd);
}

void Model::at_end(NSQD& nsqd) {
  next_idle_check_ = 0;
  after_step(nsqd);
  for (auto& c : checkers_) c->at_end(*this, nsqd);
}

// ------------------------------------------------------------------------------------------------ events

void Model::apply(Event& e, const std::vector<Event>& step) {
  switch (e.kind) {
    case Event::http_pub:
      publish(e.topic, e.bodies, e.defer_ns);
      return;
    case Event::http_answer: {
      std::vector<std::uint32_t> msgs;
      for (const auto& b : e.bodies) {
        if (auto it = msg_by_body_.find(b); it != msg_by_body_.end()) msgs.push_back(it->second);
      }
      answered(msgs, e.defer_ns != 0);
      return;
    }
    case Event::admin: {
      const std::string& a = e.data;
      const std::uint32_t t = topic_inst(e.topic, a == "topic_create" || a == "channel_create");
      if (t == kNone) return;
      TopicInst& ti = topics_[t];
      if (a == "topic_pause") {
        ti.paused = true;
      } else if (a == "topic_unpause") {
        ti.paused = false;
        drain_topic(t);
      } else if (a == "topic_empty") {
        ti.pending.clear();
      } else if (a == "topic_delete") {
        ti.pending.clear();
        std::vector<std::uint32_t> chans;
        for (const auto& [n, ci] : ti.channels) chans.push_back(ci);
        for (std::uint32_t ci : chans) drop_channel(ci, true);
        topics_[t].live = false;
        live_topics_.erase(e.topic);
      } else if (a == "channel_create") {
        channel_inst(t, e.channel, true);
      } else {
        const std::uint32_t ci = channel_inst(t, e.channel, false);
        if (ci == kNone) return;
        if (a == "channel_empty") {
          for (const auto& [m, idx] : chans_[ci].copies) drop_copy(copies_[idx]);
        } else if (a == "channel_delete") {
          drop_channel(ci, true);
        }
      }
      touch_topology();
      return;
    }
    case Event::read: {
      Conn& c = conn_at(e.conn);
      c.id = e.conn;
      c.in.feed(e.data);
      // Which FIN/REQ/TOUCH of this step nsqd rejected: their E_*_FAILED frames were written in this same step.
      // (Engine writes always carry whole frames.)
      std::map<std::string, int> failed;
      for (const Event& w : step) {
        if (w.kind != Event::write || w.conn != e.conn) continue;
        if (w.data.find("_FAILED") == std::string::npos) continue;  // no E_*_FAILED frame in it
        wire::FrameParser p;
        p.feed(w.data);
        while (auto f = p.next()) {
          if (f->type != wire::kFrameError) continue;
          const std::string_view t = f->data;
          if (!(t.starts_with("E_FIN_FAILED") || t.starts_with("E_REQ_FAILED") || t.starts_with("E_TOUCH_FAILED"))) {
            continue;
          }
          // "E_FIN_FAILED FIN <id> failed ..."
          const auto sp = t.find(' ');
          if (sp == std::string_view::npos) continue;
          const auto sp2 = t.find(' ', sp + 1);
          if (sp2 == std::string_view::npos || t.size() < sp2 + 17) continue;
          ++failed[std::string(t.substr(sp + 1, sp2 - sp - 1)) + " " + std::string(t.substr(sp2 + 1, 16))];
        }
      }
      // nsqd answers only the failures, in command order; when one read holds several FIN/REQ/TOUCH of the same
      // ID, the earlier ones are the ones that can have succeeded.
      std::vector<Command> cmds;
      std::map<std::string, int> succeed;
      while (auto cmd = c.in.next()) {
        if (!cmd->params.empty()) ++succeed[cmd->name + " " + cmd->params[0]];
        cmds.push_back(std::move(*cmd));
      }
      for (auto& [key, n] : succeed) {
        auto f = failed.find(key);
        if (f != failed.end()) n -= f->second;
      }
      for (const Command& cmd : cmds) apply_command(c, cmd, succeed);
      if (c.in.corrupt() && !c.input_corrupt) {
        c.input_corrupt = true;
        fail("model", c.label + ": unparseable command stream");
      }
      return;
    }
    case Event::write: {
      Conn& c = conn_at(e.conn);
      c.id = e.conn;
      c.out.feed(e.data);
      while (auto f = c.out.next()) apply_frame(c, *f);
      return;
    }
  }
}

std::uint32_t Model::copy_by_id(const Conn& c, std::string_view id) const {
  if (c.chan == kNone) return kNone;
  if (auto d = c.delivered.find(std::string(id)); d != c.delivered.end()) return d->second;
  const ChannelInst& ch = chans_[c.chan];
  const TopicInst& t = topics_[ch.topic];
  auto m = t.by_id.find(std::string(id));
  if (m == t.by_id.end()) return kNone;
  auto cp = ch.copies.find(m->second);
  return cp == ch.copies.end() ? kNone : cp->second;
}

void Model::apply_command(Conn& c, const Command& cmd, std::map<std::string, int>& succeed) {
  const std::string& n = cmd.name;
  auto param = [&](std::size_t i) -> std::string { return i < cmd.params.size() ? cmd.params[i] : std::string(); };
  if (n == "PUB") {
    c.awaiting.push_back(publish(param(0), {cmd.body}, 0));
  } else if (n == "DPUB") {
    c.awaiting.push_back(publish(param(0), {cmd.body}, static_cast<std::int64_t>(parse_u64(param(1))) * 1'000'000));
  } else if (n == "MPUB") {
    c.awaiting.push_back(publish(param(0), cmd.bodies, 0));
  } else if (n == "IDENTIFY") {
    c.awaiting.emplace_back();
  } else if (n == "SUB") {
    c.awaiting.emplace_back();
    const std::uint32_t t = topic_inst(param(0), true);
    c.chan = channel_inst(t, param(1), true);
  } else if (n == "RDY") {
    if (!c.closing) c.rdy.emplace_back(now(), cmd.params.empty() ? 1 : static_cast<std::int64_t>(parse_u64(param(0))));
  } else if (n == "CLS") {
    c.awaiting.emplace_back();
    c.closing = true;
    c.rdy.emplace_back(now(), 0);
  } else if (n == "FIN" || n == "REQ" || n == "TOUCH") {
    const std::string id = param(0);
    const bool ok = succeed[n + " " + id]-- > 0;
    const std::uint32_t idx = copy_by_id(c, id);
    if (idx == kNone) {
      if (ok) fail("exactly-once", c.label + ": " + n + " " + id + " accepted for a message never delivered on its channel");
      return;
    }
    Copy& cp = copies_[idx];
    if (verbose_) say(c.label + " " + n + " " + describe(cp) + (ok ? " accepted" : " refused"));
    for (auto& ch : checkers_) ch->on_resolve(*this, c, cp, n, ok);
    if (!ok) return;
    if ((cp.state == CopyState::in_flight && cp.holder == c.id && cp.earliest_expiry <= now()) ||
        (!(cp.state == CopyState::in_flight && cp.holder == c.id) && may_hold_unwritten(cp, c))) {
      if (!cp.ambiguous) ++chans_[cp.chan].ambiguous;
      cp.ambiguous = true;
      cp.ambiguous_conn = c.id;
      cp.ambiguous_until = now() + obt(c) + 1'000'000;
    }
    if (cp.state == CopyState::in_flight && cp.holder == c.id && cp.earliest_expiry <= now()) {
      // Either the delivery the model knows, or (it timed out) a redelivery to c still in nsqd's buffer. Only
      // after a FIN can the model tell later: nothing else may be delivered, so a frame with attempts + 1 to c
      // within its output-buffer timeout is that buffered redelivery. (After REQ or TOUCH a redelivery to c
      // is processed as an ordinary delivery, which counts the same timeout.)
      if (n != "FIN") goto resolve;
      cp.ghost_conn = c.id;
      cp.ghost_attempts = static_cast<std::uint16_t>(cp.attempts + 1);
      cp.ghost_optional = true;
    } else if (!(cp.state == CopyState::in_flight && cp.holder == c.id) && may_hold_unwritten(cp, c)) {
      // nsqd redelivered it to c and has not written the frame yet: account for that delivery now.
      if (cp.state == CopyState::in_flight) {
        ++cp.timeouts;
        ++chans_[cp.chan].timeouts_inferred;
      }
      release_holder(cp);
      set_state(cp, CopyState::in_flight);
      cp.holder = c.id;
      c.held.insert(idx);
      cp.attempts = static_cast<std::uint16_t>(cp.attempts + 1);
      cp.max_attempts = std::max(cp.max_attempts, cp.attempts);
      cp.ghost_conn = c.id;
      cp.ghost_attempts = cp.attempts;
      cp.ghost_optional = false;
      cp.last_write = now();
      cp.earliest_expiry = now() - obt(c) + c.msg_timeout_ns;
      ++cp.deliveries;
      if (verbose_) say("  (" + c.label + " holds an unwritten redelivery, attempts " + std::to_string(cp.attempts) + ")");
    }
  resolve:
    if (n == "TOUCH") {
      const std::int64_t cap = cp.last_write - obt(c) + limits_.max_msg_timeout_ns;
      cp.earliest_expiry = std::max(cp.earliest_expiry, std::min(now() + c.msg_timeout_ns, cap));
      return;
    }
    release_holder(cp);
    if (n == "FIN") {
      ++cp.fins_ok;
      ++c.fins_ok;
      set_state(cp, CopyState::finished);
      cp.final_at = now();
    } else {
      ++cp.reqs_ok;
      ++c.reqs_ok;
      ++chans_[cp.chan].reqs_ok;
      std::int64_t delay = static_cast<std::int64_t>(parse_u64(param(1))) * 1'000'000;
      delay = std::min(delay, limits_.max_req_timeout_ns);
      if (delay > 0) {
        set_state(cp, CopyState::deferred);
        cp.not_before = now() + delay;
        cp.deferred_at = now();
        cp.wall_jumps_at_defer = wall_jumps_;
      } else {
        set_state(cp, CopyState::queued);
      }
    }
  }
}

void Model::answered(const std::vector<std::uint32_t>& msgs, bool ok) {
  if (verbose_ && !msgs.empty()) {
    std::string what;
    for (std::uint32_t mi : msgs) what += " " + msgs_[mi].body;
    say(std::string(ok ? "acknowledged:" : "not acknowledged:") + what);
  }
  for (std::uint32_t mi : msgs) {
    Msg& m = msgs_[mi];
    if (!m.answered) {
      m.answered = true;
      TopicInst& t = topics_[m.topic];
      if (t.unanswered > 0) --t.unanswered;
    }
    if (ok) {
      m.acked = true;
      continue;
    }
    // Not acknowledged: nsqd may hold it (a durable publish whose fsync failed, the messages of an MPUB before
    // the one whose write failed) or not.
    m.failed = true;
    TopicInst& t = topics_[m.topic];
    t.inexact = true;
    if (auto it = std::find(t.pending.begin(), t.pending.end(), mi); it != t.pending.end()) {
      t.pending.erase(it);
      t.limbo_pending.push_back(mi);
    }
    for (const auto& [name, ci] : t.channels) {
      ChannelInst& ch = chans_[ci];
      ch.inexact = true;
      if (auto cp = ch.copies.find(mi); cp != ch.copies.end()) {
        Copy& copy = copies_[cp->second];
        if (copy.state == CopyState::queued || copy.state == CopyState::deferred) to_limbo(copy);
        if (ch.assigned > 0) --ch.assigned;  // nsqd may not have counted it (message_count is a bound now)
      }
    }
  }
}

void Model::apply_frame(Conn& c, const wire::Frame& f) {
  if (f.type == wire::kFrameError && verbose_) say(c.label + " <- " + f.data);
  if (f.type == wire::kFrameResponse && f.data != "_heartbeat_") {
    if (c.awaiting.empty()) return fail("model", c.label + ": response " + f.data + " to no command");
    std::vector<std::uint32_t> msgs = std::move(c.awaiting.front());
    c.awaiting.pop_front();
    answered(msgs, true);
    return;
  }
  if (f.type == wire::kFrameError) {
    const std::string_view t = f.data;
    if (t.starts_with("E_FIN_FAILED") || t.starts_with("E_REQ_FAILED") || t.starts_with("E_TOUCH_FAILED")) return;
    // Every other error is fatal: it answers the oldest command. Commands nsqd processed before it may still be
    // answered (--durable replies held for their fsync); ones the same read carried after it never are, and
    // the wire cannot tell which is which: all of them are unacknowledged now (a later OK still pops one).
    if (c.awaiting.empty()) return;
    answered(c.awaiting.front(), false);
    c.awaiting.pop_front();
    for (const auto& msgs : c.awaiting) answered(msgs, false);
    return;
  }
  if (f.type != wire::kFrameMessage) return;
  auto m = wire::decode_message(f.data);
  if (!m) return fail("model", c.label + ": undecodable message frame");
  ++c.messages;
  ++deliveries_;
  auto mi = msg_by_body_.find(m->body);
  if (mi == msg_by_body_.end()) return fail("exactly-once", c.label + " got " + m->body + ", never published");
  if (c.chan == kNone) return fail("rdy", c.label + " got " + m->body + " without a subscription");
  ChannelInst& ch = chans_[c.chan];
  auto ci = ch.copies.find(mi->second);
  if (ci == ch.copies.end() && (msgs_[mi->second].crashed || msgs_[mi->second].failed) &&
      msgs_[mi->second].topic != kNone &&
      topics_[msgs_[mi->second].topic].name == ch.topic_name) {
    // After a crash nsqd replays topic reads that were not yet durably handed over, into the channels it has
    // now (at least once); a publish answered with an error may still be in its topic and go out later: a
    // copy the model never assigned here.
    assign(mi->second, c.chan);
    ci = ch.copies.find(mi->second);
    Copy& fresh = copies_[ci->second];
    set_state(fresh, CopyState::limbo);
    fresh.crashed = true;
    ch.inexact = true;
    --ch.assigned;  // nsqd counted it at its replay; the model cannot say when, so message_count is a bound now
  }
  if (ci == ch.copies.end()) {
    return fail("exactly-once", c.label + " got " + m->body + " on " + ch.topic_name + "/" + ch.name +
                                    ", which never had it (published " +
                                    io_sim::Trace::format_time(msgs_[mi->second].processed_at) + ")");
  }
  Msg& msg = msgs_[mi->second];
  c.delivered[m->id] = ci->second;
  if (msg.id.empty()) {
    msg.id = m->id;
    msg.timestamp = m->timestamp_ns;
    // nsqd keys in-flight, deferred and timing state by ID; the ID lease (engine/id_lease.h) keeps a topic's
    // IDs unique for the whole run: across restarts even when the wall clock steps back, and across a delete
    // and re-creation of the topic.
    auto [prev, fresh] = ids_by_topic_name_[ch.topic_name].emplace(m->id, mi->second);
    if (!fresh && prev->second != mi->second) {
      return fail("unique-ids", c.label + " got ID " + m->id + " on " + ch.topic_name + " for " + m->body +
                                    ", already the ID of " + msgs_[prev->second].body);
    }
    topics_[msg.topic].by_id[m->id] = mi->second;
  }
 Copy& cp = copies_[ci->second];
  if (cp.ghost_conn == c.id && cp.ghost_optional && cp.state != CopyState::finished) cp.ghost_conn = 0;
  if (cp.ghost_conn == c.id && (!cp.ghost_optional || m->attempts == cp.ghost_attempts)) {
    // The frame of a redelivery the model already accounted for when c resolved it.
    cp.ghost_conn = 0;
    if (cp.ghost_optional) {
      // It had timed out after all: count that, and the delivery.
      ++cp.timeouts;
      ++ch.timeouts_inferred;
      cp.attempts = m->attempts;
      cp.max_attempts = std::max(cp.max_attempts, cp.attempts);
      ++cp.deliveries;
    }
    if (m->attempts != cp.ghost_attempts && !(cp.ambiguous && m->attempts + 1 == cp.ghost_attempts)) {
      fail("attempts", c.label + " got " + describe(cp) + " with attempts " + std::to_string(m->attempts) +
                           ", expected " + std::to_string(cp.ghost_attempts));
    }
    if (verbose_) say("late frame to " + c.label + " of " + describe(cp));
    return;
  }
  if (cp.ambiguous && m->attempts <= cp.attempts && cp.state != CopyState::finished && cp.state != CopyState::dropped) {
    // A late frame of an older delivery (it was resolved by an ambiguous REQ/TOUCH): nsqd's state moved on.
    if (verbose_) say("late frame (older delivery) to " + c.label + " of " + describe(cp));
    for (auto& chk : checkers_) chk->on_delivery(*this, c, cp, *m);
    return;
  }
  if (verbose_) {
    say("delivery to " + c.label + " of " + describe(cp) + " now attempts " + std::to_string(m->attempts) + " id " +
        m->id);
  }
  for (auto& chk : checkers_) chk->on_delivery(*this, c, cp, *m);
  // A crashed copy comes back to life if its channel is there (a frame flushed as its channel is deleted stays a
  // late frame of a dropped copy).
  if ((cp.state == CopyState::finished || cp.state == CopyState::dropped) && !(cp.crashed && ch.live)) return;
  cp.restarted = false;
  if (cp.state == CopyState::in_flight) {
    ++cp.timeouts;
    ++ch.timeouts_inferred;
    release_holder(cp);
  }
  set_state(cp, CopyState::in_flight);
  cp.holder = c.id;
  c.held.insert(ci->second);
  cp.attempts = m->attempts;
  cp.max_attempts = std::max(cp.max_attempts, cp.attempts);
  cp.last_write = now();
  cp.earliest_expiry = now() - obt(c) + c.msg_timeout_ns;
  ++cp.deliveries;
}

// ------------------------------------------------------------------------------------------------- state

std::uint32_t Model::topic_inst(const std::string& name, bool create) {
  auto it = live_topics_.find(name);
  if (it != live_topics_.end()) return it->second;
  if (!create) return kNone;
  // A topic forgotten by a crash (not yet in nsqd.dat) finds its old disk queue again when re-created.
  for (std::size_t i = topics_.size(); i-- > 0;) {
    if (topics_[i].name != name) continue;
    if (topics_[i].crash_lost) return revive_topic(name);
    break;
  }
  TopicInst t;
  t.name = name;
  t.ephemeral = is_ephemeral(name);
  topics_.push_back(std::move(t));
  const auto idx = static_cast<std::uint32_t>(topics_.size() - 1);
  live_topics_[name] = idx;
  touch_topology();
  return idx;
}

std::uint32_t Model::channel_inst(std::uint32_t t, const std::string& name, bool create) {
  auto it = topics_[t].channels.find(name);
  if (it != topics_[t].channels.end()) return it->second;
  if (!create) return kNone;
  // By topic name: a dormant channel's queue is still on disk even if its topic was deleted and created again
  // meanwhile (deleting a topic deletes only the channels it has).
  for (std::size_t i = chans_.size(); i-- > 0;) {
    if (chans_[i].topic_name != topics_[t].name || chans_[i].name != name) continue;
    if (chans_[i].crash_lost) return revive_channel(t, name);
    break;
  }
  ChannelInst ch;
  ch.topic_name = topics_[t].name;
  ch.name = name;
  ch.topic = t;
  ch.ephemeral = is_ephemeral(name);
  ch.lossy = limits_.ephemeral_lossy && (ch.ephemeral || topics_[t].ephemeral);
  // A topic that lived through a crash or a failed publish may hand a new channel what the model cannot see.
  ch.inexact = topics_[t].inexact;
  ch.created_at = now();
  chans_.push_back(std::move(ch));
  const auto idx = static_cast<std::uint32_t>(chans_.size() - 1);
  topics_[t].channels[name] = idx;
  touch_topology();
  drain_topic(t);
  return idx;
}

std::vector<std::uint32_t> Model::publish(const std::string& topic, const std::vector<std::string>& bodies,
                                          std::int64_t defer_ns) {
  const std::uint32_t t = topic_inst(topic, true);
  std::vector<std::uint32_t> out;
  for (const auto& body : bodies) {
    Msg m;
    m.topic = t;
    m.body = body;
    m.processed_at = now();
    m.defer_ns = defer_ns;
    msgs_.push_back(std::move(m));
    const auto idx = static_cast<std::uint32_t>(msgs_.size() - 1);
    if (!msg_by_body_.emplace(body, idx).second) fail("model", "body published twice: " + body);
    ++topics_[t].published;
    ++topics_[t].unanswered;
    topics_[t].pending.push_back(idx);
    out.push_back(idx);
  }
  drain_topic(t);
  return out;
}

void Model::drain_topic(std::uint32_t t, NSQD* nsqd) {
  TopicInst& ti = topics_[t];
  if (ti.paused || ti.channels.empty() || ti.pending.empty()) return;
  // A topic created at runtime with nsqlookupd configured holds its messages until the channel query is
  // answered (or fails), then hands them to every channel it has by then, not only to the first one a SUB
  // created meanwhile (found by nsqd-sim --seed 2350 --faults all). A step's events are applied after it: a
  // topic not started then was not started during the step (after_step drains it in the step it starts).
  if (nsqd == nullptr) nsqd = step_nsqd_;
  if (nsqd != nullptr && ti.live) {
    if (const Topic* tp = nsqd->find_topic(ti.name); tp != nullptr && !tp->started()) {
      if (std::find(held_topics_.begin(), held_topics_.end(), t) == held_topics_.end()) held_topics_.push_back(t);
      return;
    }
  }
  std::vector<std::uint32_t> chans;
  for (const auto& [n, ci] : ti.channels) chans.push_back(ci);
  std::deque<std::uint32_t> pending = std::move(ti.pending);
  topics_[t].pending.clear();
  for (std::uint32_t m : pending) {
    for (std::uint32_t ci : chans) assign(m, ci);
  }
}

void Model::assign(std::uint32_t msg, std::uint32_t chan) {
  Copy c;
  c.msg = msg;
  c.chan = chan;
  ChannelInst& ch = chans_[chan];
  ++ch.assigned;
  ++ch.alive;
  if (msgs_[msg].defer_ns > 0) {
    c.state = CopyState::deferred;
    c.not_before = now() + msgs_[msg].defer_ns;
    c.deferred_at = now();
    c.wall_jumps_at_defer = wall_jumps_;
    ++ch.deferred;
  }
  copies_.push_back(c);
  const auto idx = static_cast<std::uint32_t>(copies_.size() - 1);
  auto [it, fresh] = ch.copies.try_emplace(msg, idx);
  if (fresh) {
    ch.copy_list.push_back(idx);
  } else {  // assigned again (after a crash): the new copy takes the old one's place
    *std::find(ch.copy_list.begin(), ch.copy_list.end(), it->second) = idx;
    it->second = idx;
  }
}

void Model::set_state(Copy& c, CopyState s) {
  ChannelInst& ch = chans_[c.chan];
  auto is_alive = [](CopyState st) {
    return st == CopyState::queued || st == CopyState::deferred || st == CopyState::in_flight;
  };
  const bool was_alive = is_alive(c.state);
  const bool alive = is_alive(s);
  if (c.state == CopyState::deferred) --ch.deferred;
  if (s == CopyState::deferred) ++ch.deferred;
  if (was_alive && !alive) --ch.alive;
  if (!was_alive && alive) ++ch.alive;
  c.state = s;
}

void Model::release_holder(Copy& c) {
  if (c.state != CopyState::in_flight) return;
  if (Conn* h = find_conn(c.holder)) h->held.erase(static_cast<std::uint32_t>(&c - copies_.data()));
  c.holder = 0;
}

void Model::to_limbo(Copy& c) {
  release_holder(c);
  set_state(c, CopyState::limbo);
}

void Model::drop_copy(Copy& c) {
  if (c.state == CopyState::finished || c.state == CopyState::dropped) return;
  if (c.state == CopyState::in_flight && c.earliest_expiry <= now()) ++chans_[c.chan].timeout_slack;
  release_holder(c);
  set_state(c, CopyState::dropped);
  c.final_at = now();
}

void Model::drop_channel(std::uint32_t chan, bool admin) {
  ChannelInst& ch = chans_[chan];
  if (!ch.live) return;
  for (const auto& [m, idx] : ch.copies) drop_copy(copies_[idx]);
  ch.live = false;
  ch.admin_deleted = admin;
  ch.deleted_at = now();
  topics_[ch.topic].channels.erase(ch.name);
  touch_topology();
}

void Model::lose_channel(std::uint32_t chan) {
  ChannelInst& ch = chans_[chan];
  if (!ch.live) return;
  for (const auto& [m, idx] : ch.copies) {
    Copy& cp = copies_[idx];
    if (cp.state == CopyState::queued || cp.state == CopyState::deferred || cp.state == CopyState::in_flight) {
      to_limbo(cp);
    }
  }
  ch.live = false;
  ch.crash_lost = true;
  ch.inexact = true;
  ch.deleted_at = now();
  topics_[ch.topic].channels.erase(ch.name);
  touch_topology();
}

std::uint32_t Model::revive_topic(const std::string& name) {
  std::uint32_t t = kNone;
  for (std::size_t i = topics_.size(); i-- > 0;) {
    if (topics_[i].name == name) {
      t = static_cast<std::uint32_t>(i);
      break;
    }
  }
  if (t == kNone || topics_[t].live) {
    if (t == kNone) t = topic_inst(name, true);
  } else {
    topics_[t].live = true;
    topics_[t].crash_lost = false;
    topics_[t].paused = false;
    topics_[t].published = 0;
    live_topics_[name] = t;
  }
  topics_[t].inexact = true;
  touch_topology();
  if (verbose_) say("topic " + name + " is back after the crash");
  return t;
}

std::uint32_t Model::revive_channel(std::uint32_t t, const std::string& name) {
  for (std::size_t i = chans_.size(); i-- > 0;) {
    ChannelInst& ch = chans_[i];
    if (ch.topic_name != topics_[t].name || ch.name != name || ch.live) continue;
    ch.topic = t;
    ch.live = true;
    ch.crash_lost = false;
    ch.inexact = true;
    ch.assigned = ch.reqs_ok = ch.timeouts_inferred = ch.timeout_slack = ch.ambiguous = 0;
    topics_[t].channels[name] = static_cast<std::uint32_t>(i);
    touch_topology();
    if (verbose_) say("channel " + topics_[t].name + "/" + name + " is back (it vanished in a restart)");
    if (!in_restart_) drain_topic(t);  // as a new channel: the topic's backlog goes to it (restarted() drains all)
    return static_cast<std::uint32_t>(i);
  }
  const std::uint32_t ci = channel_inst(t, name, true);
  chans_[ci].inexact = true;
  return ci;
}

void Model::begin_restart() {
  apply_step();
  suspended_ = true;
}

void Model::restarted(bool clean, bool durable, NSQD& nsqd) {
  apply_step();
  ++restarts_;
  if (verbose_) say(std::string(clean ? "clean restart" : "crash") + (durable ? " (durable)" : ""));
  // Every connection is gone, and with it every reply still owed (a publish not yet answered is not acked).
  for (auto& [id, c] : conns_) {
    c.held.clear();
    c.awaiting.clear();
  }
  constexpr std::int64_t kDeferSyncWindow = 50'000'000;
  for (auto& cp : copies_) {
    cp.ghost_conn = 0;
    cp.ghost_optional = false;
    cp.ambiguous = false;
    if (cp.state == CopyState::in_flight) {
      cp.holder = 0;
      set_state(cp, CopyState::queued);  // close() writes in-flight messages back; a crash replays them
    }
    cp.restarted = true;
    if (clean) continue;
    cp.crashed = true;
    if (cp.state != CopyState::queued && cp.state != CopyState::deferred) continue;
    const Msg& m = msgs_[cp.msg];
    if (!durable || !m.acked || m.failed) {
      set_state(cp, CopyState::limbo);  // default mode: memory is lost, unsynced disk data too
    } else if (cp.state == CopyState::deferred &&
               (cp.deferred_at > now() - kDeferSyncWindow || disk_fault_until_ >= cp.deferred_at)) {
      // A deferral whose timing-file sync may not have completed: it may come back due at once (README).
      set_state(cp, CopyState::queued);
    }
  }
  for (auto& ch : chans_) {
    ch.assigned = ch.reqs_ok = ch.timeouts_inferred = ch.timeout_slack = ch.ambiguous = 0;
    if (!clean) ch.inexact = ch.crashed = true;
  }
  for (std::size_t ti = 0; ti < topics_.size(); ++ti) {
    TopicInst& t = topics_[ti];
    t.published = 0;
    t.unanswered = 0;  // every connection is gone: what was not answered never will be
    if (clean) continue;
    t.inexact = true;
    std::deque<std::uint32_t> keep;
    for (std::uint32_t mi : t.pending) {
      const Msg& m = msgs_[mi];
      if (durable && m.acked && !m.failed) {
        keep.push_back(mi);
      } else {
        t.limbo_pending.push_back(mi);
      }
    }
    t.pending = std::move(keep);
  }
  if (!clean) {
    for (auto& m : msgs_) m.crashed = true;
  }
  after_crash_ = !clean;
  in_restart_ = true;
  touch_topology();
  reconcile(nsqd);
  after_crash_ = false;
  in_restart_ = false;
  // The new NSQD started every topic: whatever a topic held went to its channels.
  for (const auto& [name, t] : live_topics_) drain_topic(t);
  suspended_ = false;
  next_idle_check_ = 0;
}

void Model::reconcile(NSQD& nsqd) {
  // Only when something may have changed: the model's own view, or nsqd's topics/channels, or paused flags
  // (admin actions set topology_dirty_; restarts bring a new NSQD).
  if (!topology_dirty_ && &nsqd == seen_nsqd_ && nsqd.topology_version() == seen_topology_) return;
  seen_nsqd_ = &nsqd;
  seen_topology_ = nsqd.topology_version();
  topology_dirty_ = false;
  // nsqd removes ephemeral channels (last client gone) and ephemeral topics (last channel gone) by itself, in a
  // task after the triggering event; the model notices here. Anything else vanishing is a violation.
  std::vector<std::string> dead_topics;
  for (const auto& [name, t] : live_topics_) {
    Topic* tp = nsqd.find_topic(name);
    TopicInst& ti = topics_[t];
    if (tp == nullptr) {
      if (!ti.ephemeral && !after_crash_) fail("topology", "topic " + name + " vanished without a delete");
      dead_topics.push_back(name);
      continue;
    }
    std::vector<std::uint32_t> gone;
    for (const auto& [cname, ci] : ti.channels) {
      if (tp->find_channel(cname) == nullptr) gone.push_back(ci);
    }
    for (std::uint32_t ci : gone) {
      if (chans_[ci].ephemeral) {
        drop_channel(ci, false);
      } else if (after_crash_) {
        lose_channel(ci);  // its creation never reached nsqd.dat
      } else {
        fail("topology", "channel " + name + "/" + chans_[ci].name + " vanished without a delete");
        drop_channel(ci, false);
      }
    }
    if (tp->channels().size() != ti.channels.size()) {
      for (const auto& [cname, chp] : tp->channels()) {
        if (ti.channels.count(cname) == 0) {
          if (after_crash_) {
            revive_channel(t, cname);  // deleted after the last nsqd.dat write
            continue;
          }
          fail("topology", "channel " + name + "/" + cname + " appeared unasked");
          channel_inst(t, cname, true);
        }
      }
    }
    if (after_crash_) topics_[t].paused = tp->paused();
    if (tp->paused() != topics_[t].paused) fail("topology", "topic " + name + " paused flag differs from the model");
  }
  for (const auto& name : dead_topics) {
    const std::uint32_t t = live_topics_[name];
    // After a crash a topic whose creation never reached nsqd.dat is gone; after any restart an #ephemeral topic
    // is (nsqd.dat never lists it) while its ordinary channels' disk queues stay on disk, as in nsqd, and come
    // back if the topic is created again.
    const bool lost = (after_crash_ && !topics_[t].ephemeral) || (in_restart_ && topics_[t].ephemeral);
    std::vector<std::uint32_t> chans;
    for (const auto& [n, ci] : topics_[t].channels) chans.push_back(ci);
    for (std::uint32_t ci : chans) {
      if (lost && !chans_[ci].ephemeral) {
        lose_channel(ci);
      } else {
        drop_channel(ci, false);
      }
    }
    if (lost) {
      for (std::uint32_t mi : topics_[t].pending) topics_[t].limbo_pending.push_back(mi);
      topics_[t].crash_lost = true;
    }
    topics_[t].pending.clear();
    topics_[t].live = false;
    live_topics_.erase(name);
  }
  if (after_crash_) {
    // Topics and channels deleted after the last nsqd.dat write are back.
    for (const TopicStats& ts : nsqd.stats({}, {}, false)) {
      if (live_topics_.count(ts.topic_name) != 0) continue;
      const std::uint32_t t = revive_topic(ts.topic_name);
      Topic* tp = nsqd.find_topic(ts.topic_name);
      topics_[t].paused = tp != nullptr && tp->paused();
      for (const ChannelStats& cs : ts.channels) {
        if (topics_[t].channels.count(cs.channel_name) == 0) revive_channel(t, cs.channel_name);
      }
    }
  }
}

}  // namespace nsq::sim::swarm
