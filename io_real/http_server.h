// nsqd's HTTP and HTTPS listeners: HTTP/1.1 with keep-alive on Boost.Beast (HTTPS: Beast over Asio SSL, same
// handlers), on the engine's io_context. Each request is answered by nsq::HttpApi, on this same (only) thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/http_api.h"
#include "engine/seam/logger.h"
#include "io_real/accept_loop.h"

namespace nsq::io_real {

class HttpSessionBase;

class HttpServer {
 public:
  // Binds now; throws like AcceptLoop. With tls, every connection is HTTPS (nsqd's --https-address).
  HttpServer(boost::asio::io_context& io, const std::string& address, HttpApi& api, seam::Logger& logger,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stops accepting and closes every open HTTP connection.
  void close();
  const std::string& local_address() const { return loop_.local_address(); }
  int local_port() const { return loop_.local_port(); }

 private:
  AcceptLoop loop_;
  HttpApi& api_;
  // Open sessions, so close() can end idle keep-alive connections. Sessions unregister themselves.
  std::shared_ptr<std::map<std::uint64_t, std::weak_ptr<HttpSessionBase>>> sessions_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::uint64_t next_session_ = 0;
};

}  // namespace nsq::io_real
