#include "io_real/endpoint.h"

#include <boost/asio/ip/tcp.hpp>

#include <stdexcept>

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

tcp::endpoint resolve_listen_address(asio::io_context& io, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("address " + address + ": missing port in address");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  tcp::resolver resolver(io);
  // Throws on failure; the first result is what Go's net.Listen would pick for a name like "localhost".
  const auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service);
  return results.begin()->endpoint();
}

std::string to_string(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace nsq::io_real
