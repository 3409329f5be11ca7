// Topic: receives published messages and copies each to every channel that exists when it is handed over.
// With no channel (or while paused) messages wait in the topic's own memory queue (overflowing to its backend)
// and the first channel to appear receives the backlog.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend_queue.h"
#include "engine/channel.h"
#include "engine/guid.h"
#include "engine/memory_queue.h"
#include "engine/message.h"
#include "engine/stats.h"
#include "engine/timing_file.h"

namespace nsq {

class NSQD;
class LookupdChannelQuery;

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
  // Returns "" or an error text. A message put into the disk queue may only be buffered there: publishers call
  // flush_puts() before answering (it runs after the current handler anyway).
  std::string put(MessagePtr msg);
  // Writes the messages put() buffered in the disk queue with one write, then hands them to the channels.
  // Returns "" or the write error (those messages are lost, as if put() had failed).
  std::string flush_puts();

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
  // false while a topic created at run time waits for nsqlookupd's channel list (nothing is delivered yet).
  bool started() const { return started_; }
  // Drops the topic's own queued messages (channels untouched).
  void empty();
  // Deletion: drops the topic's own queued messages and deletes its disk queue files.
  void remove_all();
  void close_all_clients();
  // Metadata load creates a topic stopped, so that all of its channels exist before the backlog is handed out.
  void start();
  // Run-time creation with nsqlookupd: stops the topic, asks lookupd (HTTP addresses) for the topic's channels,
  // creates the non-ephemeral ones, then starts. Messages published meanwhile wait in the topic.
  void precreate_channels(const std::vector<std::string>& lookupd_http_addresses);
  // Clean shutdown: closes every channel (flushing it to disk), then writes the memory queue to the disk queue
  // and syncs it; done runs once all of that is durable.
  void close(std::function<void()> done);
  // Durable mode: done(error or "") once every message put so far is fsynced (group commit: all publishes that
  // arrive while one sync runs share the next). At once ("") otherwise.
  // done("") once everything put so far is fsynced; done(error) if that fails, or kTopicExiting if the topic is
  // deleted first.
  void when_durable(std::function<void(std::string)> done);
  static constexpr const char* kTopicExiting = "exiting";
  bool durable() const;

  std::int64_t depth() const;
  std::int64_t backend_depth() const;
  std::uint64_t message_count() const { return message_count_; }
  std::uint64_t message_bytes() const { return message_bytes_; }
  TopicStats stats(std::string_view channel_filter, bool include_clients) const;

 private:
  void fan_out(MessagePtr msg);
  void drain();  // hand queued messages to the channels while there are channels and not paused
  std::string enqueue(MessagePtr msg);  // "" or the backend's write error
  void commit_fan_out();
  void schedule_flush();
  bool flush_scheduled_ = false;
  // Messages (and body bytes) put() buffered in the disk queue and counted, not yet written: a failed write
  // takes them back out of the counts.
  std::uint64_t unflushed_msgs_ = 0;
  std::uint64_t unflushed_bytes_ = 0;
  void uncount_unflushed();
  void close_own_queue(std::function<void()> done);

  NSQD& nsqd_;
  std::string name_;
  bool ephemeral_;
  bool paused_ = false;
  bool started_ = true;
  bool closing_ = false;
  GuidFactory guid_;
  MemoryQueue memory_;
  std::unique_ptr<BackendQueue> backend_;
  std::vector<std::uint64_t> to_ack_;  // durable mode: disk reads fanned out, waiting for the channels' sync
  bool commit_running_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<std::uint64_t, std::function<void(std::string)>> durable_waiters_;  // publishes awaiting their fsync
  std::uint64_t last_waiter_ = 0;
  TimingMap restored_timing_;  // DPUB delays of messages on the topic's disk queue (restored or overflowed)
  std::map<std::string, std::unique_ptr<Channel>, std::less<>> channels_;
  std::shared_ptr<LookupdChannelQuery> precreation_;  // the running channel query; destroying it cancels it
  std::uint64_t message_count_ = 0;
  std::uint64_t message_bytes_ = 0;
};

}  // namespace nsq
