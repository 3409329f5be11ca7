// seam::DatagramSender on an Asio UDP socket (statsd). Addresses are "host:port" / "[v6]:port"; the host is
// resolved on each send (statsd pushes are rare), which blocks only for a DNS name, never for an IP literal.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <optional>
#include <string>

#include "engine/seam/network.h"

namespace nsq::io_real {

class UdpSender final : public seam::DatagramSender {
 public:
  explicit UdpSender(boost::asio::io_context& io) : io_(io) {}
  std::string send_to(const std::string& address, std::string_view payload) override;

 private:
  boost::asio::io_context& io_;
  std::optional<boost::asio::ip::udp::socket> v4_;
  std::optional<boost::asio::ip::udp::socket> v6_;
};

}  // namespace nsq::io_real
