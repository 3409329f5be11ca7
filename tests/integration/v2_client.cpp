#include "v2_client.h"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nsqit {

namespace {

std::uint64_t get_be(const std::string& s, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + static_cast<std::size_t>(i)]);
  return v;
}

std::string printable(const std::string& s, std::size_t max = 200) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 32 && c < 127) {
      out += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

std::string Frame::describe() const {
  switch (type) {
    case FrameType::Response:
      return "response '" + printable(data) + "'";
    case FrameType::Error:
      return "error '" + printable(data) + "'";
    case FrameType::Message: {
      if (data.size() < 26) return "short message frame (" + std::to_string(data.size()) + " bytes)";
      Message m = parse_message(data);
      return "message id=" + printable(m.id) + " attempts=" + std::to_string(m.attempts) + " body='" +
             printable(m.body, 60) + "'";
    }
  }
  return "frame type " + std::to_string(static_cast<int>(type));
}

Message parse_message(const std::string& data) {
  if (data.size() < 26) throw ClientError("message frame shorter than 26 bytes: " + std::to_string(data.size()));
  Message m;
  m.timestamp_ns = static_cast<std::int64_t>(get_be(data, 0, 8));
  m.attempts = static_cast<std::uint16_t>(get_be(data, 8, 2));
  m.id = data.substr(10, 16);
  m.body = data.substr(26);
  return m;
}

std::string be32(std::int32_t v) {
  auto u = static_cast<std::uint32_t>(v);
  std::string s(4, '\0');
  s[0] = static_cast<char>((u >> 24) & 0xff);
  s[1] = static_cast<char>((u >> 16) & 0xff);
  s[2] = static_cast<char>((u >> 8) & 0xff);
  s[3] = static_cast<char>(u & 0xff);
  return s;
}

std::string mpub_payload(const std::vector<std::string>& bodies) {
  std::string s = be32(static_cast<std::int32_t>(bodies.size()));
  for (const auto& b : bodies) {
    s += be32(static_cast<std::int32_t>(b.size()));
    s += b;
  }
  return s;
}

V2Client::V2Client(int port, bool send_magic) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ClientError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw ClientError("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (send_magic) send_raw("  V2");
}

V2Client::~V2Client() { close(); }

void V2Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void V2Client::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void V2Client::send_raw(const std::string& bytes) {
  if (fd_ < 0) throw ClientError("send on closed client");
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ClientError(std::string("send failed: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

void V2Client::send_line(const std::string& line) { send_raw(line + "\n"); }

void V2Client::send_with_body(const std::string& line, const std::string& body) {
  send_raw(line + "\n" + be32(static_cast<std::int32_t>(body.size())) + body);
}

bool V2Client::fill(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  while (buf_.size() < n) {
    if (fd_ < 0) throw ClientError("read on closed client");
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
    if (left < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return false;
    char tmp[65536];
    ssize_t got = ::recv(fd_, tmp, sizeof tmp, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) throw ClientError("connection closed by server (" + std::to_string(buf_.size()) + " bytes pending)");
    if (got < 0) throw ClientError(std::string("connection error: ") + std::strerror(errno));
    buf_.append(tmp, static_cast<std::size_t>(got));
  }
  return true;
}

std::optional<Frame> V2Client::next_frame(std::chrono::steady_clock::time_point deadline) {
  if (!fill(8, deadline)) return std::nullopt;
  auto size = static_cast<std::int32_t>(get_be(buf_, 0, 4));
  if (size < 4 || size > 64 * 1024 * 1024) throw ClientError("bad frame size " + std::to_string(size));
  // once a frame header arrived, give the rest some extra time
  auto rest_deadline = std::max(deadline, std::chrono::steady_clock::now() + Ms(2000));
  if (!fill(4 + static_cast<std::size_t>(size), rest_deadline)) throw ClientError("truncated frame");
  Frame f;
  f.type = static_cast<FrameType>(static_cast<std::int32_t>(get_be(buf_, 4, 4)));
  f.data = buf_.substr(8, static_cast<std::size_t>(size) - 4);
  buf_.erase(0, 4 + static_cast<std::size_t>(size));
  return f;
}

std::optional<Frame> V2Client::try_read_raw_frame(Ms timeout) {
  return next_frame(std::chrono::steady_clock::now() + timeout);
}

Frame V2Client::read_raw_frame(Ms timeout) {
  auto f = try_read_raw_frame(timeout);
  if (!f) throw ClientError("timed out after " + std::to_string(timeout.count()) + " ms waiting for a frame");
  return *f;
}

Frame V2Client::read_reply(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto f = next_frame(deadline);
    if (!f) throw ClientError("timed out after " + std::to_string(timeout.count()) + " ms waiting for a reply");
    if (f->is_heartbeat()) {
      ++heartbeats_;
      continue;
    }
    if (f->type == FrameType::Message) {
      stash_.push_back(parse_message(f->data));
      continue;
    }
    return *f;
  }
}

std::optional<Message> V2Client::try_read_message(Ms timeout) {
  if (!stash_.empty()) {
    Message m = stash_.front();
    stash_.pop_front();
    return m;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto f = next_frame(deadline);
    if (!f) return std::nullopt;
    if (f->is_heartbeat()) {
      ++heartbeats_;
      continue;
    }
    if (f->type != FrameType::Message) throw ClientError("expected a message, got " + f->describe());
    return parse_message(f->data);
  }
}

Message V2Client::read_message(Ms timeout) {
  auto m = try_read_message(timeout);
  if (!m) throw ClientError("timed out after " + std::to_string(timeout.count()) + " ms waiting for a message");
  return *m;
}

::testing::AssertionResult V2Client::expect_response(const std::string& text, Ms timeout) {
  try {
    Frame f = read_reply(timeout);
    if (f.type == FrameType::Response && f.data == text) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected response '" << text << "', got " << f.describe();
  } catch (const ClientError& e) {
    return ::testing::AssertionFailure() << "expected response '" << text << "': " << e.what();
  }
}

::testing::AssertionResult V2Client::expect_ok(Ms timeout) { return expect_response("OK", timeout); }

::testing::AssertionResult V2Client::expect_error(const std::string& text, Ms timeout) {
  try {
    Frame f = read_reply(timeout);
    if (f.type == FrameType::Error && f.data == text) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected error '" << text << "', got " << f.describe();
  } catch (const ClientError& e) {
    return ::testing::AssertionFailure() << "expected error '" << text << "': " << e.what();
  }
}

::testing::AssertionResult V2Client::expect_fatal(const std::string& text, Ms timeout) {
  auto r = expect_error(text, timeout);
  if (!r) return r;
  auto c = expect_closed(timeout);
  if (!c) return ::testing::AssertionFailure() << "after error '" << text << "': " << c.message();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult V2Client::expect_closed(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    for (;;) {
      auto f = next_frame(deadline);
      if (!f) {
        return ::testing::AssertionFailure()
               << "connection still open after " << timeout.count() << " ms (" << buf_.size()
               << " unparsed bytes)";
      }
      if (f->is_heartbeat()) {
        ++heartbeats_;
        continue;
      }
      return ::testing::AssertionFailure() << "expected the connection to close, got " << f->describe();
    }
  } catch (const ClientError& e) {
    if (std::string(e.what()).rfind("connection closed", 0) == 0 ||
        std::string(e.what()).rfind("connection error", 0) == 0) {
      if (!buf_.empty()) {
        return ::testing::AssertionFailure() << "closed with " << buf_.size() << " bytes of partial frame: '"
                                             << printable(buf_) << "'";
      }
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << e.what();
  }
}

::testing::AssertionResult V2Client::expect_silence(Ms duration) {
  if (!stash_.empty()) {
    return ::testing::AssertionFailure() << "a message was already received: id=" << stash_.front().id
                                         << " body='" << printable(stash_.front().body) << "'";
  }
  auto deadline = std::chrono::steady_clock::now() + duration;
  try {
    for (;;) {
      auto f = next_frame(deadline);
      if (!f) return ::testing::AssertionSuccess();
      if (f->is_heartbeat()) {
        ++heartbeats_;
        continue;
      }
      if (f->type == FrameType::Message) stash_.push_back(parse_message(f->data));
      return ::testing::AssertionFailure() << "expected silence, got " << f->describe();
    }
  } catch (const ClientError& e) {
    return ::testing::AssertionFailure() << "expected silence: " << e.what();
  }
}

::testing::AssertionResult V2Client::sync(Ms timeout) {
  try {
    pub("sync_topic", "sync");
  } catch (const ClientError& e) {
    return ::testing::AssertionFailure() << "sync: " << e.what();
  }
  auto r = expect_ok(timeout);
  if (!r) return ::testing::AssertionFailure() << "sync round trip: " << r.message();
  return r;
}

::testing::AssertionResult V2Client::subscribe(const std::string& topic, const std::string& channel) {
  sub(topic, channel);
  auto r = expect_ok();
  if (!r) return ::testing::AssertionFailure() << "SUB " << topic << " " << channel << ": " << r.message();
  return r;
}

::testing::AssertionResult V2Client::publish(const std::string& topic, const std::string& body) {
  pub(topic, body);
  auto r = expect_ok();
  if (!r) return ::testing::AssertionFailure() << "PUB " << topic << ": " << r.message();
  return r;
}

}  // namespace nsqit
