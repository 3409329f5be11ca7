// nsqd's HTTP API semantics, independent of any HTTP library: io_real parses HTTP with Beast and calls
// handle(); io_sim and tests call it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nsq {

class NSQD;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/pub" (no query)
  std::string query;   // raw query string without '?', e.g. "topic=a&defer=10"
  std::string body;
  std::optional<std::uint64_t> content_length;
  bool body_too_large = false;  // the io layer stopped reading at body_limit()+1 bytes
  bool tls = false;             // arrived on the HTTPS listener
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpApi {
 public:
  explicit HttpApi(NSQD& nsqd) : nsqd_(nsqd) {}
  // Largest body the io layer should read for this path; more is flagged body_too_large.
  std::uint64_t body_limit(const std::string& path) const;
  HttpResponse handle(const HttpRequest& req);
  // handle(), but done may run later: in --durable mode a /pub or /mpub is answered once fsynced
  // (http_durable.cpp). done runs on the engine's thread, at once for everything else.
  void handle_async(const HttpRequest& req, std::function<void(HttpResponse)> done);

 private:
  NSQD& nsqd_;
};

}  // namespace nsq
