#include "io_real/tcp_listener.h"

#include "io_real/tcp_connection.h"

namespace nsq::io_real {

TcpListener::TcpListener(boost::asio::io_context& io, const std::string& address, seam::Logger& logger)
    : loop_(io, address, logger) {}

void TcpListener::start(AcceptFn on_accept) {
  loop_.start([on_accept = std::move(on_accept), tls = tls_](boost::asio::ip::tcp::socket socket) {
    on_accept(std::make_unique<TcpConnection>(std::move(socket), tls));
  });
}

void TcpListener::close() { loop_.close(); }

}  // namespace nsq::io_real
