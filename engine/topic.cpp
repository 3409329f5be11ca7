#include "engine/topic.h"

#include "engine/names.h"
#include "engine/nsqd.h"

namespace nsq {

Topic::Topic(NSQD& nsqd, std::string name)
    : nsqd_(nsqd), name_(std::move(name)), ephemeral_(is_ephemeral_name(name_)), guid_(nsqd.options().node_id) {
  if (ephemeral_) {
    backend_ = std::make_unique<DiscardQueue>();
  } else {
    backend_ = std::make_unique<OverflowMemoryQueue>();
  }
}

Topic::~Topic() = default;

MessagePtr Topic::new_message(std::string_view body, std::int64_t defer_ns) {
  auto m = std::make_unique<Message>();
  const std::int64_t wall = nsqd_.clock().wall_ns();
  m->id = guid_.next(wall);
  m->timestamp = wall;
  m->body = BodyRef(body);
  m->deferred_ns = defer_ns;
  return m;
}

std::string Topic::put(MessagePtr msg) {
  ++message_count_;
  message_bytes_ += msg->body.size();
  if (!paused_ && !channels_.empty() && memory_.empty() && backend_->depth() == 0) {
    fan_out(std::move(msg));
  } else {
    enqueue(std::move(msg));
  }
  return {};
}

void Topic::enqueue(MessagePtr msg) {
  if (static_cast<std::int64_t>(memory_.size()) < nsqd_.options().mem_queue_size) {
    memory_.push_back(std::move(msg));
    return;
  }
  if (std::string err = backend_->put(std::move(msg)); !err.empty()) {
    nsqd_.log(seam::LogLevel::error, "TOPIC(" + name_ + "): failed to write message to backend - " + err);
    nsqd_.set_health(err);
  }
}

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
  while (!paused_ && !channels_.empty()) {
    MessagePtr m;
    if (!memory_.empty()) {
      m = std::move(memory_.front());
      memory_.pop_front();
    } else {
      m = backend_->pop();
    }
    if (!m) break;
    fan_out(std::move(m));
  }
}

Channel& Topic::get_channel(std::string_view name) {
  auto it = channels_.find(name);
  if (it != channels_.end()) return *it->second;
  auto [ins, _] = channels_.emplace(std::string(name), std::make_unique<Channel>(nsqd_, *this, std::string(name)));
  nsqd_.log(seam::LogLevel::info, "TOPIC(" + name_ + "): new channel(" + std::string(name) + ")");
  Channel& ch = *ins->second;
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
  nsqd_.log(seam::LogLevel::info, "TOPIC(" + name_ + "): deleting channel " + ch->name());
  ch->close_clients();
  ch->empty();
  ch.reset();
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

void Topic::pause() { paused_ = true; }

void Topic::unpause() {
  paused_ = false;
  drain();
}

void Topic::empty() {
  memory_.clear();
  backend_->empty();
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
  return s;
}

}  // namespace nsq
