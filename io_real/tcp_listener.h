// seam::Listener for NSQ's TCP port: every accepted socket becomes a TcpConnection handed to the engine.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "engine/seam/network.h"
#include "io_real/accept_loop.h"

namespace nsq::io_real {

class TcpListener final : public seam::Listener {
 public:
  // Binds now; throws like AcceptLoop.
  TcpListener(boost::asio::io_context& io, const std::string& address, seam::Logger& logger);

  // Connections may upgrade to TLS in IDENTIFY with this context (call before start()).
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> tls) { tls_ = std::move(tls); }
  void start(AcceptFn on_accept) override;
  void close() override;
  std::string local_address() const override { return loop_.local_address(); }
  int local_port() const { return loop_.local_port(); }

 private:
  AcceptLoop loop_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace nsq::io_real
