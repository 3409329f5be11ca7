#include "engine/topic.h"

#include <algorithm>

#include "engine/lookupd_channels.h"
#include "engine/names.h"
#include "engine/nsqd.h"

namespace nsq {

Topic::Topic(NSQD& nsqd, std::string name)
    : nsqd_(nsqd),
      name_(std::move(name)),
      ephemeral_(is_ephemeral_name(name_)),
      started_(!nsqd.loading()),
      guid_(nsqd.options().node_id, &nsqd.id_lease()) {
  backend_ = nsqd_.make_backend(name_, ephemeral_);
  if (!ephemeral_) restored_timing_ = nsqd_.take_timing(name_);
  if (durable()) {
    // Durable mode: DPUB delays of messages on the topic's disk queue are written with each of its syncs, so a
    // DPUB's OK (which waits for that sync) means its delay survives a crash too.
    backend_->set_side_file(nsqd_.timing_path(name_), [this] { return encode_timing(restored_timing_); });
    if (!restored_timing_.empty()) backend_->mark_side_file_dirty();
  }
}

Topic::~Topic() {
  // Publishers still waiting for a durable OK get nsqd's answer for a topic that went away, never silence. Not
  // while the engine itself is being torn down (its clients are gone).
  if (durable_waiters_.empty() || nsqd_.exiting()) return;
  for (auto& [id, done] : durable_waiters_) {
    nsqd_.defer([done = std::move(done)] { done(std::string(kTopicExiting)); });
  }
}

MessagePtr Topic::new_message(std::string_view body, std::int64_t defer_ns) {
  auto m = std::make_unique<Message>();
  const std::int64_t wall = nsqd_.wall_ns();
  m->id = guid_.next(wall);
  m->timestamp = wall;
  m->body = BodyRef(body);
  m->deferred_ns = defer_ns;
  return m;
}

std::string Topic::put(MessagePtr msg) {
  const std::size_t bytes = msg->body.size();
  // With --mem-queue-size=0 nsqd sends a normal message through the disk queue even when a channel could take
  // it now (consistent ordering); deferred and ephemeral ones still try the zero-capacity hand-off.
  // Durable mode: every message is on the topic's disk queue before anything else happens to it.
  const bool hand_off =
      ephemeral_ || (!durable() && (nsqd_.options().mem_queue_size > 0 || msg->deferred_ns != 0));
  if (hand_off && started_ && !paused_ && !closing_ && !channels_.empty() && memory_.empty() &&
      !backend_->readable()) {
    fan_out(std::move(msg));
  } else {
    if (std::string err = enqueue(std::move(msg)); !err.empty()) {
      uncount_unflushed();  // an implicit flush failed: what was buffered is gone too
      return err;
    }
    // Buffered in the disk queue: the channels get it once it is written (flush_puts), never before, so a
    // failed write is never seen by a consumer.
    if (backend_->has_unflushed()) {
      ++unflushed_msgs_;
      unflushed_bytes_ += bytes;
      schedule_flush();
    } else {
      unflushed_msgs_ = unflushed_bytes_ = 0;
      drain();
    }
  }
  ++message_count_;
  message_bytes_ += bytes;
  return {};
}

bool Topic::durable() const { return nsqd_.options().durable && !ephemeral_ && nsqd_.file_system() != nullptr; }

void Topic::when_durable(std::function<void(std::string)> done) {
  if (!durable()) {
    done({});
    return;
  }
  const std::uint64_t id = ++last_waiter_;
  durable_waiters_.emplace(id, std::move(done));
  std::weak_ptr<bool> alive = alive_;
  backend_->sync([this, alive, id](const std::string& err) {
    if (alive.expired()) return;
    auto it = durable_waiters_.find(id);
    if (it == durable_waiters_.end()) return;
    auto fn = std::move(it->second);
    durable_waiters_.erase(it);
    fn(err);
  });
}

std::string Topic::enqueue(MessagePtr msg) {
  if (!durable() && static_cast<std::int64_t>(memory_.size()) < nsqd_.options().mem_queue_size) {
    memory_.push(std::move(msg));
    return {};
  }
  const MessageID id = msg->id;
  const std::int64_t defer_ns = msg->deferred_ns;
  std::string err = backend_->put(std::move(msg));
  if (!err.empty()) {
    nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): failed to write message to backend - " + err);
  } else if (defer_ns > 0 && !ephemeral_) {
    // The disk record cannot hold the DPUB delay (nsqd loses it here, #674); keep it until the message is read.
    restored_timing_[id] = defer_ns;
    if (durable()) backend_->mark_side_file_dirty();
  }
  if (!ephemeral_) nsqd_.set_health(err);
  return err;
}

std::string Topic::flush_puts() {
  const bool had = unflushed_msgs_ > 0;
  std::string err = backend_->flush();
  if (!err.empty()) {
    nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): failed to write message to backend - " + err);
    uncount_unflushed();
  }
  unflushed_msgs_ = unflushed_bytes_ = 0;
  if ((had || !err.empty()) && !ephemeral_) nsqd_.set_health(err);
  drain();
  return err;
}

void Topic::uncount_unflushed() {
  message_count_ -= std::min(message_count_, unflushed_msgs_);
  message_bytes_ -= std::min(message_bytes_, unflushed_bytes_);
  unflushed_msgs_ = unflushed_bytes_ = 0;
}

void Topic::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  nsqd_.defer([this, alive] {
    if (alive.expired()) return;
    flush_scheduled_ = false;
    flush_puts();
  });
}

std::int64_t Topic::depth() const { return static_cast<std::int64_t>(memory_.size()) + backend_->depth(); }
std::int64_t Topic::backend_depth() const { return backend_->depth(); }

void Topic::fan_out(MessagePtr msg) {
  // Every channel gets its own Message sharing the body; the last one takes the original.
  std::size_t left = channels_.size();
  for (auto& [name, ch] : channels_) {
    MessagePtr copy = --left == 0 ? std::move(msg) : msg->clone();
    ch->count_message();
    if (copy->deferred_ns > 0) {
      const std::int64_t delay = copy->deferred_ns;
      ch->put_deferred(std::move(copy), delay);
    } else {
      ch->put(std::move(copy));
    }
  }
}

void Topic::drain() {
  while (started_ && !closing_ && !paused_ && !channels_.empty()) {
    MessagePtr m;
    if (!memory_.empty()) {
      m = memory_.pop();
    } else {
      m = backend_->pop();
      // A DPUB still waiting in the topic at the last clean shutdown gets its delay back.
      if (m && !restored_timing_.empty()) {
        if (auto it = restored_timing_.find(m->id); it != restored_timing_.end()) {
          m->deferred_ns = it->second;
          restored_timing_.erase(it);
        }
      }
    }
    if (!m) break;
    if (m->disk_seq != 0) {
      to_ack_.push_back(m->disk_seq);
      m->disk_seq = 0;  // the topic's read, not the channels'
    }
    fan_out(std::move(m));
  }
  if (!to_ack_.empty()) commit_fan_out();
}

void Topic::commit_fan_out() {
  // Durable mode: the topic's read position may pass these messages only once every channel's copy is durable.
  if (commit_running_) return;  // the running commit picks up to_ack_ when it finishes
  commit_running_ = true;
  auto seqs = std::make_shared<std::vector<std::uint64_t>>(std::move(to_ack_));
  to_ack_.clear();
  auto remaining = std::make_shared<std::size_t>(1);
  auto failed = std::make_shared<bool>(false);
  std::weak_ptr<bool> alive = alive_;
  auto one_done = [this, alive, remaining, failed, seqs](const std::string& err) {
    if (!err.empty()) *failed = true;
    if (--*remaining != 0 || alive.expired()) return;
    commit_running_ = false;
    if (*failed) {
      // Left unacknowledged: a restart replays them into the channels (at least once).
      nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): channel sync failed, topic read position held");
    } else {
      for (std::uint64_t s : *seqs) backend_->ack(s);
    }
    if (!to_ack_.empty()) commit_fan_out();
  };
  for (auto& [name, ch] : channels_) {
    ++*remaining;
    ch->sync_backend(one_done);
  }
  one_done({});
}

Channel& Topic::get_channel(std::string_view name) {
  auto it = channels_.find(name);
  if (it != channels_.end()) return *it->second;
  auto [ins, _] = channels_.emplace(std::string(name), std::make_unique<Channel>(nsqd_, *this, std::string(name)));
  nsqd_.topology_changed();
  nsqd_.log(seam::LogLevel::info, "TOPIC(" + name_ + "): new channel(" + std::string(name) + ")");
  nsqd_.announce(true, name_, std::string(name));
  Channel& ch = *ins->second;
  if (!ch.ephemeral()) nsqd_.persist_metadata();
  drain();
  return ch;
}

Channel* Topic::find_channel(std::string_view name) {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

bool Topic::delete_channel(std::string_view name) {
  auto it = channels_.find(name);
  if (it == channels_.end()) return false;
  std::unique_ptr<Channel> ch = std::move(it->second);
  channels_.erase(it);
  nsqd_.topology_changed();
  nsqd_.log(seam::LogLevel::info, "TOPIC(" + name_ + "): deleting channel " + ch->name());
  nsqd_.announce(false, name_, ch->name());
  ch->close_clients();
  ch->remove_all();
  const bool persisted = !ch->ephemeral();
  ch.reset();
  if (persisted) nsqd_.persist_metadata();
  // An ephemeral topic goes away with its last channel.
  if (ephemeral_ && channels_.empty()) nsqd_.maybe_delete_ephemeral_topic(this);
  return true;
}

void Topic::schedule_ephemeral_check(const std::string& channel_name) {
  std::string topic_name = name_;
  NSQD* nsqd = &nsqd_;
  nsqd_.defer([nsqd, topic_name, channel_name] {
    Topic* t = nsqd->find_topic(topic_name);
    if (t == nullptr) return;
    Channel* c = t->find_channel(channel_name);
    if (c != nullptr && c->ephemeral() && c->client_count() == 0) t->delete_channel(channel_name);
  });
}

void Topic::pause() {
  paused_ = true;
  if (!ephemeral_) nsqd_.persist_metadata();
}

void Topic::unpause() {
  paused_ = false;
  if (!ephemeral_) nsqd_.persist_metadata();
  drain();
}

void Topic::start() {
  started_ = true;
  drain();
}

void Topic::precreate_channels(const std::vector<std::string>& lookupd_http_addresses) {
  started_ = false;
  std::weak_ptr<bool> alive = alive_;
  precreation_ = std::make_shared<LookupdChannelQuery>(
      nsqd_, name_, lookupd_http_addresses,
      [this, alive](std::vector<std::string> channels, std::string error) {
        if (alive.expired()) return;
        // The query object is on the call stack: release it after this handler.
        auto done_query = std::move(precreation_);
        nsqd_.defer([done_query] {});
        if (nsqd_.exiting() || closing_) return;  // shut down meanwhile: its state is already on disk
        if (!error.empty()) {
          nsqd_.log(seam::LogLevel::warn,
                    "failed to query nsqlookupd for channels to pre-create for topic " + name_ + " - " + error);
        }
        for (const std::string& c : channels) {
          if (is_ephemeral_name(c)) continue;  // no ephemeral channel without a consumer
          if (!is_valid_channel_name(c)) {
            nsqd_.log(seam::LogLevel::warn, "TOPIC(" + name_ + "): skipping invalid channel name from nsqlookupd " + c);
            continue;
          }
          get_channel(c);
        }
        start();
      });
}

void Topic::empty() {
  memory_.clear();
  backend_->empty();
}

void Topic::remove_all() {
  memory_.clear();
  backend_->remove_all();
}

void Topic::close(std::function<void()> done) {
  closing_ = true;
  // Channels first; the topic's own queue is closed once they are durable, so that in durable mode the topic's
  // read position moves past what it handed them only then.
  auto channels_left = std::make_shared<std::size_t>(1);
  auto channels_done = [this, channels_left, done = std::move(done)]() mutable {
    if (--*channels_left == 0) close_own_queue(std::move(done));
  };
  for (auto& [name, ch] : channels_) {
    ++*channels_left;
    ch->close(channels_done);
  }
  channels_done();
}

void Topic::close_own_queue(std::function<void()> done) {
  auto remaining = std::make_shared<std::size_t>(1);
  auto one_done = [remaining, done = std::move(done)] {
    if (--*remaining == 0 && done) done();
  };
  backend_->ack_all();
  to_ack_.clear();
  if (!memory_.empty()) {
    nsqd_.log(seam::LogLevel::info,
              "TOPIC(" + name_ + "): flushing " + std::to_string(memory_.size()) + " memory messages to backend");
  }
  TimingMap timing = std::move(restored_timing_);
  restored_timing_.clear();
  backend_->set_side_file({}, {});  // the file written below is the final word
  while (MessagePtr m = memory_.pop()) {
    if (m->deferred_ns > 0) timing[m->id] = m->deferred_ns;
    if (std::string err = backend_->put(std::move(m)); !err.empty()) {
      nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): failed to write message to backend - " + err);
    }
  }
  if (!ephemeral_) {
    ++*remaining;
    nsqd_.save_timing(name_, timing, one_done);
  }
  ++*remaining;
  backend_->close([this, one_done](const std::string& err) {
    if (!err.empty()) nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): failed to close backend - " + err);
    one_done();
  });
  one_done();
}

void Topic::close_all_clients() {
  for (auto& [name, ch] : channels_) ch->close_clients();
}

TopicStats Topic::stats(std::string_view channel_filter, bool include_clients) const {
  TopicStats s;
  s.topic_name = name_;
  s.depth = depth();
  s.backend_depth = backend_depth();
  s.message_count = message_count_;
  s.message_bytes = message_bytes_;
  s.paused = paused_;
  for (const auto& [name, ch] : channels_) {
    if (!channel_filter.empty() && name != channel_filter) continue;
    s.channels.push_back(ch->stats(include_clients));
  }
  // nsqd's AggregateChannelE2eProcessingLatency: the merge of every channel's streams (filter or not); none
  // (no channels, or the feature off) leaves count 0 and no percentiles.
  std::unique_ptr<E2eLatency> aggregate;
  const std::int64_t now = nsqd_.clock().now_ns();
  for (const auto& [name, ch] : channels_) {
    E2eLatency* e2e = ch->e2e_latency();
    if (e2e == nullptr) continue;
    if (!aggregate) {
      aggregate = std::make_unique<E2eLatency>(e2e->quantiles(), nsqd_.options().e2e_processing_latency_window_time,
                                               now);
    }
    aggregate->merge_from(*e2e, now);
  }
  if (aggregate) s.e2e_processing_latency = aggregate->result(now);
  return s;
}

}  // namespace nsq
