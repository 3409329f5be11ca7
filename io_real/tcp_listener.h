// seam::Listener for NSQ's TCP port: every accepted socket becomes a TcpConnection handed to the engine.
#pragma once

#include <string>

#include "engine/seam/network.h"
#include "io_real/accept_loop.h"

namespace nsq::io_real {

class TcpListener final : public seam::Listener {
 public:
  // Binds now; throws like AcceptLoop.
  TcpListener(boost::asio::io_context& io, const std::string& address, seam::Logger& logger);

  void start(AcceptFn on_accept) override;
  void close() override;
  std::string local_address() const override { return loop_.local_address(); }
  int local_port() const { return loop_.local_port(); }

 private:
  AcceptLoop loop_;
};

}  // namespace nsq::io_real
