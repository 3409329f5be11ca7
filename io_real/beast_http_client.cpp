#include "io_real/beast_http_client.h"
#include "io_real/tls_context.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <stdexcept>

namespace nsq::io_real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

struct BeastHttpClient::Exchange {
  explicit Exchange(asio::io_context& io) : resolver(io), stream(io), timer(io) {}
  tcp::resolver resolver;
  beast::tcp_stream stream;
  std::optional<ssl::stream<beast::tcp_stream&>> tls;  // https only, layered on stream
  asio::steady_timer timer;  // the whole-request deadline
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  std::string url;  // "http://host/target", for error texts as Go words them
  DoneFn done;
  std::function<void(seam::HttpResponse)> complete;
  bool finished = false;

  void close() {
    finished = true;
    timer.cancel();
    resolver.cancel();
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  }
  void fail(const std::string& what) {
    seam::HttpResponse resp;
    resp.error = std::string(req.method_string()) + " \"" + url + "\": " + what;
    complete(std::move(resp));
  }
};

namespace {

std::string lowercase_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

using ExchangePtr = std::shared_ptr<BeastHttpClient::Exchange>;

// Write the request and read the answer on s (the TCP stream, or TLS over it).
template <class Stream>
void write_then_read(const ExchangePtr& ex, Stream& s) {
  http::async_write(s, ex->req, [ex, &s](const boost::system::error_code& wec, std::size_t) {
    if (ex->finished) return;
    if (wec) {
      ex->fail(lowercase_first(wec.message()));
      return;
    }
    http::async_read(s, ex->buffer, ex->parser, [ex](const boost::system::error_code& rec, std::size_t) {
      if (ex->finished) return;
      if (rec) {
        ex->fail(rec == http::error::end_of_stream ? std::string("EOF") : lowercase_first(rec.message()));
        return;
      }
      auto& res = ex->parser.get();
      seam::HttpResponse resp;
      resp.status = static_cast<int>(res.result_int());
      resp.status_text = std::to_string(resp.status) + " " + std::string(res.reason());
      resp.body = std::move(res.body());
      ex->complete(std::move(resp));
    });
  });
}

}  // namespace

BeastHttpClient::BeastHttpClient(asio::io_context& io, HttpClientTls tls) : io_(io), tls_(std::move(tls)) {
  if (!tls_.root_ca_file.empty()) tls_context();
}

ssl::context& BeastHttpClient::tls_context() {
  if (ssl_) return *ssl_;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (tls_.root_ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(tls_.root_ca_file, ec);
    if (ec) {
      const std::string open_error = go_open_error(tls_.root_ca_file);  // Go's words when it cannot be read
      throw std::runtime_error(!open_error.empty() ? open_error : "failed to load " + tls_.root_ca_file + " - " + ec.message());
    }
  }
  SSL_CTX_set_min_proto_version(ctx.native_handle(), tls_.min_version);
  ssl_.emplace(std::move(ctx));
  return *ssl_;
}

BeastHttpClient::~BeastHttpClient() {
  for (auto& [id, ex] : live_) ex->close();
}

void BeastHttpClient::cancel(RequestId id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::shared_ptr<Exchange> ex = it->second;
  live_.erase(it);
  ex->close();
}

void BeastHttpClient::finish(RequestId id) { live_.erase(id); }

seam::HttpClient::RequestId BeastHttpClient::request(seam::HttpRequest r, DoneFn done) {
  const RequestId id = ++last_id_;
  auto ex = std::make_shared<Exchange>(io_);
  ex->done = std::move(done);
  ex->url = std::string(r.https ? "https://" : "http://") + r.host + r.target;
  ex->parser.body_limit(64 * 1024 * 1024);
  ex->req.method_string(r.method);
  ex->req.target(r.target);
  ex->req.version(11);
  ex->req.set(http::field::host, r.host);
  ex->req.set(http::field::user_agent, "nsqd-cpp");
  ex->req.set(http::field::connection, "close");
  for (const auto& [name, value] : r.headers) ex->req.set(name, value);
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    ex->req.body() = r.body;
    ex->req.prepare_payload();
  }
  live_.emplace(id, ex);
  // Every completion checks `finished` first: a cancel, the deadline or an earlier failure may have won. The
  // Exchange never holds itself (complete captures it weakly), so a finished one is freed.
  std::weak_ptr<Exchange> weak = ex;
  ex->complete = [this, id, weak](seam::HttpResponse resp) {
    auto ex = weak.lock();
    if (!ex || ex->finished) return;
    ex->close();
    finish(id);
    DoneFn fn = std::move(ex->done);
    fn(std::move(resp));
  };

  const std::int64_t request_ns = r.request_timeout_ns > 0 ? r.request_timeout_ns : 0;
  const std::int64_t connect_ns =
      r.connect_timeout_ns > 0 && (request_ns == 0 || r.connect_timeout_ns < request_ns) ? r.connect_timeout_ns
                                                                                          : request_ns;
  if (request_ns > 0) {
    ex->timer.expires_after(std::chrono::nanoseconds(request_ns));
    ex->timer.async_wait([ex](const boost::system::error_code& ec) {
      if (ec || ex->finished) return;
      ex->fail("context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
    });
  }

  const auto colon = r.host.rfind(':');
  std::string host = colon == std::string::npos ? r.host : r.host.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? std::string(r.https ? "443" : "80") : r.host.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string dial_address = r.host;
  const bool https = r.https;

  ex->resolver.async_resolve(host, port, [this, ex, connect_ns, dial_address, host, https](
                                             const boost::system::error_code& ec,
                                             const tcp::resolver::results_type& results) {
    if (ex->finished) return;
    if (ec) {
      ex->fail("dial tcp " + dial_address + ": lookup " + host + ": " + lowercase_first(ec.message()));
      return;
    }
    if (connect_ns > 0) ex->stream.expires_after(std::chrono::nanoseconds(connect_ns));
    ex->stream.async_connect(results, [this, ex, dial_address, host, https](const boost::system::error_code& cec,
                                                                            const tcp::endpoint&) {
      if (ex->finished) return;
      if (cec) {
        ex->fail("dial tcp " + dial_address + ": " +
                 (cec == beast::error::timeout ? std::string("i/o timeout")
                                               : "connect: " + lowercase_first(cec.message())));
        return;
      }
      ex->stream.expires_never();  // the request deadline (timer) covers the rest
      if (!https) {
        write_then_read(ex, ex->stream);
        return;
      }
      ex->tls.emplace(ex->stream, tls_context());
      SSL_set_tlsext_host_name(ex->tls->native_handle(), host.c_str());
      ex->tls->set_verify_callback(ssl::host_name_verification(host));
      ex->tls->async_handshake(ssl::stream_base::client, [ex](const boost::system::error_code& hec) {
        if (ex->finished) return;
        if (hec) {
          ex->fail("tls: " + lowercase_first(hec.message()));
          return;
        }
        write_then_read(ex, *ex->tls);
      });
    });
  });
  return id;
}

}  // namespace nsq::io_real
