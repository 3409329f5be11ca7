// nsqd-bench: a consuming connection. SUB, RDY n, then FIN every message; FINs of one read are
// written as one batch. Optionally reads the publisher's send stamp (first 8 body bytes) and
// records end-to-end latency. Graceful stop: CLS, keep FINing until CLOSE_WAIT plus a short
// quiet period, then close.
#pragma once

#include <atomic>
#include <cstdint>

#include "connection.h"
#include "histogram.h"

namespace nsqbench {

struct ConsumerConfig {
  std::string topic = "bench";
  std::string channel = "bench";
  std::uint64_t rdy = 2500;
  bool latency = false;
  std::uint64_t nonce = 0;  // if non-zero, only bodies carrying it in bytes 8..15 are latency samples
  std::chrono::milliseconds drain_quiet{200};  // after CLOSE_WAIT, close after this long without messages
};

class Consumer final : public Connection {
 public:
  Consumer(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions id, std::string name,
           ConsumerConfig cfg);

  std::uint64_t msgs() const { return msgs_pub_.load(std::memory_order_relaxed); }
  std::uint64_t bytes() const { return bytes_pub_.load(std::memory_order_relaxed); }
  // Monotonic ns of the last read that carried messages (0 = none yet).
  std::int64_t last_msg_ns() const { return last_msg_ns_.load(std::memory_order_relaxed); }
  // Only read after the io thread has been joined.
  const LatencyHistogram& histogram() const { return hist_; }
  // Messages without a usable stamp (too short, from another run, or stamped in the future).
  std::uint64_t bad_stamps() const { return bad_stamps_; }

 protected:
  void on_identified() override;
  void on_response(std::string_view data) override;
  void on_message(const Message& msg) override;
  void on_read_done() override;
  void on_stop() override;

 private:
  enum class State { kIdentified, kSubscribing, kRunning, kClosing, kClosed };
  void arm_drain();

  ConsumerConfig cfg_;
  State state_ = State::kIdentified;
  bool stop_requested_ = false;
  bool close_wait_seen_ = false;
  asio::steady_timer drain_timer_;
  std::uint64_t msgs_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t msgs_in_read_ = 0;
  std::int64_t read_now_ns_ = 0;
  bool record_ = false;
  std::uint64_t bad_stamps_ = 0;
  LatencyHistogram hist_;
  std::atomic<std::uint64_t> msgs_pub_{0};
  std::atomic<std::uint64_t> bytes_pub_{0};
  std::atomic<std::int64_t> last_msg_ns_{0};
};

}  // namespace nsqbench
