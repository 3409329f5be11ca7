#include "io_real/accept_loop.h"

#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include "io_real/endpoint.h"

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kRetryDelay = std::chrono::milliseconds(100);
}

struct AcceptLoop::Impl : std::enable_shared_from_this<AcceptLoop::Impl> {
  Impl(asio::io_context& io, seam::Logger& log) : acceptor(io), retry(io), logger(log) {}

  tcp::acceptor acceptor;
  asio::steady_timer retry;
  seam::Logger& logger;
  std::string local;
  int port = 0;
  OnSocket on_socket;
  bool closed = false;

  void accept() {
    if (closed) return;
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
      if (self->closed) return;
      if (ec) {
        if (self->logger.enabled(seam::LogLevel::warn)) {
          self->logger.log(seam::LogLevel::warn, "temporary Accept() failure - " + ec.message());
        }
        self->retry.expires_after(kRetryDelay);
        self->retry.async_wait([self](const boost::system::error_code& wait_ec) {
          if (!wait_ec) self->accept();
        });
        return;
      }
      self->on_socket(std::move(socket));
      self->accept();
    });
  }
};

AcceptLoop::AcceptLoop(asio::io_context& io, const std::string& address, seam::Logger& logger)
    : impl_(std::make_shared<Impl>(io, logger)) {
  const tcp::endpoint endpoint = resolve_listen_address(io, address);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();
  impl_->local = to_string(bound);
  impl_->port = bound.port();
}

AcceptLoop::~AcceptLoop() { close(); }

void AcceptLoop::start(OnSocket on_socket) {
  impl_->on_socket = std::move(on_socket);
  impl_->accept();
}

void AcceptLoop::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->retry.cancel();
}

const std::string& AcceptLoop::local_address() const { return impl_->local; }

int AcceptLoop::local_port() const { return impl_->port; }

}  // namespace nsq::io_real
