// Seam: byte-stream connections. The engine owns each Connection handle; the io layer owns sockets.
// io_real implements it on Asio TCP sockets, io_sim on in-memory pipes with seeded chunking and delays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace nsq::seam {

// Callbacks from a connection to its owner. All run on the engine's thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Bytes arrived. The pointer is valid only during the call.
  virtual void on_read(const std::uint8_t* data, std::size_t size) = 0;
  // Every byte handed to write() so far has been accepted by the transport (output queue is empty).
  virtual void on_drained() = 0;
  // The peer closed ("EOF"), or the transport failed. No callback follows. Not called after the owner's close().
  // The owner then calls close(); after an EOF, bytes written before that close() still reach the peer (it may
  // only have half-closed).
  virtual void on_closed(std::string_view reason) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Starts delivering reads to handler. Called once.
  virtual void start(ConnectionHandler* handler) = 0;
  // Queues bytes for sending, in order. Buffers queued before the transport is free again are sent together as
  // one gather write. Never blocks and never calls the handler from inside write().
  virtual void write(std::string&& bytes) = 0;
  // Bytes queued but not yet accepted by the transport.
  virtual std::size_t pending_bytes() const = 0;
  // Stops (or resumes) delivering reads; used for back-pressure.
  virtual void set_reading(bool enabled) = 0;
  // Sends what is queued (bounded by a short linger), then closes. No handler callback follows. Idempotent.
  // The handle may be destroyed right after, even from inside a handler callback.
  virtual void close() = 0;
  // "ip:port" of the peer (as Go's net.Conn.RemoteAddr().String()).
  virtual const std::string& remote_address() const = 0;
};

class Listener {
 public:
  using AcceptFn = std::function<void(std::unique_ptr<Connection>)>;
  virtual ~Listener() = default;
  virtual void start(AcceptFn on_accept) = 0;
  virtual void close() = 0;
  // "host:port" actually bound (port resolved when 0 was asked for).
  virtual std::string local_address() const = 0;
};

}  // namespace nsq::seam

namespace nsq::seam {

// Connectionless datagrams (statsd). io_real sends UDP with Asio; io_sim records them.
class DatagramSender {
 public:
  virtual ~DatagramSender() = default;
  // Sends one datagram to "host:port". Returns "" or an error text (unresolvable address, socket error). Never
  // blocks on the network and never calls back.
  virtual std::string send_to(const std::string& address, std::string_view payload) = 0;
};

}  // namespace nsq::seam

namespace nsq::seam {

// Outgoing stream connections (nsqlookupd). io_real connects with Asio, io_sim through its simulated network.
class Dialer {
 public:
  // conn is null on failure, with error set ("dial tcp host:port: connection refused").
  using DialFn = std::function<void(std::unique_ptr<Connection> conn, std::string error)>;
  virtual ~Dialer() = default;
  // Connects to "host:port" within timeout_ns. done runs later on the engine's thread, never inside dial(); the
  // connection it gets is not started yet.
  virtual void dial(const std::string& address, std::int64_t timeout_ns, DialFn done) = 0;
};

}  // namespace nsq::seam
