#include "io_real/tcp_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <chrono>
#include <deque>
#include <vector>

#include "io_real/endpoint.h"
#include "io_real/stream_codec.h"
#include "io_real/tls_context.h"

namespace nsq::io_real {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t kReadBufferSize = 64 * 1024;
// How long close() waits for queued bytes to reach the kernel before giving up on a stalled peer.
constexpr auto kLinger = std::chrono::seconds(1);
// nsqd's deadline for the TLS handshake after IDENTIFY.
constexpr auto kHandshakeDeadline = std::chrono::seconds(5);
constexpr std::size_t kTlsReadBufferSize = 16 * 1024;
}  // namespace

// All state of one socket. Async handlers capture a shared_ptr to it, so it outlives the engine's handle;
// `closing`/`closed` are checked after every completion and every handler callback, because the callback may
// have closed the connection (and destroyed the handle).
struct TcpConnection::Impl : std::enable_shared_from_this<TcpConnection::Impl> {
  Impl(tcp::socket s, std::shared_ptr<asio::ssl::context> ctx)
      : socket(std::move(s)), linger(socket.get_executor()), tls_ctx(std::move(ctx)) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    socket.non_blocking(true, ec);
    const auto peer = socket.remote_endpoint(ec);
    remote = ec ? std::string("unknown:0") : to_string(peer);
    const auto self_end = socket.local_endpoint(ec);
    local = ec ? std::string("unknown:0") : to_string(self_end);
  }

  tcp::socket socket;
  asio::steady_timer linger;
  std::string remote;
  std::string local;
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

  // TLS (after IDENTIFY tls_v1): the handshake runs once the clear-text queue is out; reads wait for it and
  // writes made meanwhile are held, then everything goes through `tls`. Reads then complete into tls_buffer.
  std::shared_ptr<asio::ssl::context> tls_ctx;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  bool upgrading = false;    // upgrade_tls() called, handshake not finished
  bool handshaking = false;  // async_handshake pending
  bool tls_active = false;
  seam::Connection::UpgradeDone tls_done;
  std::deque<std::string> held;  // written during the upgrade
  std::vector<std::uint8_t> tls_buffer;
  bool tls_read_pending = false;
  std::string stalled_input;  // read over TLS while reading was paused; delivered on resume
  std::string tls_out;        // the current write over TLS, as one buffer (one TLS record per 16 KiB)
  // Compression (after IDENTIFY snappy/deflate): writes are encoded as they are made, reads decoded.
  std::unique_ptr<codec::StreamEncoder> encoder;
  std::unique_ptr<codec::StreamDecoder> decoder;
  std::string decoded;

  bool quiet() const { return closing || closed; }

  // Reads are reactor-style: wait until the socket is readable, then read into one buffer shared by every
  // connection (all of them are served by this one thread, one at a time). An idle connection therefore holds
  // no read buffer, and pausing reads simply leaves bytes in the kernel (TCP back-pressure).
  void arm_read() {
    if (quiet() || !reading || delivering || upgrading) return;
    if (tls_active) {
      arm_tls_read();
      return;
    }
    if (wait_in_flight) return;
    wait_in_flight = true;
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
      self->on_readable(ec);
    });
  }

  void on_readable(const boost::system::error_code& wait_ec) {
    wait_in_flight = false;
    if (quiet() || upgrading || tls_active) return;  // the TLS stream owns the socket's input now
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
      end_of_input("EOF");
      return;
    }
    if (ec) {
      fail(ec.message());
      return;
    }
    deliver(buffer.data(), n);
    arm_read();  // no-op if the callback closed the connection or paused reading
  }

  // The peer half-closed (or its stream can no longer be decoded): tell the owner, but keep the socket
  // writable so its last answer (nsqd sends an error for a body cut short) still reaches the peer when the
  // owner closes.
  void end_of_input(const std::string& reason) {
    seam::ConnectionHandler* h = handler;
    handler = nullptr;
    reading = false;
    if (h) h->on_closed(reason);
  }

  // Hands bytes read (after TLS) to the owner, decompressed if a codec is on.
  void deliver(const std::uint8_t* data, std::size_t n) {
    if (!handler) return;
    if (!decoder) {
      delivering = true;
      handler->on_read(data, n);
      delivering = false;
      return;
    }
    decoded.clear();
    const std::string error = decoder->decode(data, n, decoded);
    if (!decoded.empty()) {
      std::string chunk = std::move(decoded);  // the owner may switch codecs inside on_read
      delivering = true;
      handler->on_read(reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
      delivering = false;
      if (quiet() || !handler) return;
    }
    if (!error.empty()) end_of_input(error);
  }

  void arm_tls_read() {
    if (tls_read_pending) return;
    if (!stalled_input.empty()) {
      // Read while paused: deliver it first (posted: resume may come from inside a handler callback).
      tls_read_pending = true;
      asio::post(socket.get_executor(), [self = shared_from_this()] {
        self->tls_read_pending = false;
        if (self->quiet() || !self->reading || self->delivering) return;
        std::string input = std::move(self->stalled_input);
        self->stalled_input.clear();
        self->deliver(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
        self->arm_read();
      });
      return;
    }
    tls_read_pending = true;
    if (tls_buffer.empty()) tls_buffer.resize(kTlsReadBufferSize);
    tls->async_read_some(asio::buffer(tls_buffer), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                               std::size_t n) {
      self->on_tls_read(ec, n);
    });
  }

  void on_tls_read(const boost::system::error_code& ec, std::size_t n) {
    tls_read_pending = false;
    if (quiet()) return;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      end_of_input("EOF");
      return;
    }
    if (ec) {
      fail(ec.message());
      return;
    }
    if (!reading) {
      stalled_input.append(reinterpret_cast<const char*>(tls_buffer.data()), n);
      return;
    }
    deliver(tls_buffer.data(), n);
    arm_read();
  }

  void resume_reading() {
    reading = true;
    arm_read();
  }

  // --- TLS upgrade ---
  void upgrade_tls(seam::Connection::UpgradeDone done) {
    upgrading = true;
    tls_done = std::move(done);
    if (!writing && queue.empty()) start_handshake();  // else on_write_done starts it once the queue is out
  }

  void start_handshake() {
    handshaking = true;
    tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *tls_ctx);
    linger.expires_after(kHandshakeDeadline);
    linger.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->handshaking || self->quiet()) return;
      self->handshake_timed_out = true;
      boost::system::error_code ignored;
      self->socket.cancel(ignored);
    });
    tls->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](const boost::system::error_code& ec) {
      self->on_handshake(ec);
    });
  }
  bool handshake_timed_out = false;

  void on_handshake(const boost::system::error_code& ec) {
    handshaking = false;
    if (closed) return;
    if (!closing) linger.cancel();
    upgrading = false;
    std::string error;
    if (ec) {
      // Go's wording for the common failures; the peer rarely sees it (it arrives in the clear).
      error = handshake_timed_out ? "read tcp " + local + "->" + remote + ": i/o timeout" : handshake_error(ec);
      tls.reset();
    } else {
      tls_active = true;
    }
    // Writes held during the handshake go out now (over TLS, or in the clear after a failure).
    for (auto& s : held) queue.push_back(std::move(s));
    held.clear();
    if (!queue.empty() && !writing && !closing) start_write();
    auto done = std::move(tls_done);
    tls_done = nullptr;
    if (quiet() || !handler) return;
    if (done) done(error);
    arm_read();
  }

  std::string handshake_error(const boost::system::error_code& ec) const {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return "EOF";
    if (ec.category() == asio::error::get_ssl_category()) {
      const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
      if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return "tls: client didn't provide a certificate";
      if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
      }
      if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST) {
        return "tls: first record does not look like a TLS handshake";
      }
      if (reason == SSL_R_UNSUPPORTED_PROTOCOL) return "tls: client offered only unsupported versions";
    }
    return ec.message();
  }

  seam::Connection::TlsState tls_state() const {
    seam::Connection::TlsState st;
    if (!tls_active) return st;
    SSL* native = const_cast<asio::ssl::stream<tcp::socket&>&>(*tls).native_handle();
    st.version = go_tls_version_name(SSL_version(native));
    if (const SSL_CIPHER* c = SSL_get_current_cipher(native)) {
      st.cipher_suite = go_cipher_suite_name(static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c)));
    }
    // Go has reported NegotiatedProtocolIsMutual as always true since 1.16 (the field is deprecated).
    st.negotiated_protocol_is_mutual = true;
    if (X509* peer = SSL_get1_peer_certificate(native)) {
      char cn[256] = {};
      if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn)) > 0) {
        st.peer_common_name = cn;
      }
      X509_free(peer);
    }
    return st;
  }

  void set_codec(std::unique_ptr<codec::StreamEncoder> e, std::unique_ptr<codec::StreamDecoder> d) {
    encoder = std::move(e);
    decoder = std::move(d);
  }

  void write(std::string&& bytes) {
    if (quiet() || bytes.empty()) return;
    if (encoder) {
      std::string encoded;
      encoder->encode(bytes, encoded);
      bytes = std::move(encoded);
    }
    pending += bytes.size();
    if (upgrading) {
      held.push_back(std::move(bytes));
      return;
    }
    queue.push_back(std::move(bytes));
    if (!writing) start_write();
  }

  // Everything queued goes out as one gather write.
  void start_write() {
    writing = true;
    if (tls_active) {
      // One buffer per write: Asio's SSL stream writes one buffer of a sequence at a time.
      tls_out.clear();
      for (auto& s : queue) tls_out.append(s);
      in_flight.push_back(std::move(tls_out));
      tls_out = std::string();
      queue.clear();
      asio::async_write(*tls, asio::buffer(in_flight.front()),
                        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                          self->on_write_done(ec);
                        });
      return;
    }
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
    if (upgrading && !handshaking) {
      start_handshake();  // the clear-text answer to IDENTIFY is out
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
    for (const auto& s : held) pending -= s.size();
    held.clear();
  }
};

TcpConnection::TcpConnection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
    : impl_(std::make_shared<Impl>(std::move(socket), std::move(tls))) {}

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

bool TcpConnection::upgrade_tls(UpgradeDone done) {
  if (!impl_->tls_ctx || impl_->tls_active || impl_->upgrading || impl_->quiet()) return false;
  impl_->upgrade_tls(std::move(done));
  return true;
}

bool TcpConnection::enable_snappy() {
  impl_->set_codec(codec::make_snappy_encoder(), codec::make_snappy_decoder());
  return true;
}

bool TcpConnection::enable_deflate(int level) {
  impl_->set_codec(codec::make_deflate_encoder(level), codec::make_deflate_decoder());
  return true;
}

seam::Connection::TlsState TcpConnection::tls_state() const { return impl_->tls_state(); }

}  // namespace nsq::io_real
