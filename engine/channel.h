// Channel: one consumer group of a topic. Holds a memory queue (overflowing to a backend queue), the in-flight
// queue (messages delivered and not yet FINished, ordered by timeout) and the deferred queue (ordered by due
// time), and the clients subscribed to it. Delivery: a message goes to the next ready client in round-robin
// order; a client is ready while the channel is not paused and its in-flight count is below its RDY.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend_queue.h"
#include "engine/e2e_latency.h"
#include "engine/in_flight_pqueue.h"
#include "engine/memory_queue.h"
#include "engine/message_map.h"
#include "engine/message.h"
#include "engine/stats.h"
#include "engine/timing_file.h"

namespace nsq {

class NSQD;
class Topic;
class Client;

class Channel {
 public:
  Channel(NSQD& nsqd, Topic& topic, std::string name);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const std::string& name() const { return name_; }
  Topic& topic() { return topic_; }
  bool ephemeral() const { return ephemeral_; }

  // From the topic: a message to queue or deliver now; or to hold until delay_ns has passed.
  void put(MessagePtr msg);
  void put_deferred(MessagePtr msg, std::int64_t delay_ns);
  void count_message() { ++message_count_; }

  // Clients. add_client returns "" or nsqd's error text.
  std::string add_client(Client* client);
  void remove_client(Client* client);
  // Delivers queued messages while some client is ready.
  void pump();

  // From a client's FIN / REQ / TOUCH: "" or nsqd's reason ("ID not in flight", "client does not own message").
  std::string finish(std::uint64_t client_id, const MessageID& id);
  std::string requeue(std::uint64_t client_id, const MessageID& id, std::int64_t timeout_ns);
  std::string touch(std::uint64_t client_id, const MessageID& id, std::int64_t client_msg_timeout_ns);

  // Queue scan: expire in-flight messages and release due deferred ones. Returns true if anything was due.
  bool process_queues(std::int64_t now_ns);
  bool has_timed_work() const { return !in_flight_pq_.empty() || !deferred_pq_.empty(); }
  std::int64_t next_deadline() const;
  int scan_index = -1;  // position in the queue scanner's active list

  void pause();
  void unpause();
  bool paused() const { return paused_; }
  // Drops queued, in-flight and deferred messages; every client's in-flight count goes to 0.
  void empty();
  // Force-closes every subscriber (channel deletion, shutdown).
  void close_clients();
  // Deletion: empty() plus deleting the disk queue's files.
  void remove_all();
  // Durable mode: done(error or "") once everything put to the disk queue so far is durable.
  void sync_backend(std::function<void(std::string)> done);
  bool durable() const;
  // Clean shutdown: writes the memory queue, then in-flight, then deferred messages to the disk queue and syncs
  // it; done runs once they are durable.
  void close(std::function<void()> done);

  std::int64_t depth() const { return static_cast<std::int64_t>(memory_.size()) + backend_->depth(); }
  std::int64_t backend_depth() const { return backend_->depth(); }
  std::size_t in_flight_count() const { return in_flight_.size(); }
  std::size_t deferred_count() const { return deferred_.size(); }
  std::size_t client_count() const { return clients_.size(); }
  const std::vector<Client*>& clients() const { return clients_; }  // what stats() reports, in its order
  std::uint64_t message_count() const { return message_count_; }
  std::uint64_t requeue_count() const { return requeue_count_; }
  std::uint64_t timeout_count() const { return timeout_count_; }
  ChannelStats stats(bool include_clients) const;
  // The e2e processing-latency streams (null when disabled), for the topic's aggregate.
  E2eLatency* e2e_latency() const { return e2e_.get(); }

 private:
  void enqueue(MessagePtr msg);
  MessagePtr pop_queued();
  // The same message (ID, timestamp, body) is already in flight or deferred here: a crash replay's duplicate.
  bool holds_twin(const Message& m) const;
  Client* next_ready_client();
  void deliver(MessagePtr msg, Client* client);
  Message* find_in_flight(std::uint64_t client_id, const MessageID& id, std::string& err);
  void start_deferred(MessagePtr msg, std::int64_t due_ns);
  void update_scan_membership();
  // Writes the disk queue's buffered appends after the current handler (one write per event-loop turn).
  void schedule_flush();
  bool flush_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  NSQD& nsqd_;
  Topic& topic_;
  std::string name_;
  bool ephemeral_;
  bool paused_ = false;
  bool pumping_ = false;

  MemoryQueue memory_;
  std::unique_ptr<BackendQueue> backend_;
  MessageMap in_flight_;
  InFlightPqueue in_flight_pq_;
  MessageMap deferred_;
  InFlightPqueue deferred_pq_;

  // Deadlines (monotonic ns) of deferred messages on the disk queue, by ID: restored from the timing file at
  // start, or (durable mode) written there by put_deferred; pop_queued() defers them again when read back.
  TimingMap waiting_deadlines_;
  std::string put_error_;  // a backend write failed since the last sync_backend(): that commit must fail too
  // Durable mode: every deferred deadline (restored, on disk, in memory), written with each disk-queue sync so a
  // crash keeps them too.
  TimingMap current_timing() const;
  std::vector<Client*> clients_;  // subscription order; delivery round-robins over it
  std::size_t next_client_ = 0;

  std::uint64_t message_count_ = 0;
  std::uint64_t requeue_count_ = 0;
  std::uint64_t timeout_count_ = 0;

  // FIN latency quantiles; null unless --e2e-processing-latency-percentile is given.
  std::unique_ptr<E2eLatency> e2e_;
};

}  // namespace nsq
