// seam::Dialer on the simulated network: the engine's outgoing connections (nsqlookupd) go through SimNetwork,
// so scenarios can partition, delay or reset them like any other connection. Nothing listening → the connection
// reports on_closed("connection refused") after one latency, as SimNetwork::connect does.
#pragma once

#include <memory>
#include <string>

#include "engine/seam/network.h"
#include "io_sim/sim_network.h"
#include "io_sim/virtual_clock.h"

namespace nsq::io_sim {

class SimDialer final : public seam::Dialer {
 public:
  explicit SimDialer(SimNetwork& net, std::string from_host = "10.0.0.1")
      : net_(net), from_host_(std::move(from_host)) {}

  void dial(const std::string& address, std::int64_t /*timeout_ns*/, DialFn done) override {
    // The simulated connect never blocks; the callback still comes later, never inside dial().
    auto conn = std::shared_ptr<SimConnection>(net_.connect(address, from_host_).release());
    net_.clock().post([conn, done = std::move(done)]() mutable {
      done(std::unique_ptr<seam::Connection>(new ConnectionHandle(conn)), {});
    });
  }

 private:
  // Owns the shared SimConnection for the engine.
  class ConnectionHandle final : public seam::Connection {
   public:
    explicit ConnectionHandle(std::shared_ptr<SimConnection> c) : c_(std::move(c)) {}
    void start(seam::ConnectionHandler* handler) override { c_->start(handler); }
    void write(std::string&& bytes) override { c_->write(std::move(bytes)); }
    std::size_t pending_bytes() const override { return c_->pending_bytes(); }
    void set_reading(bool enabled) override { c_->set_reading(enabled); }
    void close() override { c_->close(); }
    const std::string& remote_address() const override { return c_->remote_address(); }

   private:
    std::shared_ptr<SimConnection> c_;
  };

  SimNetwork& net_;
  std::string from_host_;
};

}  // namespace nsq::io_sim
