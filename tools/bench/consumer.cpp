#include "consumer.h"

namespace nsqbench {

Consumer::Consumer(asio::io_context& io, RunState& run, tcp::endpoint ep, IdentifyOptions id,
                   std::string name, ConsumerConfig cfg)
    : Connection(io, run, std::move(ep), std::move(id), std::move(name)), cfg_(std::move(cfg)), drain_timer_(io) {}

void Consumer::on_identified() {
  if (stop_requested_) {
    close_after_flush();
    return;
  }
  encode_sub(out(), cfg_.topic, cfg_.channel);
  state_ = State::kSubscribing;
}

void Consumer::on_response(std::string_view data) {
  if (state_ == State::kSubscribing && data == "OK") {
    encode_rdy(out(), cfg_.rdy);
    state_ = State::kRunning;
    set_ready();
    if (stop_requested_) on_stop();
    return;
  }
  if (state_ == State::kClosing && data == "CLOSE_WAIT") {
    close_wait_seen_ = true;
    arm_drain();
    return;
  }
  fail("unexpected response: " + std::string(data));
}

void Consumer::on_message(const Message& m) {
  if (msgs_in_read_ == 0) {
    read_now_ns_ = mono_ns();
    record_ = cfg_.latency && run_.measuring.load(std::memory_order_relaxed);
  }
  ++msgs_in_read_;
  ++msgs_;
  bytes_ += m.body.size();
  encode_fin(out(), m.id);
  if (record_) {
    if (m.body.size() >= 8 && (cfg_.nonce == 0 || (m.body.size() >= 16 && get_be64(m.body.data() + 8) == cfg_.nonce))) {
      const auto sent = static_cast<std::int64_t>(get_be64(m.body.data()));
      const std::int64_t d = read_now_ns_ - sent;
      if (d >= 0 && sent > 0) {
        hist_.record(static_cast<std::uint64_t>(d));
      } else {
        ++bad_stamps_;
      }
    } else {
      ++bad_stamps_;
    }
  }
}

void Consumer::on_read_done() {
  if (msgs_in_read_ == 0) return;
  msgs_in_read_ = 0;
  msgs_pub_.store(msgs_, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  last_msg_ns_.store(read_now_ns_, std::memory_order_relaxed);
  if (state_ == State::kClosing && close_wait_seen_) arm_drain();
}

void Consumer::arm_drain() {
  drain_timer_.expires_after(cfg_.drain_quiet);
  drain_timer_.async_wait([self = std::static_pointer_cast<Consumer>(shared_from_this())](
                              const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    self->state_ = State::kClosed;
    self->close_after_flush();
  });
}

void Consumer::on_stop() {
  stop_requested_ = true;
  switch (state_) {
    case State::kIdentified:
      // Not identified yet: nothing to drain (on_identified() closes if IDENTIFY is answered first).
      close_after_flush();
      return;
    case State::kSubscribing:
      return;  // CLS once SUB is answered
    case State::kRunning:
      encode_cls(out());
      state_ = State::kClosing;
      flush();
      return;
    default:
      return;
  }
}

}  // namespace nsqbench
