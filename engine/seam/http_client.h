// Seam: outgoing HTTP/1.1 requests (nsqlookupd's /channels, the auth server). io_real sends them with Boost.Beast
// on the engine's io_context; io_sim answers from handlers registered per host:port on the virtual clock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nsq::seam {

struct HttpRequest {
  std::string method = "GET";
  bool https = false;  // TLS, the server verified against --tls-root-ca-file or the system's CAs
  std::string host;    // "host:port" (an IPv6 host in brackets)
  std::string target;  // path and query, e.g. "/channels?topic=t"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // As Go's http.Client nsqd builds: the dial must finish within connect_timeout_ns, and the whole exchange
  // (dial included) within request_timeout_ns.
  std::int64_t connect_timeout_ns = 2'000'000'000;
  std::int64_t request_timeout_ns = 5'000'000'000;
};

struct HttpResponse {
  std::string error;  // non-empty: no response (dial failure, timeout, malformed answer); status is then 0
  int status = 0;
  std::string status_text;  // "200 OK", as Go's resp.Status
  std::string body;
};

class HttpClient {
 public:
  using RequestId = std::uint64_t;
  using DoneFn = std::function<void(HttpResponse)>;
  virtual ~HttpClient() = default;
  // Starts a request. done runs exactly once, later, on the engine's thread (never inside request()), unless the
  // request is cancelled first. Returns a non-zero id.
  virtual RequestId request(HttpRequest req, DoneFn done) = 0;
  // Abandons a request: its done never runs. Unknown or finished ids are ignored. The owner of a request calls
  // this when it goes away before the answer.
  virtual void cancel(RequestId id) = 0;
};

}  // namespace nsq::seam
