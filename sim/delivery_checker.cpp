#include "sim/delivery_checker.h"

#include <algorithm>

#include "io_sim/trace.h"

namespace nsq::sim {

namespace {
std::string at(std::int64_t ns) { return "[" + io_sim::Trace::format_time(ns) + "] "; }
}  // namespace

void DeliveryChecker::fail(std::string what) {
  if (failures_.size() < 50) failures_.push_back(std::move(what));
}

void DeliveryChecker::publish_sent(const std::string& body, std::int64_t now, std::int64_t delay_ns) {
  Publish& p = published_[body];
  p.sent_at = now;
  p.delay_ns = delay_ns;
  for (auto& [name, ch] : channels_) ch.copies[body].last_seen = now;
}

void DeliveryChecker::publish_acked(const std::string& body, bool ok, std::string_view text) {
  auto it = published_.find(body);
  if (it == published_.end()) return fail("ack for unknown publish " + body);
  if (!ok) return fail("publish of " + body + " failed: " + std::string(text));
  it->second.acked = true;
}

void DeliveryChecker::connection_opened(const std::string& conn, const std::string& channel) {
  conns_[conn].channel = channel;
}

void DeliveryChecker::connection_closed(const std::string& conn, std::int64_t now) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || !it->second.open) return;
  it->second.open = false;
  it->second.closed_at = now;
  channels_[it->second.channel].closes.push_back(now);
}

bool DeliveryChecker::delivery_may_be_lost(const Channel& ch, std::int64_t since) const {
  // nsqd may still write to a connection for a command latency after the client closed it; anything it
  // put in flight there is gone unseen (and times out later with its attempt counted).
  for (std::int64_t closed : ch.closes) {
    if (closed + limits_.max_command_latency_ns >= since) return true;
  }
  return false;
}

void DeliveryChecker::rdy_sent(const std::string& conn, std::int64_t count, std::int64_t now) {
  conns_[conn].rdys.emplace_back(now, count);
}

std::int64_t DeliveryChecker::rdy_bound(const Conn& c, std::int64_t now) const {
  // nsqd uses the latest RDY it has processed. Any RDY sent less than max_command_latency ago may not have
  // been; the latest one older than that certainly has, and makes everything before it irrelevant.
  std::int64_t bound = 0;
  for (std::size_t i = c.rdys.size(); i-- > 0;) {
    bound = std::max(bound, c.rdys[i].second);
    if (c.rdys[i].first + limits_.max_command_latency_ns <= now) break;
  }
  return bound;
}

bool DeliveryChecker::certainly_in_flight(std::int64_t received_at, std::int64_t now) const {
  // It went in flight no earlier than received_at - max_delivery_latency, so it cannot have expired before
  // that plus msg_timeout.
  return now < received_at - limits_.max_delivery_latency_ns + limits_.msg_timeout_ns;
}

void DeliveryChecker::delivered(const std::string& conn, const wire::Message& m, std::int64_t now) {
  ++deliveries_;
  Conn& c = conns_[conn];
  const std::string who = at(now) + conn + " got " + m.body + " (id " + m.id + ", attempts " +
                          std::to_string(m.attempts) + "): ";
  auto pub = published_.find(m.body);
  if (pub == published_.end()) return fail(who + "never published");
  Publish& p = pub->second;
  if (p.id.empty()) {
    p.id = m.id;
    p.timestamp_ns = m.timestamp_ns;
    const std::int64_t earliest = p.sent_at + limits_.wall_minus_monotonic_ns;
    if (m.timestamp_ns < earliest || m.timestamp_ns > now + limits_.wall_minus_monotonic_ns) {
      fail(who + "timestamp " + std::to_string(m.timestamp_ns) + " outside [publish sent, now]");
    }
    auto [it, fresh] = body_by_id_.emplace(m.id, m.body);
    if (!fresh && it->second != m.body) fail(who + "ID already used by " + it->second);
  } else {
    if (m.id != p.id) fail(who + "ID changed, was " + p.id);
    if (m.timestamp_ns != p.timestamp_ns) fail(who + "timestamp changed");
  }

  Channel& ch = channels_[c.channel];
  Copy& copy = ch.copies[m.body];
  if (!delivery_may_be_lost(ch, copy.last_seen) && m.attempts != copy.last_attempts + 1) {
    fail(who + "expected attempts " + std::to_string(copy.last_attempts + 1) + " on " + c.channel);
  } else if (m.attempts <= copy.last_attempts) {
    fail(who + "attempts did not increase from " + std::to_string(copy.last_attempts) + " on " + c.channel);
  }
  if (copy.delivered_at.empty()) {
    copy.not_before = p.sent_at + p.delay_ns;
  } else {
    ++redeliveries_;
    if (!copy.holder.empty() && certainly_in_flight(copy.held_since, now)) {
      fail(who + "still in flight to " + copy.holder + " since " + at(copy.held_since));
    }
  }
  if (now < copy.not_before) fail(who + "deferred until " + at(copy.not_before) + "but delivered early");

  // RDY window: everything this connection received earlier and has not answered is still in flight on the
  // server unless it may have timed out.
  std::int64_t certain = 0;
  for (const auto& [id, u] : c.in_flight) {
    if (certainly_in_flight(u.received_at, now)) ++certain;
  }
  const std::int64_t bound = rdy_bound(c, now);
  if (certain + 1 > bound) {
    fail(who + "in flight would be " + std::to_string(certain + 1) + " > RDY " + std::to_string(bound));
  }
  if (c.in_flight.count(m.id) != 0 && certainly_in_flight(c.in_flight[m.id].received_at, now)) {
    fail(who + "delivered again to the same connection while in flight");
  }

  c.in_flight[m.id] = Unresolved{m.body, now};
  copy.last_attempts = m.attempts;
  copy.last_seen = now;
  copy.not_before = 0;
  copy.holder = conn;
  copy.held_since = now;
  copy.delivered_at.push_back(now);
}

void DeliveryChecker::resolve(Conn& c, const std::string& conn, const std::string& id) {
  auto it = c.in_flight.find(id);
  if (it == c.in_flight.end()) return;
  Copy& copy = channels_[c.channel].copies[it->second.body];
  if (copy.holder == conn) copy.holder.clear();
  c.in_flight.erase(it);
}

void DeliveryChecker::fin_sent(const std::string& conn, const std::string& id, std::int64_t now) {
  Conn& c = conns_[conn];
  auto b = body_by_id_.find(id);
  if (b != body_by_id_.end()) channels_[c.channel].copies[b->second].fins.push_back(Fin{conn, now, false});
  resolve(c, conn, id);
}

void DeliveryChecker::req_sent(const std::string& conn, const std::string& id, std::int64_t delay_ns,
                               std::int64_t now) {
  Conn& c = conns_[conn];
  auto b = body_by_id_.find(id);
  if (b != body_by_id_.end()) channels_[c.channel].copies[b->second].not_before = now + delay_ns;
  resolve(c, conn, id);
}

void DeliveryChecker::soft_error(const std::string& conn, std::string_view text, std::int64_t now) {
  // "E_FIN_FAILED FIN <id> failed ..." / "E_REQ_FAILED REQ <id> failed ..."
  Conn& c = conns_[conn];
  const auto first = text.find(' ');
  const auto second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos || text.size() < second + 17) {
    return fail(at(now) + conn + ": unparseable error " + std::string(text));
  }
  const std::string id(text.substr(second + 1, 16));
  auto b = body_by_id_.find(id);
  if (b == body_by_id_.end()) return fail(at(now) + conn + ": error for unknown ID " + std::string(text));
  Copy& copy = channels_[c.channel].copies[b->second];
  if (text.starts_with("E_FIN_FAILED")) {
    for (Fin& f : copy.fins) {
      if (f.conn == conn && !f.failed) {
        f.failed = true;
        break;
      }
    }
  } else if (text.starts_with("E_REQ_FAILED")) {
    // The message was not requeued by us (it timed out first), so no deferral applies to it.
    copy.not_before = 0;
  }
}

bool DeliveryChecker::all_finished_sent() const {
  for (const auto& [body, p] : published_) {
    if (!p.acked) return false;
    for (const auto& [name, ch] : channels_) {
      auto it = ch.copies.find(body);
      if (it == ch.copies.end()) return false;
      const Copy& copy = it->second;
      if (copy.delivered_at.empty()) return false;
      bool ok = false;
      for (const Fin& f : copy.fins) ok |= !f.failed && f.at >= copy.delivered_at.back();
      if (!ok) return false;
    }
  }
  return true;
}

void DeliveryChecker::finish(std::int64_t now) {
  for (const auto& [body, p] : published_) {
    if (!p.acked) {
      fail("publish of " + body + " never acknowledged");
      continue;
    }
    for (const auto& [name, ch] : channels_) {
      auto it = ch.copies.find(body);
      if (it == ch.copies.end()) {
        fail(body + " never delivered on " + name);
        continue;
      }
      const Copy& copy = it->second;
      if (copy.delivered_at.empty()) {
        fail(body + " never delivered on " + name);
        continue;
      }
      bool finished = false;
      for (const Fin& f : copy.fins) {
        if (f.failed) continue;
        const Conn& c = conns_.at(f.conn);
        // A FIN sent just before its connection closed has an unknown outcome (no error could come back);
        // count it only if nothing was delivered after it.
        const bool known = c.open || c.closed_at >= f.at + limits_.max_command_latency_ns;
        const bool later_delivery = copy.delivered_at.back() > f.at;
        if (known && later_delivery) {
          fail(at(f.at) + body + " on " + name + ": delivered again at " + at(copy.delivered_at.back()) +
               "after a successful FIN by " + f.conn);
        }
        finished |= !later_delivery;
      }
      if (!finished) fail(body + " on " + name + " never finished (" + std::to_string(copy.delivered_at.size()) +
                          " deliveries, last at " + at(copy.delivered_at.back()) + ")");
    }
  }
  (void)now;
}

}  // namespace nsq::sim
