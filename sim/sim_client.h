// A simulated NSQ V2 client on the simulated network: sends commands, parses frames, answers heartbeats, and
// reports replies in command order. It has no policy of its own; scenarios decide what to do with messages.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/seam/network.h"
#include "io_sim/sim_network.h"
#include "sim/wire.h"

namespace nsq::sim {

class SimClient final : public seam::ConnectionHandler {
 public:
  struct Handlers {
    std::function<void(const wire::Message&)> message;
    // The reply to a command that has one (IDENTIFY, SUB, PUB, MPUB, DPUB, CLS), in command order.
    // ok=false for an error frame (the connection is closing if it was fatal).
    std::function<void(std::string_view cmd, bool ok, std::string_view text)> reply;
    // Non-fatal E_FIN_FAILED / E_REQ_FAILED / E_TOUCH_FAILED (no reply slot is consumed).
    std::function<void(std::string_view text)> soft_error;
    std::function<void(std::string_view reason)> closed;
  };

  SimClient(std::string name, io_sim::SimNetwork& net);
  ~SimClient() override;

  const std::string& name() const { return name_; }
  Handlers& handlers() { return handlers_; }

  // Dials address and sends the magic. Reconnecting after close is allowed (a fresh connection).
  void connect(const std::string& address, const std::string& from_host = "10.0.0.2");
  void identify(std::string_view json);
  void auth(std::string_view secret);
  void sub(std::string_view topic, std::string_view channel);
  void rdy(std::int64_t count);
  void pub(std::string_view topic, std::string_view body);
  void mpub(std::string_view topic, const std::vector<std::string>& bodies);
  void dpub(std::string_view topic, std::int64_t delay_ms, std::string_view body);
  void fin(std::string_view id);
  void req(std::string_view id, std::int64_t timeout_ms);
  void touch(std::string_view id);
  void nop();
  void cls();
  void send_raw(std::string bytes);
  // Closes our end (flushes what is queued). No closed handler follows.
  void close();

  // A client that stops reading (a slow or stalled consumer) back-pressures nsqd through the network window.
  void set_reading(bool reading) {
    if (conn_) conn_->set_reading(reading);
  }
  // A client that stops answering heartbeats looks dead to nsqd.
  void set_answer_heartbeats(bool answer) { answer_heartbeats_ = answer; }

  bool connected() const { return conn_ != nullptr && !closed_; }
  std::uint64_t connection_id() const { return conn_ ? conn_->id() : 0; }
  // Counts over the current connection's lifetime.
  std::uint64_t heartbeats() const { return heartbeats_; }
  std::size_t awaiting_replies() const { return awaiting_.size(); }
  // Virtual time of our latest write (heartbeat answers included): nsqd's read deadline runs from there.
  std::int64_t last_sent_ns() const { return last_sent_ns_; }

  // seam::ConnectionHandler
  void on_read(const std::uint8_t* data, std::size_t size) override;
  void on_drained() override {}
  void on_closed(std::string_view reason) override;

 private:
  void send(std::string bytes, const char* reply_slot);
  void handle(const wire::Frame& frame);

  std::string name_;
  io_sim::SimNetwork& net_;
  std::unique_ptr<io_sim::SimConnection> conn_;
  wire::FrameParser parser_;
  std::deque<std::string> awaiting_;  // commands whose reply has not come yet
  Handlers handlers_;
  bool closed_ = true;
  bool answer_heartbeats_ = true;
  std::uint64_t heartbeats_ = 0;
  std::int64_t last_sent_ns_ = 0;
};

}  // namespace nsq::sim
