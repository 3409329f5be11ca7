// seam::Connection on an Asio TCP socket. The handle the engine owns is thin: the socket and buffers live in
// a shared Impl that every pending async operation holds, so the engine may destroy the handle at any time,
// even from inside one of its own callbacks. After IDENTIFY it may carry TLS (Asio SSL on the same socket) and a
// compression codec (stream_codec.h) applied to every write and read.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "engine/seam/network.h"

namespace nsq::io_real {

class TcpConnection final : public seam::Connection {
 public:
  // tls: the server context for IDENTIFY's TLS upgrade, or null when TLS is not configured.
  explicit TcpConnection(boost::asio::ip::tcp::socket socket,
                         std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
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
  bool upgrade_tls(UpgradeDone done) override;
  bool enable_snappy() override;
  bool enable_deflate(int level) override;
  TlsState tls_state() const override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nsq::io_real
