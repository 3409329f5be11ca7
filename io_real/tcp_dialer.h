// seam::Dialer on Asio: resolves "host:port", connects with a deadline, and hands the engine a TcpConnection.
#pragma once

#include <boost/asio/io_context.hpp>

#include "engine/seam/network.h"

namespace nsq::io_real {

class TcpDialer final : public seam::Dialer {
 public:
  explicit TcpDialer(boost::asio::io_context& io) : io_(io) {}
  void dial(const std::string& address, std::int64_t timeout_ns, DialFn done) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace nsq::io_real
