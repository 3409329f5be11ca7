// seam::Connection on an Asio TCP socket. The handle the engine owns is thin: the socket and buffers live in
// a shared Impl that every pending async operation holds, so the engine may destroy the handle at any time,
// even from inside one of its own callbacks.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "engine/seam/network.h"

namespace nsq::io_real {

class TcpConnection final : public seam::Connection {
 public:
  explicit TcpConnection(boost::asio::ip::tcp::socket socket);
  // Closes like close() (queued bytes still get their linger) if the owner did not.
  ~TcpConnection() override;
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void start(seam::ConnectionHandler* handler) override;
  void write(std::string&& bytes) override;
  std::size_t pending_bytes() const override;
  void set_reading(bool enabled) override;
  void close() override;
  const std::string& remote_address() const override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nsq::io_real
