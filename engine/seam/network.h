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

  // --- upgrades negotiated by IDENTIFY (TLS, then snappy or deflate) ---
  // error is "" on success, else the transport's error text.
  using UpgradeDone = std::function<void(std::string error)>;
  // Starts a server-side TLS handshake once every byte written so far has gone out in the clear. Until done
  // runs no read is delivered (the handshake owns the socket), and bytes written meanwhile wait; after success
  // they and everything later go out over TLS, after a failure in the clear. done runs later on the engine's
  // thread, never inside this call. Returns false (done never runs) if this transport cannot do TLS.
  virtual bool upgrade_tls(UpgradeDone done) {
    (void)done;
    return false;
  }
  // From now on bytes written are compressed (each write() is one flush: a self-contained snappy chunk run,
  // or deflate data ending in a sync flush) and bytes read are decompressed. Returns false if unsupported.
  virtual bool enable_snappy() { return false; }
  virtual bool enable_deflate(int level) {
    (void)level;
    return false;
  }
  // The TLS session once upgrade_tls succeeded; empty strings before.
  struct TlsState {
    std::string version;       // as nsqd's /stats: "TLS1.2", "TLS1.3"
    std::string cipher_suite;  // Go's name, or "Unknown <IANA id>" as nsqd prints suites it has no name for
    std::string negotiated_protocol;  // ALPN (nsqd offers none, so "")
    bool negotiated_protocol_is_mutual = false;
    std::string peer_common_name;  // CN of the client certificate, if one was presented
  };
  virtual TlsState tls_state() const { return {}; }
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
