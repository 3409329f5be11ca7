#include "engine/channel.h"

#include <algorithm>

#include "engine/client.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/queue_scanner.h"
#include "engine/topic.h"

namespace nsq {

Channel::Channel(NSQD& nsqd, Topic& topic, std::string name)
    : nsqd_(nsqd), topic_(topic), name_(std::move(name)), ephemeral_(is_ephemeral_name(name_)) {
  if (ephemeral_) {
    backend_ = std::make_unique<DiscardQueue>();
  } else {
    backend_ = std::make_unique<OverflowMemoryQueue>();
  }
}

Channel::~Channel() {
  if (scan_index >= 0) nsqd_.scanner().remove(this);
  for (Client* c : clients_) c->detach_channel();
}

void Channel::put(MessagePtr msg) {
  if (!paused_ && memory_.empty() && backend_->depth() == 0) {
    if (Client* c = next_ready_client()) {
      deliver(std::move(msg), c);
      return;
    }
  }
  enqueue(std::move(msg));
}

void Channel::put_deferred(MessagePtr msg, std::int64_t delay_ns) {
  start_deferred(std::move(msg), nsqd_.clock().now_ns() + delay_ns);
}

void Channel::enqueue(MessagePtr msg) {
  if (static_cast<std::int64_t>(memory_.size()) < nsqd_.options().mem_queue_size) {
    memory_.push_back(std::move(msg));
    return;
  }
  if (std::string err = backend_->put(std::move(msg)); !err.empty()) {
    nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): failed to write message to backend - " + err);
    nsqd_.set_health(err);
  }
}

MessagePtr Channel::pop_queued() {
  if (!memory_.empty()) {
    MessagePtr m = std::move(memory_.front());
    memory_.pop_front();
    return m;
  }
  return backend_->pop();
}

Client* Channel::next_ready_client() {
  const std::size_t n = clients_.size();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = (next_client_ + i) % n;
    if (clients_[k]->ready_for_messages()) {
      next_client_ = (k + 1) % n;
      return clients_[k];
    }
  }
  return nullptr;
}

void Channel::pump() {
  if (pumping_ || paused_ || clients_.empty()) return;
  pumping_ = true;
  while (!memory_.empty() || backend_->depth() > 0) {
    Client* c = next_ready_client();
    if (c == nullptr) break;
    MessagePtr m = pop_queued();
    if (!m) break;
    deliver(std::move(m), c);
  }
  pumping_ = false;
}

void Channel::deliver(MessagePtr msg, Client* client) {
  // sample_rate: nsqd draws 0..99 and drops the message from the channel when the draw exceeds the rate.
  if (int rate = client->delivery_sample_rate(); rate > 0 && static_cast<int>(nsqd_.random().uniform(100)) > rate) {
    return;
  }
  ++msg->attempts;
  const std::int64_t now = nsqd_.clock().now_ns();
  msg->client_id = client->id();
  msg->delivery_ts = now;
  msg->pri = now + client->delivery_msg_timeout();
  Message* raw = msg.get();
  if (in_flight_.insert(msg)) {
    in_flight_pq_.push(raw);
    update_scan_membership();
  }
  // As nsqd, a duplicate ID (already in flight here) is still sent; it just is not tracked twice.
  client->send_message(*raw);
}

Message* Channel::find_in_flight(std::uint64_t client_id, const MessageID& id, std::string& err) {
  Message* m = in_flight_.find(id);
  if (m == nullptr) {
    err = "ID not in flight";
    return nullptr;
  }
  if (m->client_id != client_id) {
    err = "client does not own message";
    return nullptr;
  }
  return m;
}

std::string Channel::finish(std::uint64_t client_id, const MessageID& id) {
  std::string err;
  Message* m = find_in_flight(client_id, id, err);
  if (m == nullptr) return err;
  in_flight_pq_.remove(m);
  in_flight_.take(id);
  update_scan_membership();
  return {};
}

std::string Channel::requeue(std::uint64_t client_id, const MessageID& id, std::int64_t timeout_ns) {
  std::string err;
  Message* m = find_in_flight(client_id, id, err);
  if (m == nullptr) return err;
  in_flight_pq_.remove(m);
  MessagePtr msg = in_flight_.take(id);
  ++requeue_count_;
  if (timeout_ns == 0) {
    update_scan_membership();
    put(std::move(msg));
  } else {
    start_deferred(std::move(msg), nsqd_.clock().now_ns() + timeout_ns);
  }
  return {};
}

std::string Channel::touch(std::uint64_t client_id, const MessageID& id, std::int64_t client_msg_timeout_ns) {
  std::string err;
  Message* m = find_in_flight(client_id, id, err);
  if (m == nullptr) return err;
  std::int64_t next = nsqd_.clock().now_ns() + client_msg_timeout_ns;
  const std::int64_t cap = m->delivery_ts + nsqd_.options().max_msg_timeout;
  if (next >= cap) next = cap;
  in_flight_pq_.update(m, next);
  return {};
}

void Channel::start_deferred(MessagePtr msg, std::int64_t due_ns) {
  msg->pri = due_ns;
  msg->client_id = 0;
  Message* raw = msg.get();
  if (!deferred_.insert(msg)) {
    nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): ID already deferred, message dropped");
    return;
  }
  deferred_pq_.push(raw);
  update_scan_membership();
}

std::int64_t Channel::next_deadline() const {
  std::int64_t d = INT64_MAX;
  if (!in_flight_pq_.empty()) d = std::min(d, in_flight_pq_.top_pri());
  if (!deferred_pq_.empty()) d = std::min(d, deferred_pq_.top_pri());
  return d;
}

bool Channel::process_queues(std::int64_t now_ns) {
  bool dirty = false;
  while (Message* m = in_flight_pq_.pop_if_due(now_ns)) {
    dirty = true;
    MessagePtr msg = in_flight_.take(m->id);
    ++timeout_count_;
    for (Client* c : clients_) {
      if (c->id() == msg->client_id) {
        c->timed_out_message();
        break;
      }
    }
    put(std::move(msg));
  }
  while (Message* m = deferred_pq_.pop_if_due(now_ns)) {
    dirty = true;
    put(deferred_.take(m->id));
  }
  update_scan_membership();
  if (dirty) pump();
  return dirty;
}

void Channel::update_scan_membership() {
  const bool want = has_timed_work();
  if (want && scan_index < 0) {
    nsqd_.scanner().add(this);
  } else if (!want && scan_index >= 0) {
    nsqd_.scanner().remove(this);
  }
}

std::string Channel::add_client(Client* client) {
  const std::int64_t limit = nsqd_.options().max_channel_consumers;
  if (limit != 0 && static_cast<std::int64_t>(clients_.size()) >= limit) {
    return "consumers for " + topic_.name() + ":" + name_ + " exceeds limit of " + std::to_string(limit);
  }
  if (std::find(clients_.begin(), clients_.end(), client) == clients_.end()) clients_.push_back(client);
  return {};
}

void Channel::remove_client(Client* client) {
  auto it = std::find(clients_.begin(), clients_.end(), client);
  if (it == clients_.end()) return;
  clients_.erase(it);
  if (next_client_ >= clients_.size()) next_client_ = 0;
  // An ephemeral channel goes away with its last client (its in-flight messages with it, as in nsqd).
  if (ephemeral_ && clients_.empty()) topic_.schedule_ephemeral_check(name_);
}

void Channel::pause() {
  paused_ = true;
  for (Client* c : clients_) c->flush();
}

void Channel::unpause() {
  paused_ = false;
  pump();
}

void Channel::empty() {
  memory_.clear();
  backend_->empty();
  in_flight_pq_.clear();
  in_flight_.clear();
  deferred_pq_.clear();
  deferred_.clear();
  update_scan_membership();
  for (Client* c : clients_) c->reset_in_flight();
}

void Channel::close_clients() {
  std::vector<Client*> copy = clients_;
  for (Client* c : copy) c->force_close("channel deleted");
}

ChannelStats Channel::stats(bool include_clients) const {
  ChannelStats s;
  s.channel_name = name_;
  s.depth = depth();
  s.backend_depth = backend_depth();
  s.in_flight_count = static_cast<std::int64_t>(in_flight_.size());
  s.deferred_count = static_cast<std::int64_t>(deferred_.size());
  s.message_count = message_count_;
  s.requeue_count = requeue_count_;
  s.timeout_count = timeout_count_;
  s.client_count = static_cast<std::int64_t>(clients_.size());
  s.paused = paused_;
  if (include_clients) {
    for (const Client* c : clients_) s.clients.push_back(c->stats());
  }
  return s;
}

}  // namespace nsq
