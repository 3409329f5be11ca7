#include "publisher.h"

#include <chrono>
#include <cmath>

namespace nsqbench {

Publisher::Publisher(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions id,
                     std::string name, std::shared_ptr<const BatchTemplate> batch, PublisherConfig cfg)
    : Connection(io, run, std::move(ep), std::move(id), std::move(name)),
      batch_(std::move(batch)),
      cfg_(std::move(cfg)),
      timer_(io) {
  if (cfg_.max_in_flight == 0) cfg_.max_in_flight = 1;
  if (cfg_.rate > 0) {
    interval_ns_ = static_cast<std::int64_t>(std::llround(1e9 * static_cast<double>(batch_->count()) / cfg_.rate));
    if (interval_ns_ < 1) interval_ns_ = 1;
  }
}

void Publisher::on_identified() {
  set_ready();
  next_due_ns_ = mono_ns();
  pump();
}

void Publisher::pump() {
  if (stopping_ || closing()) return;
  const std::size_t n = batch_->count();
  std::int64_t now = (cfg_.stamp || interval_ns_ > 0) ? mono_ns() : 0;
  while (in_flight_ < cfg_.max_in_flight) {
    std::int64_t stamp = -1;
    if (interval_ns_ > 0) {
      if (now < next_due_ns_) {
        if (!timer_armed_) {
          timer_armed_ = true;
          timer_.expires_after(std::chrono::nanoseconds(next_due_ns_ - now));
          timer_.async_wait([self = std::static_pointer_cast<Publisher>(shared_from_this())](
                                const boost::system::error_code& ec) {
            self->timer_armed_ = false;
            if (!ec) self->pump();
          });
        }
        break;
      }
      // Stamp the scheduled time, so a stalled client/server shows up as latency
      // (no coordinated omission).
      stamp = next_due_ns_;
      next_due_ns_ += interval_ns_;
    } else if (cfg_.stamp) {
      stamp = now;
    }
    batch_->append_to(out(), cfg_.stamp ? stamp : -1);
    ++in_flight_;
    sent_.fetch_add(n, std::memory_order_relaxed);
  }
  flush();
}

void Publisher::on_response(std::string_view data) {
  if (data != "OK") {
    fail("unexpected response to PUB/MPUB: " + std::string(data));
    return;
  }
  if (in_flight_ == 0) {
    fail("protocol error: OK without an outstanding publish");
    return;
  }
  --in_flight_;
  acked_.fetch_add(batch_->count(), std::memory_order_relaxed);
  if (stopping_) {
    if (in_flight_ == 0) close_after_flush();
    return;
  }
  pump();
}

void Publisher::on_stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  if (in_flight_ == 0) close_after_flush();
}

}  // namespace nsqbench
