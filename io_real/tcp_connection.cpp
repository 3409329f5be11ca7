#include "io_real/tcp_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <deque>
#include <vector>

#include "io_real/endpoint.h"

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t kReadBufferSize = 64 * 1024;
// How long close() waits for queued bytes to reach the kernel before giving up on a stalled peer.
constexpr auto kLinger = std::chrono::seconds(1);
}  // namespace

// All state of one socket. Async handlers capture a shared_ptr to it, so it outlives the engine's handle;
// `closing`/`closed` are checked after every completion and every handler callback, because the callback may
// have closed the connection (and destroyed the handle).
struct TcpConnection::Impl : std::enable_shared_from_this<TcpConnection::Impl> {
  explicit Impl(tcp::socket s) : socket(std::move(s)), linger(socket.get_executor()) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    socket.non_blocking(true, ec);
    const auto peer = socket.remote_endpoint(ec);
    remote = ec ? std::string("unknown:0") : to_string(peer);
  }

  tcp::socket socket;
  asio::steady_timer linger;
  std::string remote;
  seam::ConnectionHandler* handler = nullptr;  // null once no callback may be made

  bool closing = false;  // the owner called close(): flushing, then finish_close()
  bool closed = false;   // the socket is closed; nothing happens any more

  bool reading = false;
  bool wait_in_flight = false;  // an async_wait for readability is pending
  bool delivering = false;      // inside handler->on_read

  std::deque<std::string> queue;        // written, not yet handed to the socket
  std::vector<std::string> in_flight;   // the current gather write
  bool writing = false;
  std::size_t pending = 0;              // bytes in queue + in_flight

  bool quiet() const { return closing || closed; }

  // Reads are reactor-style: wait until the socket is readable, then read into one buffer shared by every
  // connection (all of them are served by this one thread, one at a time). An idle connection therefore holds
  // no read buffer, and pausing reads simply leaves bytes in the kernel (TCP back-pressure).
  void arm_read() {
    if (quiet() || !reading || wait_in_flight || delivering) return;
    wait_in_flight = true;
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
      self->on_readable(ec);
    });
  }

  void on_readable(const boost::system::error_code& wait_ec) {
    wait_in_flight = false;
    if (quiet()) return;
    if (wait_ec) {
      fail(wait_ec.message());
      return;
    }
    if (!reading) return;  // paused while waiting: resume_reading() re-arms
    static thread_local std::vector<std::uint8_t> buffer(kReadBufferSize);
    boost::system::error_code ec;
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      arm_read();
      return;
    }
    if (ec == asio::error::eof) {
      // The peer half-closed: tell the owner, but keep the socket writable so its last answer (nsqd sends an
      // error for a body cut short) still reaches the peer when the owner closes.
      seam::ConnectionHandler* h = handler;
      handler = nullptr;
      reading = false;
      if (h) h->on_closed("EOF");
      return;
    }
    if (ec) {
      fail(ec.message());
      return;
    }
    delivering = true;
    handler->on_read(buffer.data(), n);
    delivering = false;
    arm_read();  // no-op if the callback closed the connection or paused reading
  }

  void resume_reading() {
    reading = true;
    arm_read();
  }

  void write(std::string&& bytes) {
    if (quiet() || bytes.empty()) return;
    pending += bytes.size();
    queue.push_back(std::move(bytes));
    if (!writing) start_write();
  }

  // Everything queued goes out as one gather write.
  void start_write() {
    writing = true;
    in_flight.reserve(queue.size());
    for (auto& s : queue) in_flight.push_back(std::move(s));
    queue.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight.size());
    for (const auto& s : in_flight) buffers.emplace_back(s.data(), s.size());
    asio::async_write(socket, buffers,
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->on_write_done(ec);
                      });
  }

  void on_write_done(const boost::system::error_code& ec) {
    writing = false;
    for (const auto& s : in_flight) pending -= s.size();
    in_flight.clear();
    if (closed) return;
    if (ec) {
      if (closing) finish_close();
      else fail(ec.message());
      return;
    }
    if (!queue.empty()) {
      start_write();
      return;
    }
    if (closing) {
      finish_close();
      return;
    }
    if (handler) handler->on_drained();
  }

  // The owner's close(): silence callbacks now, flush what is queued (bounded by kLinger), then close.
  void close() {
    if (quiet()) return;
    closing = true;
    handler = nullptr;
    reading = false;
    if (!writing) {
      finish_close();
      return;
    }
    linger.expires_after(kLinger);
    linger.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish_close();
    });
  }

  // Transport failure or EOF: close, then tell the owner once.
  void fail(const std::string& reason) {
    if (quiet()) return;
    seam::ConnectionHandler* h = handler;
    handler = nullptr;
    finish_close();
    if (h) h->on_closed(reason);
  }

  void finish_close() {
    if (closed) return;
    closed = true;
    linger.cancel();
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);  // aborts any read or write still pending
    for (const auto& s : queue) pending -= s.size();
    queue.clear();
  }
};

TcpConnection::TcpConnection(tcp::socket socket) : impl_(std::make_shared<Impl>(std::move(socket))) {}

TcpConnection::~TcpConnection() { impl_->close(); }

void TcpConnection::start(seam::ConnectionHandler* handler) {
  if (impl_->quiet()) return;
  impl_->handler = handler;
  impl_->resume_reading();
}

void TcpConnection::write(std::string&& bytes) { impl_->write(std::move(bytes)); }

std::size_t TcpConnection::pending_bytes() const { return impl_->pending; }

void TcpConnection::set_reading(bool enabled) {
  if (impl_->quiet() || impl_->handler == nullptr) return;
  if (enabled) impl_->resume_reading();
  else impl_->reading = false;
}

void TcpConnection::close() { impl_->close(); }

const std::string& TcpConnection::remote_address() const { return impl_->remote; }

}  // namespace nsq::io_real
