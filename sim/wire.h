// NSQ protocol V2 as a client speaks it: command encoding and an incremental server-frame parser.
// Kept apart from SimClient so checkers and future fuzzers can build and parse bytes without a connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsq::sim::wire {

inline constexpr std::string_view kMagicV2 = "  V2";
inline constexpr std::int32_t kFrameResponse = 0;
inline constexpr std::int32_t kFrameError = 1;
inline constexpr std::int32_t kFrameMessage = 2;
inline constexpr std::string_view kHeartbeat = "_heartbeat_";
inline constexpr std::size_t kMessageHeader = 8 + 2 + 16;

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
inline std::uint64_t get_be(std::string_view in, std::size_t offset, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[offset + i]);
  return v;
}

// "NAME p1 p2\n"
inline std::string line(std::string_view name, std::initializer_list<std::string_view> params = {}) {
  std::string out(name);
  for (auto p : params) {
    out += ' ';
    out += p;
  }
  out += '\n';
  return out;
}
// A command line followed by [int32 size][body].
inline std::string with_body(std::string cmd_line, std::string_view body) {
  put_u32(cmd_line, static_cast<std::uint32_t>(body.size()));
  cmd_line += body;
  return cmd_line;
}
// MPUB body: [int32 count]([int32 size][bytes])*
inline std::string mpub_body(const std::vector<std::string>& bodies) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(bodies.size()));
  for (const auto& b : bodies) {
    put_u32(out, static_cast<std::uint32_t>(b.size()));
    out += b;
  }
  return out;
}

struct Frame {
  std::int32_t type = 0;
  std::string data;
};

struct Message {
  std::int64_t timestamp_ns = 0;
  std::uint16_t attempts = 0;
  std::string id;  // 16 ASCII bytes
  std::string body;
};

inline std::optional<Message> decode_message(std::string_view data) {
  if (data.size() < kMessageHeader) return std::nullopt;
  Message m;
  m.timestamp_ns = static_cast<std::int64_t>(get_be(data, 0, 8));
  m.attempts = static_cast<std::uint16_t>(get_be(data, 8, 2));
  m.id = std::string(data.substr(10, 16));
  m.body = std::string(data.substr(kMessageHeader));
  return m;
}

// Accumulates stream bytes and yields whole frames [int32 size][int32 type][data].
class FrameParser {
 public:
  void feed(std::string_view bytes) { buf_ += bytes; }
  // The next complete frame, or nullopt (need more bytes). A size below 4 marks the stream as corrupt.
  std::optional<Frame> next() {
    if (corrupt_ || buf_.size() - pos_ < 4) return std::nullopt;
    const auto size = static_cast<std::int32_t>(get_be(buf_, pos_, 4));
    if (size < 4) {
      corrupt_ = true;
      return std::nullopt;
    }
    if (buf_.size() - pos_ < 4 + static_cast<std::size_t>(size)) return std::nullopt;
    Frame f;
    f.type = static_cast<std::int32_t>(get_be(buf_, pos_ + 4, 4));
    f.data = buf_.substr(pos_ + 8, static_cast<std::size_t>(size) - 4);
    pos_ += 4 + static_cast<std::size_t>(size);
    if (pos_ > 65536) {  // compact now and then instead of erasing per frame
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return f;
  }
  bool corrupt() const { return corrupt_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  bool corrupt_ = false;
};

}  // namespace nsq::sim::wire
