// BeastHttpClient against an in-process HTTP server on 127.0.0.1:0, all on one io_context (as in the daemon).
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "io_real/beast_http_client.h"

namespace nsq::io_real {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;

// Accepts connections and answers each request with `reply_body` (or never, when hang is set).
class TestServer {
 public:
  explicit TestServer(asio::io_context& io) : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }

  bool hang = false;
  int status = 200;
  std::string reply_body = "hello";
  std::optional<http::request<http::string_body>> last;

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s));
      http::async_read(c->socket, c->buf, c->req, [this, c](boost::system::error_code rec, std::size_t) {
        if (rec) return;
        last = c->req;
        if (hang) {
          held_.push_back(c);
          return;
        }
        c->res.result(status);
        c->res.version(11);
        c->res.body() = reply_body;
        c->res.prepare_payload();
        http::async_write(c->socket, c->res, [c](boost::system::error_code, std::size_t) {
          boost::system::error_code ignored;
          c->socket.shutdown(tcp::socket::shutdown_both, ignored);
        });
      });
      accept();
    });
  }
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Conn>> held_;
};

// Runs the loop until pred or the time limit.
template <class Pred>
void run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) io.run_one_for(std::chrono::milliseconds(10));
}

TEST(BeastHttpClient, SendsTheRequestAndReturnsTheAnswer) {
  asio::io_context io;
  TestServer server(io);
  server.status = 500;
  server.reply_body = R"({"message":"boom"})";
  BeastHttpClient client(io);
  seam::HttpRequest req;
  req.method = "POST";
  req.host = server.host();
  req.target = "/auth?x=1";
  req.headers = {{"Accept", "application/vnd.nsq; version=1.0"}, {"Content-Type", "application/json"}};
  req.body = R"({"secret":["s"]})";
  std::optional<seam::HttpResponse> got;
  client.request(req, [&](seam::HttpResponse r) { got = std::move(r); });
  EXPECT_FALSE(got) << "never inside request()";
  run_until(io, [&] { return got.has_value(); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->status, 500);
  EXPECT_EQ(got->status_text, "500 Internal Server Error");
  EXPECT_EQ(got->body, R"({"message":"boom"})");
  ASSERT_TRUE(server.last);
  EXPECT_EQ(server.last->method_string(), "POST");
  EXPECT_EQ(server.last->target(), "/auth?x=1");
  EXPECT_EQ(server.last->at("Accept"), "application/vnd.nsq; version=1.0");
  EXPECT_EQ(server.last->at("Content-Type"), "application/json");
  EXPECT_EQ(server.last->body(), R"({"secret":["s"]})");
}

TEST(BeastHttpClient, RefusedConnectionIsAnError) {
  asio::io_context io;
  int port = 0;
  {
    TestServer gone(io);
    port = gone.port();
  }
  BeastHttpClient client(io);
  seam::HttpRequest req;
  req.host = "127.0.0.1:" + std::to_string(port);
  req.target = "/channels?topic=t";
  std::optional<seam::HttpResponse> got;
  client.request(req, [&](seam::HttpResponse r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 0);
  EXPECT_NE(got->error.find("connection refused"), std::string::npos) << got->error;
}

TEST(BeastHttpClient, UnansweredRequestFailsAtTheRequestTimeout) {
  asio::io_context io;
  TestServer server(io);
  server.hang = true;
  BeastHttpClient client(io);
  seam::HttpRequest req;
  req.host = server.host();
  req.target = "/";
  req.request_timeout_ns = 300'000'000;
  std::optional<seam::HttpResponse> got;
  const auto t0 = std::chrono::steady_clock::now();
  client.request(req, [&](seam::HttpResponse r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(got);
  EXPECT_NE(got->error.find("Client.Timeout exceeded"), std::string::npos) << got->error;
  EXPECT_GE(waited, std::chrono::milliseconds(280));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
}

TEST(BeastHttpClient, CancelledOrAbandonedRequestsNeverCallBack) {
  asio::io_context io;
  TestServer server(io);
  int calls = 0;
  seam::HttpRequest req;
  req.host = server.host();
  req.target = "/";
  {
    BeastHttpClient client(io);
    const auto id = client.request(req, [&](seam::HttpResponse) { ++calls; });
    client.cancel(id);
    client.cancel(id);  // twice is harmless
    client.request(req, [&](seam::HttpResponse) { ++calls; });  // the client goes away with this one pending
  }
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(calls, 0);
}

// A self-signed certificate for 127.0.0.1, made with Debian's openssl in a private temporary directory.
struct TestCert {
  TestCert() {
    dir = std::filesystem::temp_directory_path() / ("nsqd-cpp-https-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                            "-addext subjectAltName=IP:127.0.0.1 -keyout " + (dir / "key.pem").string() +
                            " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~TestCert() { std::filesystem::remove_all(dir); }
  std::string cert() const { return (dir / "cert.pem").string(); }
  std::string key() const { return (dir / "key.pem").string(); }
  std::filesystem::path dir;
  bool ok = false;
};

// One TLS connection: handshake, read a request, answer "secure".
void serve_tls_once(tcp::acceptor& acceptor, ssl::context& ctx) {
  struct Conn {
    Conn(tcp::socket s, ssl::context& c) : tls(std::move(s), c) {}
    ssl::stream<tcp::socket> tls;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };
  acceptor.async_accept([&ctx](boost::system::error_code ec, tcp::socket s) {
    if (ec) return;
    auto c = std::make_shared<Conn>(std::move(s), ctx);
    c->tls.async_handshake(ssl::stream_base::server, [c](boost::system::error_code hec) {
      if (hec) return;
      http::async_read(c->tls, c->buf, c->req, [c](boost::system::error_code rec, std::size_t) {
        if (rec) return;
        c->res.result(200);
        c->res.version(11);
        c->res.body() = "secure " + std::string(c->req.target());
        c->res.prepare_payload();
        http::async_write(c->tls, c->res, [c](boost::system::error_code, std::size_t) {});
      });
    });
  });
}

TEST(BeastHttpClient, HttpsVerifiesTheServerAgainstTheGivenCa) {
  TestCert cert;
  ASSERT_TRUE(cert.ok) << "openssl could not make a test certificate";
  asio::io_context io;
  ssl::context server_ctx(ssl::context::tls_server);
  server_ctx.use_certificate_chain_file(cert.cert());
  server_ctx.use_private_key_file(cert.key(), ssl::context::pem);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string host = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  seam::HttpRequest req;
  req.https = true;
  req.host = host;
  req.target = "/auth?secret=s";
  {
    serve_tls_once(acceptor, server_ctx);
    BeastHttpClient client(io, HttpClientTls{cert.cert(), 0x0303});
    std::optional<seam::HttpResponse> got;
    client.request(req, [&](seam::HttpResponse r) { got = std::move(r); });
    run_until(io, [&] { return got.has_value(); });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->error, "");
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->body, "secure /auth?secret=s");
  }
  {
    // The system's CAs do not know this certificate.
    serve_tls_once(acceptor, server_ctx);
    BeastHttpClient client(io);
    std::optional<seam::HttpResponse> got;
    client.request(req, [&](seam::HttpResponse r) { got = std::move(r); });
    run_until(io, [&] { return got.has_value(); });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 0);
    EXPECT_NE(got->error.find("certificate verify failed"), std::string::npos) << got->error;
  }
  EXPECT_THROW(BeastHttpClient(io, HttpClientTls{(cert.dir / "missing.pem").string(), 0x0301}), std::runtime_error);
}

}  // namespace
}  // namespace nsq::io_real
