// nsqd-bench: a publishing connection. Sends PUB (batch 1) or MPUB batches built from one
// pre-encoded template, keeps up to `max_in_flight` batches outstanding (pipelined, each answered
// by one OK in order), optionally paced to a fixed rate, optionally stamping every body with the
// send time (monotonic ns, big-endian, first 8 bytes) for end-to-end latency.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "connection.h"

namespace nsqbench {

struct PublisherConfig {
  std::string topic = "bench";
  std::size_t batch_size = 200;
  std::size_t msg_size = 200;
  std::size_t max_in_flight = 4;   // batches awaiting OK
  double rate = 0;                 // msgs/s for this connection; 0 = unlimited
  bool stamp = false;              // write send time into each body
};

class Publisher final : public Connection {
 public:
  Publisher(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions id, std::string name,
            std::shared_ptr<const BatchTemplate> batch, PublisherConfig cfg);

  std::uint64_t acked_msgs() const { return acked_.load(std::memory_order_relaxed); }
  std::uint64_t sent_msgs() const { return sent_.load(std::memory_order_relaxed); }

 protected:
  void on_identified() override;
  void on_response(std::string_view data) override;
  void on_stop() override;

 private:
  void pump();

  std::shared_ptr<const BatchTemplate> batch_;
  PublisherConfig cfg_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  bool stopping_ = false;
  std::size_t in_flight_ = 0;
  std::int64_t interval_ns_ = 0;  // per batch when rate-limited
  std::int64_t next_due_ns_ = 0;
  std::atomic<std::uint64_t> acked_{0};
  std::atomic<std::uint64_t> sent_{0};
};

}  // namespace nsqbench
