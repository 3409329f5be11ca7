// Minimal blocking HTTP/1.1 client for integration tests: one request per connection
// (Connection: close), read to EOF with a timeout, parsed by Boost.Beast's response parser.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace nsqit {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // keys lower-cased; last value wins
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Throws std::runtime_error on connection failure, timeout or an unparsable response.
HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::map<std::string, std::string>& extra_headers = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

inline HttpResponse http_get(int port, const std::string& target) { return http_request(port, "GET", target); }
inline HttpResponse http_post(int port, const std::string& target, const std::string& body) {
  return http_request(port, "POST", target, body);
}

// Percent-encodes a query value.
std::string url_encode(const std::string& s);

}  // namespace nsqit
