#include "engine/channel.h"

#include <algorithm>

#include "engine/client.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/queue_scanner.h"
#include "engine/planted_bugs.h"
#include "engine/topic.h"

namespace nsq {

Channel::Channel(NSQD& nsqd, Topic& topic, std::string name)
    : nsqd_(nsqd), topic_(topic), name_(std::move(name)), ephemeral_(is_ephemeral_name(name_)) {
  // go-diskqueue name of a channel's queue: "topic:channel".
  backend_ = nsqd_.make_backend(topic_.name() + ":" + name_, ephemeral_, /*retain_unwritten=*/true);
  // Wall-clock deadlines from the timing file become monotonic ones now: a wall-clock step after start must not
  // move them (found by nsqd-sim: a message read back after a jump came early).
  if (!ephemeral_) {
    for (const auto& [id, wall_due] : nsqd_.take_timing(topic_.name() + ":" + name_)) {
      waiting_deadlines_[id] = nsqd_.clock().now_ns() + (wall_due - nsqd_.clock().wall_ns());
    }
  }
  if (durable()) {
    backend_->set_side_file(nsqd_.timing_path(topic_.name() + ":" + name_),
                            [this] { return encode_timing(current_timing()); });
    // take_timing() removed the file: write it back before anything can depend on it.
    if (!waiting_deadlines_.empty()) backend_->mark_side_file_dirty();
  }
  const Options& opts = nsqd_.options();
  if (!opts.e2e_processing_latency_percentiles.empty()) {
    e2e_ = std::make_unique<E2eLatency>(opts.e2e_processing_latency_percentiles,
                                        opts.e2e_processing_latency_window_time, nsqd_.clock().now_ns());
  }
}

Channel::~Channel() {
  if (scan_index >= 0) nsqd_.scanner().remove(this);
  for (Client* c : clients_) c->detach_channel();
}

void Channel::put(MessagePtr msg) {
  // With --mem-queue-size=0 a (non-ephemeral) channel has no memory queue at all: every message goes through
  // its disk queue, as in nsqd, and is read back from there by pump().
  // Durable mode likewise: a new message is on this channel's disk queue before anyone can receive it.
  const bool mem0 = (nsqd_.options().mem_queue_size <= 0 || durable()) && !ephemeral_;
  if (!mem0 && !paused_ && memory_.empty() && !backend_->readable()) {
    if (Client* c = next_ready_client()) {
      if (holds_twin(*msg)) return;  // a crash replay of a message in flight here (see pop_queued)
      deliver(std::move(msg), c);
      return;
    }
  }
  enqueue(std::move(msg));
  if (mem0) pump();
}

void Channel::put_deferred(MessagePtr msg, std::int64_t delay_ns) {
  if (durable()) {
    // To disk first, its deadline in the timing map; pop_queued() defers it again when it is read back.
    // Monotonic while we run (a wall-clock step must not move it; found by nsqd-sim), wall time only on disk.
    waiting_deadlines_[msg->id] = nsqd_.clock().now_ns() + delay_ns;
    backend_->mark_side_file_dirty();
    enqueue(std::move(msg));
    pump();
    return;
  }
  start_deferred(std::move(msg), nsqd_.clock().now_ns() + delay_ns);
}

bool Channel::durable() const { return nsqd_.options().durable && !ephemeral_ && nsqd_.file_system() != nullptr; }

void Channel::enqueue(MessagePtr msg) {
  // Durable mode: a message already read from this channel's disk queue (a requeue or timeout) is still there,
  // unacknowledged, so it waits in memory; new ones always go to disk.
  if (msg->disk_seq != 0 ||
      (!durable() && static_cast<std::int64_t>(memory_.size()) < nsqd_.options().mem_queue_size)) {
    memory_.push(std::move(msg));
    return;
  }
  std::string err = backend_->put_copy(*msg);
  if (!err.empty()) {
    nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): failed to write message to backend - " + err);
    // nsqd drops the message here (an acknowledged message lost to a disk fault); we keep it in memory, and in
    // durable mode the topic's next commit fails (sync_backend), so its read position stays before it.
    memory_.push(std::move(msg));
    put_error_ = err;
  }
  if (!ephemeral_) nsqd_.set_health(std::move(err));
  if (backend_->has_unflushed()) schedule_flush();
}

void Channel::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  nsqd_.defer([this, alive] {
    if (alive.expired()) return;
    flush_scheduled_ = false;
    std::string err = backend_->flush();
    if (err.empty()) return;
    // The records stay buffered (retain_unwritten) and are written again by the next flush or sync; in durable
    // mode the topic's next commit fails until they are on disk.
    nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): failed to write message to backend - " + err);
    put_error_ = err;
    if (!ephemeral_) nsqd_.set_health(std::move(err));
  });
}

bool Channel::holds_twin(const Message& m) const {
  if (in_flight_.empty() && deferred_.empty()) return false;
  const Message* twin = in_flight_.find(m.id);
  if (twin == nullptr) twin = deferred_.find(m.id);
  return twin != nullptr && twin->timestamp == m.timestamp && twin->body.view() == m.body.view();
}

MessagePtr Channel::pop_queued() {
  for (;;) {
    MessagePtr m;
    if (!memory_.empty()) {
      m = memory_.pop();
    } else {
      m = backend_->pop();
    }
    // After a crash the topic may replay a message into this channel again, or the channel's disk queue hold it
    // twice; while one copy is in flight or deferred here, a second with the same ID would only fail its FIN, so
    // it is dropped (and acked in durable mode). nsqd sends it, and the client's in-flight count, raised twice
    // and lowered once, then blocks that consumer for good (found by nsqd-sim --seed 9967: RDY 5, 6 counted in
    // flight, none in the channel). Only the same message is dropped (same timestamp and body).
    if (m && holds_twin(*m)) {
      if (m->disk_seq != 0) backend_->ack(m->disk_seq);
      continue;
    }
    if (!m || waiting_deadlines_.empty()) return m;
    // A deferred message (durable mode, or deferred when we shut down) goes back to waiting for its deadline.
    auto w = waiting_deadlines_.find(m->id);
    if (w == waiting_deadlines_.end()) return m;
    const std::int64_t due = w->second;
    waiting_deadlines_.erase(w);
    if (due <= nsqd_.clock().now_ns()) return m;
    start_deferred(std::move(m), due);
  }
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
  while (!memory_.empty() || backend_->readable()) {
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
    if (msg->disk_seq != 0) backend_->ack(msg->disk_seq);
    return;
  }
  ++msg->attempts;
  const std::int64_t now = nsqd_.now_ns();
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
  // nsqd's FinishMessage: end-to-end latency = now − publish timestamp (so queueing and retries count).
  if (e2e_) e2e_->insert(nsqd_.clock().wall_ns() - m->timestamp, nsqd_.clock().now_ns());
  in_flight_pq_.remove(m);
  if (m->disk_seq != 0) backend_->ack(m->disk_seq);  // durable mode: now the disk read position may pass it
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
  if (planted::bugs.req_loses_attempts) [[unlikely]] --msg->attempts;
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

TimingMap Channel::current_timing() const {
  TimingMap timing;
  const std::int64_t now = nsqd_.clock().now_ns();
  const std::int64_t wall = nsqd_.clock().wall_ns();
  for (const Message* m : deferred_pq_.items()) timing[m->id] = wall + (m->pri - now);
  for (const auto& [id, due] : waiting_deadlines_) timing[id] = wall + (due - now);
  return timing;
}

void Channel::start_deferred(MessagePtr msg, std::int64_t due_ns) {
  if (planted::bugs.deferred_early) [[unlikely]] due_ns -= (due_ns - nsqd_.clock().now_ns()) / 2;
  msg->pri = due_ns;
  msg->client_id = 0;
  Message* raw = msg.get();
  if (!deferred_.insert(msg)) {
    nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): ID already deferred, message dropped");
    return;
  }
  deferred_pq_.push(raw);
  // After the insert: marking may start a sync at once, and that sync's timing snapshot must hold this deadline
  // (found by nsqd-sim: marked first, a REQ delay could miss every later sync and be lost in a crash).
  if (durable()) backend_->mark_side_file_dirty();
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
    if (planted::bugs.timeout_not_requeued) [[unlikely]] continue;
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
  if (!ephemeral_) nsqd_.persist_metadata();
  for (Client* c : clients_) c->flush();
}

void Channel::unpause() {
  paused_ = false;
  if (!ephemeral_) nsqd_.persist_metadata();
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
  if (!planted::bugs.empty_keeps_client_in_flight) [[likely]] {
    for (Client* c : clients_) c->reset_in_flight();
  }
}

void Channel::sync_backend(std::function<void(std::string)> done) {
  std::string failed = std::move(put_error_);
  put_error_.clear();
  backend_->sync([done = std::move(done), failed = std::move(failed)](std::string err) {
    done(err.empty() ? failed : std::move(err));
  });
}

void Channel::remove_all() {
  empty();
  backend_->remove_all();
}

void Channel::close(std::function<void()> done) {
  // nsqd's Channel.flush: memory queue, then in-flight, then deferred messages, all to the disk queue.
  if (!memory_.empty() || !in_flight_.empty() || !deferred_.empty()) {
    nsqd_.log(seam::LogLevel::info, "CHANNEL(" + name_ + "): flushing " + std::to_string(memory_.size()) +
                                        " memory " + std::to_string(in_flight_.size()) + " in-flight " +
                                        std::to_string(deferred_.size()) + " deferred messages to backend");
  }
  auto write = [this](MessagePtr m) {
    if (std::string err = backend_->put(std::move(m)); !err.empty()) {
      nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): failed to write message to backend - " + err);
    }
  };
  while (MessagePtr m = memory_.pop()) {
    m->disk_seq = 0;  // a new record; the unacknowledged read it came from is acked below
    write(std::move(m));
  }
  // Oldest deadline first, so a restart sees them in the order they would have come due.
  auto by_pri = [](const Message* a, const Message* b) { return a->pri < b->pri; };
  std::vector<Message*> in_flight = in_flight_pq_.items();
  std::sort(in_flight.begin(), in_flight.end(), by_pri);
  for (const Message* m : in_flight) write(m->clone());
  std::vector<Message*> deferred = deferred_pq_.items();
  std::sort(deferred.begin(), deferred.end(), by_pri);
  for (const Message* m : deferred) write(m->clone());
  // Deferred messages keep their absolute deadline in the timing side file (plus any restored at start that
  // were not read back yet).
  TimingMap timing;
  backend_->set_side_file({}, {});  // the file written below is the final word
  const std::int64_t now = nsqd_.clock().now_ns();
  const std::int64_t wall = nsqd_.clock().wall_ns();
  for (const auto& [id, due] : waiting_deadlines_) timing[id] = wall + (due - now);
  waiting_deadlines_.clear();
  for (const Message* m : deferred) timing[m->id] = wall + (m->pri - now);
  // The copies just written replace the unacknowledged reads (durable mode); the sync below covers both.
  backend_->ack_all();
  auto remaining = std::make_shared<int>(2);
  auto one_done = [remaining, done = std::move(done)] {
    if (--*remaining == 0 && done) done();
  };
  if (ephemeral_) {
    one_done();
  } else {
    nsqd_.save_timing(topic_.name() + ":" + name_, timing, one_done);
  }
  backend_->close([this, one_done](const std::string& err) {
    if (!err.empty()) nsqd_.log(seam::LogLevel::error, "CHANNEL(" + name_ + "): failed to close backend - " + err);
    one_done();
  });
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
  if (e2e_) s.e2e_processing_latency = e2e_->result(nsqd_.clock().now_ns());
  s.client_count = static_cast<std::int64_t>(clients_.size());
  s.paused = paused_;
  if (include_clients) {
    for (const Client* c : clients_) s.clients.push_back(c->stats());
  }
  return s;
}

}  // namespace nsq
