#include "sim/sim_client.h"

#include <utility>

namespace nsq::sim {

SimClient::SimClient(std::string name, io_sim::SimNetwork& net) : name_(std::move(name)), net_(net) {}

SimClient::~SimClient() = default;

void SimClient::connect(const std::string& address, const std::string& from_host) {
  if (conn_) close();
  conn_ = net_.connect(address, from_host);
  parser_ = wire::FrameParser();
  awaiting_.clear();
  heartbeats_ = 0;
  closed_ = false;
  answer_heartbeats_ = true;
  conn_->start(this);
  conn_->write(std::string(wire::kMagicV2));
  last_sent_ns_ = net_.clock().now_ns();
}

void SimClient::send(std::string bytes, const char* reply_slot) {
  if (!connected()) return;
  if (reply_slot != nullptr) awaiting_.emplace_back(reply_slot);
  conn_->write(std::move(bytes));
  last_sent_ns_ = net_.clock().now_ns();
}

void SimClient::identify(std::string_view json) { send(wire::with_body(wire::line("IDENTIFY"), json), "IDENTIFY"); }
void SimClient::auth(std::string_view secret) { send(wire::with_body(wire::line("AUTH"), secret), "AUTH"); }
void SimClient::sub(std::string_view topic, std::string_view channel) {
  send(wire::line("SUB", {topic, channel}), "SUB");
}
void SimClient::rdy(std::int64_t count) { send(wire::line("RDY", {std::to_string(count)}), nullptr); }
void SimClient::pub(std::string_view topic, std::string_view body) {
  send(wire::with_body(wire::line("PUB", {topic}), body), "PUB");
}
void SimClient::mpub(std::string_view topic, const std::vector<std::string>& bodies) {
  send(wire::with_body(wire::line("MPUB", {topic}), wire::mpub_body(bodies)), "MPUB");
}
void SimClient::dpub(std::string_view topic, std::int64_t delay_ms, std::string_view body) {
  send(wire::with_body(wire::line("DPUB", {topic, std::to_string(delay_ms)}), body), "DPUB");
}
void SimClient::fin(std::string_view id) { send(wire::line("FIN", {id}), nullptr); }
void SimClient::req(std::string_view id, std::int64_t timeout_ms) {
  send(wire::line("REQ", {id, std::to_string(timeout_ms)}), nullptr);
}
void SimClient::touch(std::string_view id) { send(wire::line("TOUCH", {id}), nullptr); }
void SimClient::nop() { send(wire::line("NOP"), nullptr); }
void SimClient::cls() { send(wire::line("CLS"), "CLS"); }
void SimClient::send_raw(std::string bytes) { send(std::move(bytes), nullptr); }

void SimClient::close() {
  if (!conn_) return;
  closed_ = true;
  conn_->close();
  conn_.reset();
}

void SimClient::on_read(const std::uint8_t* data, std::size_t size) {
  parser_.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  while (connected()) {
    auto frame = parser_.next();
    if (!frame) break;
    handle(*frame);
  }
  if (parser_.corrupt() && connected()) {
    close();
    if (handlers_.closed) handlers_.closed("client: corrupt frame stream");
  }
}

void SimClient::handle(const wire::Frame& frame) {
  switch (frame.type) {
    case wire::kFrameResponse: {
      if (frame.data == wire::kHeartbeat) {
        ++heartbeats_;
        if (answer_heartbeats_) nop();
        return;
      }
      std::string cmd = awaiting_.empty() ? std::string("?") : awaiting_.front();
      if (!awaiting_.empty()) awaiting_.pop_front();
      if (handlers_.reply) handlers_.reply(cmd, true, frame.data);
      return;
    }
    case wire::kFrameError: {
      const std::string_view text = frame.data;
      if (text.starts_with("E_FIN_FAILED") || text.starts_with("E_REQ_FAILED") ||
          text.starts_with("E_TOUCH_FAILED")) {
        if (handlers_.soft_error) handlers_.soft_error(text);
        return;
      }
      std::string cmd = awaiting_.empty() ? std::string("?") : awaiting_.front();
      if (!awaiting_.empty()) awaiting_.pop_front();
      if (handlers_.reply) handlers_.reply(cmd, false, text);
      return;
    }
    case wire::kFrameMessage: {
      auto m = wire::decode_message(frame.data);
      if (m && handlers_.message) handlers_.message(*m);
      return;
    }
    default:
      if (handlers_.reply) handlers_.reply("?", false, "client: unknown frame type " + std::to_string(frame.type));
  }
}

void SimClient::on_closed(std::string_view reason) {
  closed_ = true;
  conn_.reset();  // allowed inside a handler callback by the seam contract
  if (handlers_.closed) handlers_.closed(reason);
}

}  // namespace nsq::sim
