#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace nsqit {

namespace http = boost::beast::http;

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HttpResponse http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                          const std::map<std::string, std::string>& extra_headers,
                          std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("HTTP connect to port " + std::to_string(port) + ": " + std::strerror(errno));

  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\nUser-Agent: nsqd-cpp-integration\r\n";
  bool has_cl = false;
  for (const auto& [k, v] : extra_headers) {
    req += k + ": " + v + "\r\n";
    std::string lk = k;
    std::transform(lk.begin(), lk.end(), lk.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lk == "content-length") has_cl = true;
  }
  if (!has_cl && (method == "POST" || method == "PUT" || !body.empty()))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  std::size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may answer early (e.g. 413) and close; read what it said
    off += static_cast<std::size_t>(n);
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  std::string raw;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  boost::beast::error_code ec;
  std::size_t consumed = 0;
  bool eof = false;
  while (!parser.is_done()) {
    // feed what we have
    while (consumed < raw.size() && !parser.is_done()) {
      std::size_t used = parser.put(boost::asio::buffer(raw.data() + consumed, raw.size() - consumed), ec);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) throw std::runtime_error("bad HTTP response: " + ec.message() + "; raw: " + raw.substr(0, 300));
      consumed += used;
      if (used == 0) break;
    }
    if (parser.is_done()) break;
    if (eof) {
      parser.put_eof(ec);
      if (ec) throw std::runtime_error("HTTP response truncated: " + ec.message() + "; raw: " + raw.substr(0, 300));
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("HTTP response timed out; raw so far: " + raw.substr(0, 300));
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    char tmp[16384];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      if (raw.empty()) throw std::runtime_error("HTTP connection closed without a response");
      continue;
    }
    raw.append(tmp, static_cast<std::size_t>(n));
  }
  HttpResponse out;
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    std::string k(f.name_string());
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[k] = std::string(f.value());
  }
  return out;
}

}  // namespace nsqit
