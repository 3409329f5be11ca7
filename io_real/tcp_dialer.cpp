#include "io_real/tcp_dialer.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

#include "io_real/tcp_connection.h"

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
struct DialState {
  explicit DialState(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;
  seam::Dialer::DialFn done;
  bool finished = false;
};
}  // namespace

void TcpDialer::dial(const std::string& address, std::int64_t timeout_ns, DialFn done) {
  auto state = std::make_shared<DialState>(io_);
  state->done = std::move(done);
  auto finish = [state, address](std::unique_ptr<seam::Connection> conn, std::string error) {
    if (state->finished) return;
    state->finished = true;
    state->timer.cancel();
    if (!error.empty()) error = "dial tcp " + address + ": " + error;
    state->done(std::move(conn), std::move(error));
  };

  const auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  const std::string port = colon == std::string::npos ? std::string() : address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(host, port, ec);
  if (ec || endpoints.empty()) {
    std::string why = ec ? ec.message() : "no address";
    asio::post(io_, [finish, why]() mutable { finish(nullptr, why); });
    return;
  }
  state->timer.expires_after(std::chrono::nanoseconds(timeout_ns));
  state->timer.async_wait([state, finish](const boost::system::error_code& wait_ec) mutable {
    if (wait_ec || state->finished) return;
    boost::system::error_code ignored;
    state->socket.close(ignored);
    finish(nullptr, "i/o timeout");
  });
  asio::async_connect(state->socket, endpoints,
                      [state, finish](const boost::system::error_code& connect_ec, const tcp::endpoint&) mutable {
                        if (state->finished) return;
                        if (connect_ec) {
                          finish(nullptr, connect_ec.message());
                          return;
                        }
                        boost::system::error_code ignored;
                        state->socket.set_option(tcp::no_delay(true), ignored);
                        finish(std::make_unique<TcpConnection>(std::move(state->socket)), {});
                      });
}

}  // namespace nsq::io_real
