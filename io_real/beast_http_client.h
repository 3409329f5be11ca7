// seam::HttpClient on Boost.Beast: one connection per request (Connection: close), on the engine's io_context, so
// completions run on the engine's thread. Deadlines as Go's http.Client in nsqd: the dial within the connect
// timeout, the whole exchange within the request timeout. https requests verify the server's certificate and
// host name against root_ca_file (nsqd's --tls-root-ca-file) or the system's CAs, with nsqd's minimum version.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/seam/http_client.h"

namespace nsq::io_real {

struct HttpClientTls {
  std::string root_ca_file;     // "" = the system's CAs
  int min_version = 0x0301;     // TLS protocol version number (0x0301 = TLS 1.0 ... 0x0304 = TLS 1.3)
};

class BeastHttpClient final : public seam::HttpClient {
 public:
  // Throws std::runtime_error if the CA file cannot be loaded.
  explicit BeastHttpClient(boost::asio::io_context& io, HttpClientTls tls = {});
  ~BeastHttpClient() override;
  RequestId request(seam::HttpRequest req, DoneFn done) override;
  void cancel(RequestId id) override;

  struct Exchange;  // one request in flight (beast_http_client.cpp)

 private:
  void finish(RequestId id);
  // Built at construction with a CA file (so a bad file is fatal at start, as nsqd), else at the first https
  // request: loading the system's CA bundle costs ~240M instructions, wasted when nothing uses https.
  boost::asio::ssl::context& tls_context();
  boost::asio::io_context& io_;
  HttpClientTls tls_;
  std::optional<boost::asio::ssl::context> ssl_;
  RequestId last_id_ = 0;
  std::map<RequestId, std::shared_ptr<Exchange>> live_;
};

}  // namespace nsq::io_real
