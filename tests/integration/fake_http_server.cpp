#include "fake_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace nsqit {

namespace {

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

}  // namespace

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) throw std::runtime_error("bind");
  ::listen(listen_fd_, 16);
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_ = true;
  thread_.join();
  for (int fd : hung_) ::close(fd);
  ::close(listen_fd_);
}

void FakeHttpServer::set_handler(Handler h) {
  std::lock_guard lk(mu_);
  handler_ = std::move(h);
}

std::vector<FakeHttpRequest> FakeHttpServer::requests() {
  std::lock_guard lk(mu_);
  return requests_;
}

bool FakeHttpServer::wait_requests(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return requests_.size() >= n; });
}

void FakeHttpServer::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd >= 0) serve(fd);
  }
}

void FakeHttpServer::serve(int fd) {
  std::string buf;
  std::size_t head_end = std::string::npos;
  std::size_t content_length = 0;
  FakeHttpRequest req;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    if (head_end != std::string::npos && buf.size() >= head_end + 4 + content_length) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char tmp[4096];
    const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = buf.find("\r\n\r\n")) != std::string::npos) {
      std::size_t line_end = buf.find("\r\n");
      const std::string first = buf.substr(0, line_end);
      const auto sp1 = first.find(' '), sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t pos = line_end + 2;
      while (pos < head_end) {
        const std::size_t e = buf.find("\r\n", pos);
        const std::string h = buf.substr(pos, e - pos);
        const auto colon = h.find(':');
        std::string key = h.substr(0, colon);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers[key] = value;
        pos = e + 2;
      }
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
        content_length = std::stoul(it->second);
      }
    }
  }
  if (head_end == std::string::npos) {
    ::close(fd);
    return;
  }
  req.body = buf.substr(head_end + 4, content_length);
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) {
    std::string rest = req.target.substr(q + 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
      std::size_t amp = rest.find('&', start);
      if (amp == std::string::npos) amp = rest.size();
      const std::string kv = rest.substr(start, amp - start);
      const auto eq = kv.find('=');
      const std::string k = url_decode(kv.substr(0, eq));
      const std::string v = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
      if (!k.empty()) req.query.emplace(k, v);
      start = amp + 1;
    }
  }
  Handler handler;
  {
    std::lock_guard lk(mu_);
    handler = handler_;
  }
  const FakeHttpReply reply = handler(req);
  {
    std::lock_guard lk(mu_);
    requests_.push_back(req);
    cv_.notify_all();
  }
  if (reply.hang) {
    hung_.push_back(fd);
    return;
  }
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) + "\r\n";
  out += "Content-Type: " + reply.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body;
  (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  ::close(fd);
}

}  // namespace nsqit
