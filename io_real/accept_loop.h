// A listening TCP socket that keeps accepting until closed. Shared by the NSQ TCP listener and the HTTP
// server; transient accept errors (EMFILE, ENFILE, ECONNABORTED...) are logged and retried after a pause
// instead of stopping the server, as Go's net/http and nsqd's TCPServer do.
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
