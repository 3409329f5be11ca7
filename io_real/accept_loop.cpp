#include "io_real/accept_loop.h"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "io_real/endpoint.h"

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Back-off after a failed accept (EMFILE, ENFILE, ENOBUFS, ...): 5 ms doubling to 1 s, as Go's net/http. The
// pending connection stays in the kernel's backlog meanwhile; retrying at once would spin on a readable
// listening socket that cannot be accepted.
constexpr auto kFirstRetryDelay = std::chrono::milliseconds(5);
constexpr auto kMaxRetryDelay = std::chrono::seconds(1);
}  // namespace

struct AcceptLoop::Impl : std::enable_shared_from_this<AcceptLoop::Impl> {
  Impl(asio::io_context& io, seam::Logger& log) : acceptor(io), retry(io), logger(log) {}

  tcp::acceptor acceptor;
  asio::steady_timer retry;
  seam::Logger& logger;
  std::string local;
  int port = 0;
  OnSocket on_socket;
  bool closed = false;
  std::uint64_t failures = 0;  // consecutive failed accepts (one burst)
  std::chrono::milliseconds delay = kFirstRetryDelay;

  // A burst of failures logs its first error only (with nsqd's wording), then retries with back-off.
  void failed(const boost::system::error_code& ec) {
    if (failures++ == 0 && logger.enabled(seam::LogLevel::warn)) {
      logger.log(seam::LogLevel::warn, "temporary Accept() failure on " + local + " - " + ec.message() +
                                           "; retrying with back-off (further failures not logged)");
    }
    retry.expires_after(delay);
    delay = std::min<std::chrono::milliseconds>(delay * 2, kMaxRetryDelay);
    retry.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
      if (!wait_ec) self->accept();
    });
  }

  void accept() {
    if (closed) return;
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
      if (self->closed) return;
      if (ec) {
        self->failed(ec);
        return;
      }
      if (self->failures > 0) {
        // End of a burst: say once how long it lasted.
        if (self->logger.enabled(seam::LogLevel::warn)) {
          self->logger.log(seam::LogLevel::warn, "accepting again on " + self->local + " after " +
                                                     std::to_string(self->failures) + " failed Accept() calls");
        }
        self->failures = 0;
        self->delay = kFirstRetryDelay;
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
