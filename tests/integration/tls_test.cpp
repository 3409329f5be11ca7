// TLS as nsqd v1.3.0 does it: IDENTIFY tls_v1 → JSON in the clear → server handshake → OK over TLS; client
// certificate policies; --tls-required on TCP and HTTP; the HTTPS listener; --tls-min-version; start-up errors.
// Certificates are made per test binary run with Debian's openssl CLI.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <regex>
#include <thread>

#include "daemon.h"
#include "http_client.h"
#include "secure_client.h"

namespace nsqit {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Json = nlohmann::json;

const TestCerts& certs() {
  static TestCerts c;
  return c;
}

std::vector<std::string> tls_flags(std::vector<std::string> more = {}) {
  std::vector<std::string> f{"--tls-cert=" + certs().server_cert, "--tls-key=" + certs().server_key,
                             "--https-address=127.0.0.1:0"};
  for (auto& m : more) f.push_back(std::move(m));
  return f;
}

int https_port(Daemon& d) {
  static const std::regex re(R"(HTTPS: listening on 127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 100; ++i) {
    std::smatch m;
    const std::string out = d.output();
    if (std::regex_search(out, m, re)) return std::stoi(m[1]);
    std::this_thread::sleep_for(Ms(50));
  }
  throw std::runtime_error("no HTTPS listener line in:\n" + d.output());
}

// IDENTIFY with feature negotiation; returns the JSON answer (read in the clear).
Json identify(SecureClient& c, const std::string& json) {
  c.send_with_body("IDENTIFY", json);
  const Frame f = c.read_frame();
  if (f.type != FrameType::Response) throw ClientError("IDENTIFY: " + f.describe());
  return Json::parse(f.data);
}

// IDENTIFY tls_v1, handshake, and the OK nsqd sends over TLS.
void upgrade(SecureClient& c, const TlsClientOptions& opts = {}) {
  const Json j = identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
  ASSERT_TRUE(j.at("tls_v1").get<bool>());
  c.start_tls(opts);
  const Frame ok = c.read_frame();
  ASSERT_EQ(ok.describe(), "response 'OK'");
}

::testing::AssertionResult pub_sub_round_trip(SecureClient& c, const std::string& topic) {
  c.send_with_body("PUB " + topic, "hello over tls");
  if (Frame f = c.read_frame(); f.describe() != "response 'OK'") return ::testing::AssertionFailure() << f.describe();
  c.send_line("SUB " + topic + " ch");
  if (Frame f = c.read_frame(); f.describe() != "response 'OK'") return ::testing::AssertionFailure() << f.describe();
  c.send_line("RDY 1");
  const Frame m = c.read_frame();
  if (m.type != FrameType::Message) return ::testing::AssertionFailure() << m.describe();
  const Message msg = parse_message(m.data);
  if (msg.body != "hello over tls") return ::testing::AssertionFailure() << msg.body;
  c.send_line("FIN " + msg.id);
  return ::testing::AssertionSuccess();
}

struct HttpsAnswer {
  int status = 0;
  std::string body;
};

// One GET over HTTPS with a bounded wait; throws on TLS or I/O failure.
HttpsAnswer https_get(int port, const std::string& target, const TlsClientOptions& opts = {}) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  if (!opts.ca_file.empty()) {
    ctx.load_verify_file(opts.ca_file);
    ctx.set_verify_mode(asio::ssl::verify_peer);
  }
  if (!opts.cert_file.empty()) {
    ctx.use_certificate_chain_file(opts.cert_file);
    ctx.use_private_key_file(opts.key_file, asio::ssl::context::pem);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  beast::get_lowest_layer(stream).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::http::request<beast::http::empty_body> req(beast::http::verb::get, target, 11);
  req.set(beast::http::field::host, "127.0.0.1");
  beast::http::response<beast::http::string_body> res;
  beast::flat_buffer buffer;
  beast::error_code result;
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    beast::http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        result = wec;
        return;
      }
      beast::http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) { result = rec; });
    });
  });
  io.run();
  if (result) throw ClientError("HTTPS GET " + target + ": " + result.message());
  return HttpsAnswer{static_cast<int>(res.result_int()), res.body()};
}

Json client_stats(int http_port, const std::string& topic) {
  const Json stats = Json::parse(http_get(http_port, "/stats?format=json&topic=" + topic).body);
  return stats.at("topics").at(0).at("channels").at(0).at("clients").at(0);
}

TEST(Tls, IdentifyUpgradesThenOkOverTlsAndStatsShowTheSession) {
  Daemon d(tls_flags());
  SecureClient c(d.tcp_port());
  upgrade(c, TlsClientOptions{certs().ca_cert});  // the server certificate verifies against our CA
  ASSERT_TRUE(pub_sub_round_trip(c, "tls_stats"));
  const Json cl = client_stats(d.http_port(), "tls_stats");
  EXPECT_TRUE(cl.at("tls").get<bool>());
  EXPECT_EQ(cl.at("tls_version"), "TLS1.3");
  // Go's name table predates TLS 1.3: nsqd prints those suites as "Unknown <IANA id>", and (as Go) the server
  // picks TLS_AES_128_GCM_SHA256 (0x1301) first even when the client prefers AES-256.
  EXPECT_EQ(cl.at("tls_cipher_suite"), "Unknown 4865");
  EXPECT_EQ(cl.at("tls_negotiated_protocol"), "");
  EXPECT_FALSE(cl.at("snappy").get<bool>());
  EXPECT_FALSE(cl.at("deflate").get<bool>());
  // Key order as nsqd: tls fields last.
  const std::string text = http_get(d.http_port(), "/stats?format=json&topic=tls_stats").body;
  EXPECT_NE(text.find(R"("tls":true,"tls_cipher_suite":")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("tls_version":"TLS1.3","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":true})"),
            std::string::npos)
      << text;
}

TEST(Tls, Tls12SessionNamesItsSuiteAsGoDoes) {
  Daemon d(tls_flags());
  SecureClient c(d.tcp_port());
  upgrade(c, TlsClientOptions{"", "", "", TLS1_2_VERSION});
  ASSERT_TRUE(pub_sub_round_trip(c, "tls12"));
  const Json cl = client_stats(d.http_port(), "tls12");
  EXPECT_EQ(cl.at("tls_version"), "TLS1.2");
  // An EC certificate: Go's first choice and a name in nsqd's table.
  EXPECT_EQ(cl.at("tls_cipher_suite"), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
}

TEST(Tls, NotGrantedWithoutCertificateAndConnectionStaysPlain) {
  Daemon d;
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
  EXPECT_FALSE(j.at("tls_v1").get<bool>());
  c.send_with_body("PUB plain", "x");
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
}

TEST(Tls, NotRequestedMeansNoUpgrade) {
  Daemon d(tls_flags());
  SecureClient c(d.tcp_port());
  const Json j = identify(c, R"({"feature_negotiation":true})");
  EXPECT_FALSE(j.at("tls_v1").get<bool>());
  c.send_with_body("PUB plain", "x");
  EXPECT_EQ(c.read_frame().describe(), "response 'OK'");
}

TEST(Tls, RequiredRejectsPlainCommandsButAllowsIdentify) {
  Daemon d(tls_flags({"--tls-required=true"}));
  {
    SecureClient c(d.tcp_port());
    c.send_line("NOP");
    EXPECT_EQ(c.read_frame().describe(), "error 'E_INVALID cannot NOP in current state (TLS required)'");
    EXPECT_TRUE(c.closed_within(Ms(3000)));
  }
  {
    SecureClient c(d.tcp_port());
    c.send_line("BOGUS x");  // even unknown words get the TLS answer, echoed raw
    EXPECT_EQ(c.read_frame().describe(), "error 'E_INVALID cannot BOGUS in current state (TLS required)'");
  }
  {
    SecureClient c(d.tcp_port());
    const Json j = identify(c, R"({"feature_negotiation":true,"tls_v1":false})");
    EXPECT_FALSE(j.at("tls_v1").get<bool>());
    c.send_with_body("PUB t", "x");
    EXPECT_EQ(c.read_frame().describe(), "error 'E_INVALID cannot PUB in current state (TLS required)'");
  }
  {
    SecureClient c(d.tcp_port());
    upgrade(c);
    EXPECT_TRUE(pub_sub_round_trip(c, "required"));
  }
}

TEST(Tls, RequiredPlainHttpAnswers403WithHttpsPortAndHttpsServes) {
  Daemon d(tls_flags({"--tls-required=true"}));
  const int port = https_port(d);
  for (const std::string path : {"/ping", "/stats", "/nope"}) {
    const auto r = http_get(d.http_port(), path);
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(r.body, R"({"message": "TLS_REQUIRED", "https_port": )" + std::to_string(port) + "}");
    EXPECT_EQ(r.header("x-nsq-content-type"), "nsq; version=1.0");
  }
  const HttpsAnswer ping = https_get(port, "/ping", TlsClientOptions{certs().ca_cert});
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "OK");
  const HttpsAnswer info = https_get(port, "/info");
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(Json::parse(info.body).at("version"), "1.3.0");
}

TEST(Tls, TcpHttpsModeLeavesPlainHttpOpenButRequiresTlsOnTcp) {
  Daemon d(tls_flags({"--tls-required=tcp-https"}));
  EXPECT_EQ(http_get(d.http_port(), "/ping").body, "OK");
  EXPECT_EQ(https_get(https_port(d), "/ping").body, "OK");
  SecureClient c(d.tcp_port());
  c.send_line("NOP");
  EXPECT_EQ(c.read_frame().describe(), "error 'E_INVALID cannot NOP in current state (TLS required)'");
}

TEST(Tls, HttpsListenerWithoutTlsRequiredServesTheSameRoutes) {
  Daemon d(tls_flags());
  const int port = https_port(d);
  EXPECT_EQ(http_get(d.http_port(), "/ping").body, "OK");
  EXPECT_EQ(https_get(port, "/ping").body, "OK");
  EXPECT_EQ(https_get(port, "/topic/create?topic=x").status, 405);  // GET on a POST route, as over HTTP
}

TEST(Tls, PolicyRequireNeedsAnyClientCertificate) {
  Daemon d(tls_flags({"--tls-client-auth-policy=require"}));
  {
    SecureClient c(d.tcp_port());
    identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
    // TLS 1.3: the client's handshake may complete; the refusal shows on the first read.
    bool refused = false;
    try {
      c.start_tls({});
      c.read_frame(Ms(5000));
    } catch (const ClientError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  }
  for (const auto& [cert, key] : {std::pair{certs().client_cert, certs().client_key},
                                  std::pair{certs().other_cert, certs().other_key}}) {
    SecureClient c(d.tcp_port());
    upgrade(c, TlsClientOptions{"", cert, key});  // any certificate will do, even from another CA
    EXPECT_TRUE(pub_sub_round_trip(c, "require"));
  }
}

TEST(Tls, PolicyRequireVerifyNeedsACertificateFromTheRootCa) {
  Daemon d(tls_flags({"--tls-client-auth-policy=require-verify", "--tls-root-ca-file=" + certs().ca_cert}));
  {
    SecureClient c(d.tcp_port());
    upgrade(c, TlsClientOptions{certs().ca_cert, certs().client_cert, certs().client_key});
    EXPECT_TRUE(pub_sub_round_trip(c, "verify"));
  }
  for (const auto& [cert, key] : {std::pair{std::string(), std::string()},
                                  std::pair{certs().other_cert, certs().other_key}}) {
    SecureClient c(d.tcp_port());
    identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
    bool refused = false;
    try {
      c.start_tls(TlsClientOptions{"", cert, key});
      c.read_frame(Ms(5000));
    } catch (const ClientError&) {
      refused = true;
    }
    EXPECT_TRUE(refused) << (cert.empty() ? "no certificate" : cert);
  }
  // The policy turns tls-required on, and HTTPS asks for the certificate too.
  EXPECT_EQ(http_get(d.http_port(), "/ping").status, 403);
  const int port = https_port(d);
  EXPECT_EQ(https_get(port, "/ping", TlsClientOptions{"", certs().client_cert, certs().client_key}).body, "OK");
  EXPECT_THROW(https_get(port, "/ping", TlsClientOptions{"", certs().other_cert, certs().other_key}), ClientError);
}

TEST(Tls, GarbageInsteadOfHandshakeGetsIdentifyFailedInTheClearAndClose) {
  Daemon d(tls_flags());
  SecureClient c(d.tcp_port());
  identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
  c.send_plain("PUB t\n\x00\x00\x00\x01x this is not a TLS ClientHello at all ......................\n");
  const Frame f = c.read_frame();
  EXPECT_EQ(f.type, FrameType::Error);
  EXPECT_EQ(f.data.rfind("E_IDENTIFY_FAILED IDENTIFY failed ", 0), 0u) << f.data;
  EXPECT_TRUE(c.closed_within(Ms(3000)));
}

TEST(Tls, MinVersionRefusesOlderClients) {
  Daemon d(tls_flags({"--tls-min-version=tls1.3"}));
  SecureClient c(d.tcp_port());
  identify(c, R"({"feature_negotiation":true,"tls_v1":true})");
  EXPECT_THROW(c.start_tls(TlsClientOptions{"", "", "", TLS1_2_VERSION}), ClientError);
}

TEST(Tls, StartupFailsOnUnreadableCertificate) {
  TempDir tmp;
  const auto r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=",
                              "--data-path=" + tmp.path().string(), "--tls-cert=/nonexistent/cert.pem",
                              "--tls-key=" + certs().server_key},
                             Ms(10000));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("failed to build TLS config - open /nonexistent/cert.pem: no such file or directory"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace nsqit
