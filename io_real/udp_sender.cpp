#include "io_real/udp_sender.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/udp.hpp>

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::udp;

std::string UdpSender::send_to(const std::string& address, std::string_view payload) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return "address " + address + ": missing port in address";
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  boost::system::error_code ec;
  udp::resolver resolver(io_);
  const auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) return "dial udp " + address + ": " + (ec ? ec.message() : "no address");
  const udp::endpoint endpoint = results.begin()->endpoint();
  auto& socket = endpoint.address().is_v6() ? v6_ : v4_;
  if (!socket) {
    socket.emplace(io_);
    socket->open(endpoint.protocol(), ec);
    if (ec) {
      socket.reset();
      return "socket: " + ec.message();
    }
    socket->non_blocking(true, ec);
  }
  socket->send_to(asio::buffer(payload.data(), payload.size()), endpoint, 0, ec);
  // A full send buffer drops the datagram, as UDP may; an ICMP "connection refused" from an earlier datagram
  // surfaces here on some systems and is not an error of this send.
  if (ec && ec != asio::error::would_block && ec != asio::error::connection_refused) {
    return "write udp " + address + ": " + ec.message();
  }
  return {};
}

}  // namespace nsq::io_real
