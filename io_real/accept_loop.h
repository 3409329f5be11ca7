// A listening TCP socket that keeps accepting until closed. Shared by the NSQ TCP listener and the HTTP
// server; accept errors (EMFILE, ENFILE, ECONNABORTED...) never stop the server: the first of a burst is logged,
// and accepting is retried with back-off (5 ms doubling to 1 s, as Go's net/http; nsqd's TCPServer retries at
// once and spins). The end of a burst is logged too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "engine/seam/logger.h"

namespace nsq::io_real {

class AcceptLoop {
 public:
  using OnSocket = std::function<void(boost::asio::ip::tcp::socket)>;

  // Binds and listens now (SO_REUSEADDR on). Throws boost::system::system_error / std::invalid_argument.
  AcceptLoop(boost::asio::io_context& io, const std::string& address, seam::Logger& logger);
  ~AcceptLoop();
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  void start(OnSocket on_socket);
  void close();
  // "ip:port" actually bound (port 0 resolved).
  const std::string& local_address() const;
  int local_port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nsq::io_real
