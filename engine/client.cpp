#include "engine/client.h"

#include "engine/channel.h"
#include "engine/nsqd.h"
#include "engine/topic.h"
#include "engine/planted_bugs.h"
#include "engine/wire.h"

namespace nsq {

namespace {
constexpr std::string_view kMagicV2 = "  V2";

std::string host_of(const std::string& addr) {
  // "ip:port" or "[v6]:port" -> ip, as nsqd's net.SplitHostPort.
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return addr;
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}
}  // namespace

Client::Client(NSQD& nsqd, std::unique_ptr<seam::Connection> conn, std::uint64_t id)
    : nsqd_(nsqd),
      conn_(std::move(conn)),
      id_(id),
      heartbeat_interval_(nsqd.options().client_timeout / 2),
      output_buffer_timeout_(nsqd.options().output_buffer_timeout),
      msg_timeout_(nsqd.options().msg_timeout),
      pump_heartbeat_interval_(heartbeat_interval_),
      pump_output_buffer_timeout_(output_buffer_timeout_),
      pump_msg_timeout_(msg_timeout_) {
  client_id_ = host_of(conn_->remote_address());
  hostname_ = client_id_;
  connect_ts_ = nsqd.clock().wall_ns() / kSecond;
  last_command_ns_ = nsqd.clock().now_ns();
}

Client::~Client() {
  cancel_timers();
  if (channel_ != nullptr) channel_->remove_client(this);
}

void Client::start() {
  conn_->start(this);
  // nsqd holds a peer that never sends the magic forever; we give it the default client timeout.
  deadline_timer_ = nsqd_.clock().schedule_at(last_command_ns_ + nsqd_.options().client_timeout, [this] {
    deadline_timer_ = seam::kNoTimer;
    if (!magic_ok_) close_now("timed out waiting for protocol magic");
  });
}

void Client::on_read(const std::uint8_t* data, std::size_t size) {
  if (gone_ || !close_after_replies_.empty() || upgrading_) return;
  if (!magic_ok_) {
    const std::size_t need = 4 - magic_.size();
    const std::size_t n = size < need ? size : need;
    magic_.append(reinterpret_cast<const char*>(data), n);
    data += n;
    size -= n;
    if (magic_.size() < 4) return;
    if (magic_ != kMagicV2) {
      nsqd_.log(seam::LogLevel::error, "client(" + conn_->remote_address() + ") bad protocol magic");
      std::string frame;
      wire::append_frame(frame, wire::FrameType::error, "E_BAD_PROTOCOL");
      conn_->write(std::move(frame));
      close_now("bad protocol magic");
      return;
    }
    magic_ok_ = true;
    if (deadline_timer_ != seam::kNoTimer) nsqd_.clock().cancel(deadline_timer_);
    deadline_timer_ = seam::kNoTimer;
    last_command_ns_ = nsqd_.clock().now_ns();
    arm_heartbeat();
    arm_read_deadline();
    if (size == 0) return;
  }
  nsqd_.begin_output_batch();  // everything this read produces goes out as one write per client
  const std::int64_t now = nsqd_.now_ns();
  parser_.feed(*this, data, size);
  nsqd_.end_output_batch();
  if (heartbeat_interval_ > 0) return;
  if (partial_since_ns_ < 0) partial_since_ns_ = now;
  if (gone_) return;
  if (!partial_command()) {
    partial_since_ns_ = -1;
    return;
  }
  if (last_command_ns_ >= now) partial_since_ns_ = now;  // a command completed: what is left started now
  if (deadline_timer_ == seam::kNoTimer) arm_partial_deadline();
}

bool Client::partial_command() const {
  std::string code, desc;
  return !parser_.stopped() && (parser_.buffered() > 0 || parser_.pending_read_error(code, desc));
}

void Client::arm_partial_deadline() {
  deadline_timer_ = nsqd_.clock().schedule_at(partial_since_ns_ + nsqd_.options().client_timeout, [this] {
    deadline_timer_ = seam::kNoTimer;
    if (gone_ || heartbeat_interval_ > 0 || partial_since_ns_ < 0 || !partial_command()) return;
    if (nsqd_.clock().now_ns() < partial_since_ns_ + nsqd_.options().client_timeout) {
      arm_partial_deadline();  // a later command started since this timer was set
      return;
    }
    if (std::string code, desc; parser_.pending_read_error(code, desc)) {
      send_error(code, desc, true);
      return;
    }
    nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() + "] timed out in a partial command");
    close_now("partial command timeout");
  });
}

void Client::on_drained() { drained_since_heartbeat_ = true; }

void Client::on_closed(std::string_view reason) {
  if (gone_) return;
  // A peer that half-closes in the middle of a body still gets nsqd's error for the short read.
  if (std::string code, desc; parser_.pending_read_error(code, desc)) {
    send_error(code, desc, true);
    return;
  }
  nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() + "] exiting ioloop: " +
                                      std::string(reason));
  close_now(reason);
}

void Client::close_now(std::string_view reason) {
  if (gone_) return;
  gone_ = true;
  (void)reason;
  cancel_timers();
  if (!out_.empty()) conn_->write(std::move(out_));
  out_.clear();
  if (channel_ != nullptr) {
    Channel* ch = channel_;
    channel_ = nullptr;
    ch->remove_client(this);
  }
  conn_->close();
  nsqd_.remove_client(this);
}

void Client::force_close(std::string_view reason) { close_now(reason); }

void Client::cancel_timers() {
  auto& clock = nsqd_.clock();
  for (seam::TimerId* t : {&heartbeat_timer_, &deadline_timer_, &flush_timer_}) {
    if (*t != seam::kNoTimer) clock.cancel(*t);
    *t = seam::kNoTimer;
  }
}

bool Client::ready_for_messages() const {
  if (gone_ || state_ != kSubscribed || channel_ == nullptr || channel_->paused()) return false;
  if (planted::bugs.rdy_off_by_one) [[unlikely]] return ready_count_ > 0 && in_flight_count_ <= ready_count_;
  return ready_count_ > 0 && in_flight_count_ < ready_count_;
}

void Client::send_message(const Message& msg) {
  ++in_flight_count_;
  ++message_count_;
  wire::append_u32(out_, static_cast<std::uint32_t>(4 + kMessageHeaderSize + msg.body.size()));
  wire::append_u32(out_, static_cast<std::uint32_t>(wire::FrameType::message));
  append_message_payload(out_, msg);
  if (static_cast<std::int64_t>(out_.size()) >= output_buffer_size_) {
    flush();
  } else if (!ready_for_messages() || nsqd_.batching_output()) {
    // nsqd flushes when the client's window closes, else within output_buffer_timeout. We flush at the latest
    // when the current read (or scan) has been handled: a busy loop still batches everything that read
    // produced into one write, and an idle one adds no delay (output_buffer_timeout is only an upper bound).
    flush_soon();
  } else {
    arm_flush_timer();
  }
}

void Client::timed_out_message() {
  if (in_flight_count_ > 0) --in_flight_count_;
  // Its frame may still be in our buffer: after a process stall every overdue timer runs at once, and the scan
  // that found the timeout can run before our flush timer, though that flush was due first (one output-buffer
  // timeout after the delivery, the timeout a message timeout after it). Write it now, as the deadlines order
  // them, so a redelivery never reaches the wire before the delivery it replaces (found by nsqd-sim,
  // clock-stall). Otherwise the frame went out long ago (unless this client's output-buffer timeout exceeds its
  // message timeout) and this only writes newer frames a little early, which output_buffer_timeout allows.
  flush();
}

void Client::reset_in_flight() { in_flight_count_ = 0; }

void Client::flush() {
  if (flush_timer_ != seam::kNoTimer) {
    nsqd_.clock().cancel(flush_timer_);
    flush_timer_ = seam::kNoTimer;
  }
  if (out_.empty() || gone_) return;
  conn_->write(std::move(out_));
  out_ = std::string();
  out_.reserve(static_cast<std::size_t>(output_buffer_size_ > 4096 ? output_buffer_size_ : 4096));
}

void Client::flush_soon() {
  if (!nsqd_.batching_output()) {
    flush();
    return;
  }
  if (flush_queued_) return;
  flush_queued_ = true;
  nsqd_.flush_at_batch_end(id_);
}

void Client::arm_flush_timer() {
  if (flush_timer_ != seam::kNoTimer || pump_output_buffer_timeout_ <= 0) return;
  flush_timer_ = nsqd_.clock().schedule_after(pump_output_buffer_timeout_, [this] {
    flush_timer_ = seam::kNoTimer;
    flush();
  });
}

void Client::send_response(std::string_view data) {
  if (!held_.empty() && data != "_heartbeat_") {
    HeldReply r{true, {}};
    wire::append_frame(r.frame, wire::FrameType::response, data);
    held_.push_back(std::move(r));
    return;
  }
  wire::append_frame(out_, wire::FrameType::response, data);
  flush_soon();
}

std::uint64_t Client::hold_reply() {
  held_.push_back(HeldReply{});
  return first_held_ + held_.size() - 1;
}

void Client::release_reply(std::uint64_t slot, std::string text, bool is_error) {
  if (gone_ || slot < first_held_ || slot >= first_held_ + held_.size()) return;
  HeldReply& r = held_[static_cast<std::size_t>(slot - first_held_)];
  r.ready = true;
  wire::append_frame(r.frame, is_error ? wire::FrameType::error : wire::FrameType::response, text);
  bool sent = false;
  while (!held_.empty() && held_.front().ready) {
    out_.append(held_.front().frame);
    held_.pop_front();
    ++first_held_;
    sent = true;
  }
  if (sent) flush();
  if (held_.empty() && !close_after_replies_.empty()) {
    close_now(close_after_replies_);
  } else if (held_.empty() && after_held_) {
    auto upgrade = std::move(after_held_);
    after_held_ = nullptr;
    upgrade();
  }
}

void Client::reply_when_durable(Topic& topic, const char* code, const char* verb) {
  const std::uint64_t slot = hold_reply();
  std::weak_ptr<bool> alive = alive_;
  topic.when_durable([this, alive, slot, code, verb](std::string err) {
    if (alive.expired()) return;
    if (err.empty()) {
      release_reply(slot, "OK", false);
    } else {
      // As a failed write: fatal for the connection (after the replies before it), and the daemon unhealthy
      // (unless the topic was deleted under the publish: nsqd's "exiting", not a disk fault).
      if (err != Topic::kTopicExiting) nsqd_.set_health(err);
      std::string text = std::string(code) + " " + verb + " failed " + err;
      nsqd_.log(seam::LogLevel::error, "[" + conn_->remote_address() + "] - " + text);
      close_after_replies_ = text;
      release_reply(slot, std::move(text), true);
    }
  });
}

bool Client::send_error(std::string_view code, std::string_view desc, bool fatal) {
  std::string text(code);
  if (!desc.empty()) {
    text.push_back(' ');
    text.append(desc);
  }
  nsqd_.log(seam::LogLevel::error, "[" + conn_->remote_address() + "] - " + text);
  if (!held_.empty()) {
    // Behind the replies still waiting for their fsync; a fatal one closes the connection after them.
    HeldReply r{true, {}};
    wire::append_frame(r.frame, wire::FrameType::error, text);
    held_.push_back(std::move(r));
    if (fatal) close_after_replies_ = text;
    return !fatal;
  }
  wire::append_frame(out_, wire::FrameType::error, text);
  flush();
  if (fatal) close_now(text);
  return !fatal;
}

void Client::arm_heartbeat() {
  if (heartbeat_timer_ != seam::kNoTimer) nsqd_.clock().cancel(heartbeat_timer_);
  heartbeat_timer_ = seam::kNoTimer;
  if (pump_heartbeat_interval_ <= 0 || gone_) return;
  heartbeat_timer_ = nsqd_.clock().schedule_after(pump_heartbeat_interval_, [this] {
    heartbeat_timer_ = seam::kNoTimer;
    on_heartbeat();
  });
}

void Client::on_heartbeat() {
  if (upgrading_) {  // nsqd's write lock is held by the handshake; the heartbeat waits for the next tick
    arm_heartbeat();
    return;
  }
  // nsqd bounds every write by one heartbeat interval: a client that has not taken our bytes since the last
  // heartbeat is not reading, and is dropped.
  if (conn_->pending_bytes() > 0 && !drained_since_heartbeat_) {
    close_now("write timeout");
    return;
  }
  drained_since_heartbeat_ = conn_->pending_bytes() == 0;
  send_response("_heartbeat_");
  if (!gone_) arm_heartbeat();
}

void Client::arm_read_deadline() {
  if (deadline_timer_ != seam::kNoTimer) nsqd_.clock().cancel(deadline_timer_);
  deadline_timer_ = seam::kNoTimer;
  if (heartbeat_interval_ <= 0 || gone_) return;
  deadline_timer_ = nsqd_.clock().schedule_at(last_command_ns_ + 2 * heartbeat_interval_, [this] {
    deadline_timer_ = seam::kNoTimer;
    on_read_deadline();
  });
}

void Client::on_read_deadline() {
  if (!upgrading_ && nsqd_.clock().now_ns() >= last_command_ns_ + 2 * heartbeat_interval_) {
    if (std::string code, desc; parser_.pending_read_error(code, desc)) {
      send_error(code, desc, true);
      return;
    }
    nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() + "] read timeout");
    close_now("read timeout");
    return;
  }
  arm_read_deadline();
}

void Client::published(const std::string& topic, std::uint64_t count) { pub_counts_[topic] += count; }

ClientStats Client::stats() const {
  ClientStats s;
  s.client_id = client_id_;
  s.hostname = hostname_;
  s.user_agent = user_agent_;
  s.remote_address = conn_->remote_address();
  s.state = state_;
  s.ready_count = ready_count_;
  s.in_flight_count = in_flight_count_;
  s.message_count = message_count_;
  s.finish_count = finish_count_;
  s.requeue_count = requeue_count_;
  s.connect_ts = connect_ts_;
  s.sample_rate = sample_rate_;
  s.deflate = deflate_;
  s.snappy = snappy_;
  s.tls = tls_;
  if (tls_) {
    const seam::Connection::TlsState t = conn_->tls_state();
    s.tls_cipher_suite = t.cipher_suite;
    s.tls_version = t.version;
    s.tls_negotiated_protocol = t.negotiated_protocol;
    s.tls_negotiated_protocol_is_mutual = t.negotiated_protocol_is_mutual;
  }
  s.authed = has_authorizations();
  if (auth_) {
    s.auth_identity = auth_->identity;
    s.auth_identity_url = auth_->identity_url;
  }
  for (const auto& [t, n] : pub_counts_) s.pub_counts.emplace_back(t, n);
  s.producer = !pub_counts_.empty();
  return s;
}

}  // namespace nsq
