// Topic: receives published messages and copies each to every channel that exists when it is handed over.
// With no channel (or while paused) messages wait in the topic's own memory queue (overflowing to its backend)
// and the first channel to appear receives the backlog.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend_queue.h"
#include "engine/channel.h"
#include "engine/guid.h"
#include "engine/message.h"
#include "engine/stats.h"

namespace nsq {

class NSQD;

class Topic {
 public:
  Topic(NSQD& nsqd, std::string name);
  ~Topic();
  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;

  const std::string& name() const { return name_; }
  bool ephemeral() const { return ephemeral_; }

  // A new message with this topic's next ID and the current wall-clock timestamp.
  MessagePtr new_message(std::string_view body, std::int64_t defer_ns = 0);
  // Returns "" or an error text.
  std::string put(MessagePtr msg);

  Channel& get_channel(std::string_view name);  // creates if absent
  Channel* find_channel(std::string_view name);
  // Closes the channel's clients, drops its messages and removes it. Returns false if absent.
  bool delete_channel(std::string_view name);
  std::size_t channel_count() const { return channels_.size(); }
  const std::map<std::string, std::unique_ptr<Channel>, std::less<>>& channels() const { return channels_; }
  // An ephemeral channel may have lost its last client: delete it after the current handler.
  void schedule_ephemeral_check(const std::string& channel_name);

  void pause();
  void unpause();
  bool paused() const { return paused_; }
  // Drops the topic's own queued messages (channels untouched).
  void empty();
  void close_all_clients();

  std::int64_t depth() const { return static_cast<std::int64_t>(memory_.size()) + backend_->depth(); }
  std::int64_t backend_depth() const { return backend_->depth(); }
  std::uint64_t message_count() const { return message_count_; }
  std::uint64_t message_bytes() const { return message_bytes_; }
  TopicStats stats(std::string_view channel_filter, bool include_clients) const;

 private:
  void fan_out(MessagePtr msg);
  void drain();  // hand queued messages to the channels while there are channels and not paused
  void enqueue(MessagePtr msg);

  NSQD& nsqd_;
  std::string name_;
  bool ephemeral_;
  bool paused_ = false;
  GuidFactory guid_;
  std::deque<MessagePtr> memory_;
  std::unique_ptr<BackendQueue> backend_;
  std::map<std::string, std::unique_ptr<Channel>, std::less<>> channels_;
  std::uint64_t message_count_ = 0;
  std::uint64_t message_bytes_ = 0;
};

}  // namespace nsq
