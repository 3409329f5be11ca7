#include "io_real/beast_http_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace nsq::io_real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct BeastHttpClient::Exchange {
  explicit Exchange(asio::io_context& io) : resolver(io), stream(io), timer(io) {}
  tcp::resolver resolver;
  beast::tcp_stream stream;
  asio::steady_timer timer;  // the whole-request deadline
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  std::string url;  // "http://host/target", for error texts as Go words them
  std::chrono::steady_clock::time_point connect_deadline;
  DoneFn done;
  bool finished = false;
  bool timed_out = false;
};

namespace {

std::string lowercase_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

BeastHttpClient::~BeastHttpClient() {
  for (auto& [id, ex] : live_) {
    ex->finished = true;
    boost::system::error_code ignored;
    ex->timer.cancel();
    ex->resolver.cancel();
    ex->stream.socket().close(ignored);
  }
}

void BeastHttpClient::cancel(RequestId id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::shared_ptr<Exchange> ex = it->second;
  live_.erase(it);
  ex->finished = true;
  ex->timer.cancel();
  ex->resolver.cancel();
  boost::system::error_code ignored;
  ex->stream.socket().close(ignored);
}

void BeastHttpClient::finish(RequestId id) { live_.erase(id); }

seam::HttpClient::RequestId BeastHttpClient::request(seam::HttpRequest r, DoneFn done) {
  const RequestId id = ++last_id_;
  auto ex = std::make_shared<Exchange>(io_);
  ex->done = std::move(done);
  ex->url = "http://" + r.host + r.target;
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

  // Every completion below checks `finished` first: a cancel, the deadline or an earlier failure may have won.
  auto complete = [this, id, ex](seam::HttpResponse resp) {
    if (ex->finished) return;
    ex->finished = true;
    ex->timer.cancel();
    boost::system::error_code ignored;
    ex->stream.socket().close(ignored);
    finish(id);
    DoneFn fn = std::move(ex->done);
    fn(std::move(resp));
  };
  auto fail = [ex, complete](const std::string& what) {
    seam::HttpResponse resp;
    resp.error = std::string(ex->req.method_string()) + " \"" + ex->url + "\": " + what;
    complete(std::move(resp));
  };

  const std::int64_t request_ns = r.request_timeout_ns > 0 ? r.request_timeout_ns : 0;
  const std::int64_t connect_ns =
      r.connect_timeout_ns > 0 && (request_ns == 0 || r.connect_timeout_ns < request_ns) ? r.connect_timeout_ns
                                                                                          : request_ns;
  if (request_ns > 0) {
    ex->timer.expires_after(std::chrono::nanoseconds(request_ns));
    ex->timer.async_wait([ex, fail](const boost::system::error_code& ec) {
      if (ec || ex->finished) return;
      ex->timed_out = true;
      fail("context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
    });
  }

  const auto colon = r.host.rfind(':');
  std::string host = colon == std::string::npos ? r.host : r.host.substr(0, colon);
  const std::string port = colon == std::string::npos ? std::string("80") : r.host.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string dial_address = r.host;

  ex->resolver.async_resolve(
      host, port,
      [ex, fail, complete, connect_ns, dial_address](const boost::system::error_code& ec,
                                                     const tcp::resolver::results_type& results) {
        if (ex->finished) return;
        if (ec) {
          fail("dial tcp " + dial_address + ": lookup: " + lowercase_first(ec.message()));
          return;
        }
        if (connect_ns > 0) ex->stream.expires_after(std::chrono::nanoseconds(connect_ns));
        ex->stream.async_connect(results, [ex, fail, complete, dial_address](const boost::system::error_code& cec,
                                                                             const tcp::endpoint&) {
          if (ex->finished) return;
          if (cec) {
            fail("dial tcp " + dial_address + ": " +
                 (cec == beast::error::timeout ? std::string("i/o timeout") : "connect: " + lowercase_first(cec.message())));
            return;
          }
          ex->stream.expires_never();  // the request deadline (timer) covers the rest
          http::async_write(ex->stream, ex->req, [ex, fail, complete](const boost::system::error_code& wec, std::size_t) {
            if (ex->finished) return;
            if (wec) {
              fail(lowercase_first(wec.message()));
              return;
            }
            http::async_read(ex->stream, ex->buffer, ex->parser,
                             [ex, fail, complete](const boost::system::error_code& rec, std::size_t) {
                               if (ex->finished) return;
                               if (rec) {
                                 fail(rec == http::error::end_of_stream ? std::string("EOF")
                                                                        : lowercase_first(rec.message()));
                                 return;
                               }
                               auto& res = ex->parser.get();
                               seam::HttpResponse resp;
                               resp.status = static_cast<int>(res.result_int());
                               resp.status_text = std::to_string(resp.status) + " " + std::string(res.reason());
                               resp.body = std::move(res.body());
                               complete(std::move(resp));
                             });
          });
        });
      });
  return id;
}

}  // namespace nsq::io_real
