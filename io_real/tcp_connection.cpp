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
    const auto peer = socket.remote_endpoint(ec);
    remote = ec ? std::string("unknown:0") : to_string(peer);
  }

  tcp::socket socket;
  asio::steady_timer linger;
  std::string remote;
  seam::ConnectionHandler* handler = nullptr;  // null once no callback may be made

  bool closing = false;  // the owner called close(): flushing, then finish_close()
  bool closed = false;   // the socket is closed; nothing happens any more

  std::vector<std::uint8_t> read_buffer = std::vector<std::uint8_t>(kReadBufferSize);
  bool reading = false;
  bool read_in_flight = false;
  bool delivering = false;       // inside handler->on_read; the buffer must not be refilled yet
  std::size_t stashed = 0;       // bytes read while reading was disabled, still in read_buffer
  bool stash_posted = false;

  std::deque<std::string> queue;        // written, not yet handed to the socket
  std::vector<std::string> in_flight;   // the current gather write
  bool writing = false;
  std::size_t pending = 0;              // bytes in queue + in_flight

  bool quiet() const { return closing || closed; }

  void arm_read() {
    if (quiet() || !reading || read_in_flight || delivering || stashed > 0) return;
    read_in_flight = true;
    socket.async_read_some(asio::buffer(read_buffer),
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                             self->on_read_done(ec, n);
                           });
  }

  void on_read_done(const boost::system::error_code& ec, std::size_t n) {
    read_in_flight = false;
    if (quiet()) return;
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
    if (!reading) {  // back-pressure was switched on while this read was in flight: hold the bytes
      stashed = n;
      return;
    }
    deliver(n);
  }

  void deliver(std::size_t n) {
    delivering = true;
    handler->on_read(read_buffer.data(), n);
    delivering = false;
    arm_read();  // no-op if the callback closed the connection or paused reading
  }

  void resume_reading() {
    reading = true;
    if (delivering) return;  // deliver() re-arms when the callback returns
    if (stashed == 0) {
      arm_read();
      return;
    }
    // Deliver the held bytes on a later turn: set_reading() must not call the handler re-entrantly.
    if (stash_posted) return;
    stash_posted = true;
    asio::post(socket.get_executor(), [self = shared_from_this()] {
      self->stash_posted = false;
      if (self->quiet() || !self->reading || self->stashed == 0) return;
      const std::size_t n = self->stashed;
      self->stashed = 0;
      self->deliver(n);
    });
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
