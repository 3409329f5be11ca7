// Listen addresses as nsqd spells them ("host:port", "[::1]:port", ":4150") to and from Asio endpoints.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace nsq::io_real {

// Resolves a listen address; an empty host means all IPv4 interfaces. Throws boost::system::system_error
// (or std::invalid_argument for a malformed address).
boost::asio::ip::tcp::endpoint resolve_listen_address(boost::asio::io_context& io, const std::string& address);

// "ip:port", with IPv6 in brackets, as Go's net.Addr.String().
std::string to_string(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace nsq::io_real
