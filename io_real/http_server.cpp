#include "io_real/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <optional>

namespace nsq::io_real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
// A keep-alive connection that sends nothing for this long is closed (also bounds a slow request or a
// peer that stops reading its response), so half-open connections are not held forever.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
// Lingering close after a refused request: at most this long, and this many bytes read and dropped.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::uint64_t kMaxDiscard = 64 * 1024 * 1024;
// Go's net/http gives a TLS handshake this long (its conn.serve uses the read timeout; nsqd sets none, so we
// bound it like the idle timeout).
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// Go's http.DefaultMaxHeaderBytes.
constexpr std::uint32_t kHeaderLimit = 1 << 20;
}  // namespace

class HttpSessionBase {
 public:
  virtual ~HttpSessionBase() = default;
  virtual void close() = 0;
};

using SessionMap = std::map<std::uint64_t, std::weak_ptr<HttpSessionBase>>;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One HTTP connection: (TLS handshake →) read header → decide the body limit → read body → handle → write →
// repeat. Stream is PlainStream or TlsStream.
template <class Stream>
class HttpSession : public HttpSessionBase, public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;

 public:
  HttpSession(tcp::socket socket, asio::ssl::context* tls, HttpApi& api, std::weak_ptr<SessionMap> registry,
              std::uint64_t id)
      : stream_(make_stream(std::move(socket), tls)), api_(api), registry_(std::move(registry)), id_(id) {}

  ~HttpSession() override {
    if (auto registry = registry_.lock()) registry->erase(id_);
  }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(kHandshakeTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
        if (self->closed_) return;
        if (ec) {
          self->close();  // as Go's server: a failed handshake just ends the connection
          return;
        }
        self->read_header();
      });
    } else {
      read_header();
    }
  }

  void close() override {
    closed_ = true;
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

 private:
  static Stream make_stream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read_header() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(boost::none);  // the real limit depends on the path, known only after the header
    lowest().expires_after(kIdleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      // Malformed requests get Go's plain 400; EOF, timeouts and resets just end the connection.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::eof &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted &&
          ec != asio::ssl::error::stream_truncated && ec.category() != asio::error::get_ssl_category()) {
        respond_bad_request();
      } else {
        close();
      }
      return;
    }
    const auto& header = parser_->get();
    const std::string_view target(header.target().data(), header.target().size());
    const auto question = target.find('?');
    request_ = HttpRequest{};
    request_.tls = kTls;
    request_.method = std::string(header.method_string());
    request_.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request_.query = std::string(target.substr(question + 1));
    if (const auto length = parser_->content_length()) request_.content_length = *length;

    const std::uint64_t limit = api_.body_limit(request_.path);
    if (request_.content_length && *request_.content_length > limit) {
      // Declared too big: answer without reading the body (as nsqd does), then close the connection,
      // since the unread body is still in the stream.
      request_.body_too_large = true;
      must_close_ = true;
      dispatch();
      return;
    }
    if (parser_->is_done()) {  // no body
      dispatch();
      return;
    }
    parser_->body_limit(limit);
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      // As Go's server does when a handler reads the body: let the client (e.g. curl) send it now.
      continue_.emplace(http::status::continue_, header.version());
      http::async_write(stream_, *continue_, [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
        if (self->closed_) return;
        if (write_ec) {
          self->close();
          return;
        }
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_body(ec);
    });
  }

  void on_body(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      // A chunked body ran past the limit: hand over what was read, flagged, and close afterwards.
      request_.body_too_large = true;
      must_close_ = true;
    } else if (ec) {
      close();
      return;
    }
    dispatch();
  }

  void dispatch() {
    auto& body = parser_->get().body();
    request_.body = std::move(body);
    // Usually answered at once; a --durable publish is answered once its messages are fsynced.
    api_.handle_async(request_, [self = shared_from_this()](HttpResponse answer) {
      if (self->closed_) return;
      self->respond(answer);
    });
  }

  void respond(const HttpResponse& answer) {
    const bool keep_alive = parser_->get().keep_alive() && !must_close_;
    response_.emplace(static_cast<http::status>(answer.status), parser_->get().version());
    // Go's reason phrase for 413 (Beast says "Payload Too Large").
    if (answer.status == 413) response_->reason("Request Entity Too Large");
    for (const auto& [name, value] : answer.headers) response_->insert(name, value);
    response_->body() = answer.body;
    response_->keep_alive(keep_alive);
    response_->prepare_payload();  // Content-Length
    // A HEAD answer announces the body's length but carries no body, or keep-alive framing would break.
    if (parser_->get().method() == http::verb::head) response_->body().clear();
    write_response();
  }

  void respond_bad_request() {
    // As Go's net/http for unparsable requests: plain text and close.
    must_close_ = true;
    response_.emplace(http::status::bad_request, 11);
    response_->set(http::field::content_type, "text/plain; charset=utf-8");
    response_->set(http::field::connection, "close");
    response_->body() = "400 Bad Request";
    response_->prepare_payload();
    write_response();
  }

  void write_response() {
    lowest().expires_after(kIdleTimeout);
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(beast::error_code ec) {
    if (closed_) return;
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (ec) {
      close();
      return;
    }
    if (!keep_alive || must_close_) {
      linger_close();
      return;
    }
    read_header();
  }

  // Half-close, then read and drop what the client still sends (e.g. the rest of a body we refused) for a
  // short while: closing with unread input would reset the connection and could destroy the response
  // before a client that writes its whole body first gets to read it.
  void linger_close() {
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(kLingerTimeout);
    discard();
  }

  void discard() {
    if (closed_) return;
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > kMaxDiscard) {
        self->close();
        return;
      }
      self->discard();
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> continue_;
  HttpRequest request_;
  HttpApi& api_;
  std::weak_ptr<SessionMap> registry_;
  std::uint64_t id_;
  std::uint64_t discarded_ = 0;
  bool must_close_ = false;
  bool closed_ = false;
};

HttpServer::HttpServer(asio::io_context& io, const std::string& address, HttpApi& api, seam::Logger& logger,
                       std::shared_ptr<asio::ssl::context> tls)
    : loop_(io, address, logger), api_(api), sessions_(std::make_shared<SessionMap>()), tls_(std::move(tls)) {}

HttpServer::~HttpServer() { close(); }

void HttpServer::start() {
  loop_.start([this](tcp::socket socket) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    const std::uint64_t id = ++next_session_;
    if (tls_) {
      auto session = std::make_shared<HttpSession<TlsStream>>(std::move(socket), tls_.get(), api_, sessions_, id);
      (*sessions_)[id] = session;
      session->start();
    } else {
      auto session = std::make_shared<HttpSession<PlainStream>>(std::move(socket), nullptr, api_, sessions_, id);
      (*sessions_)[id] = session;
      session->start();
    }
  });
}

void HttpServer::close() {
  loop_.close();
  // Copy first: closing a session may release it and make it unregister itself.
  std::vector<std::shared_ptr<HttpSessionBase>> open;
  for (auto& [id, weak] : *sessions_) {
    if (auto session = weak.lock()) open.push_back(std::move(session));
  }
  sessions_->clear();
  for (auto& session : open) session->close();
}

}  // namespace nsq::io_real
