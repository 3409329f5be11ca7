// Big-endian integers and V2 frames, as nsqd writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nsq::wire {

enum class FrameType : std::int32_t { response = 0, error = 1, message = 2 };

inline void append_u16(std::string& out, std::uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
inline void append_u32(std::string& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out.append(b, 4);
}
inline void append_u64(std::string& out, std::uint64_t v) {
  append_u32(out, static_cast<std::uint32_t>(v >> 32));
  append_u32(out, static_cast<std::uint32_t>(v));
}
inline std::uint32_t read_u32(const void* p) {
  auto b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}
inline std::uint16_t read_u16(const void* p) {
  auto b = static_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}
inline std::uint64_t read_u64(const void* p) {
  auto b = static_cast<const unsigned char*>(p);
  return (std::uint64_t{read_u32(b)} << 32) | read_u32(b + 4);
}

// [int32 size = 4 + len(data)][int32 type][data]
inline void append_frame(std::string& out, FrameType type, std::string_view data) {
  append_u32(out, static_cast<std::uint32_t>(4 + data.size()));
  append_u32(out, static_cast<std::uint32_t>(type));
  out.append(data);
}

// nsqd's protocol.ByteToBase10: ASCII digits only (no sign, no spaces), empty = 0, wraps on overflow.
inline bool parse_base10(std::string_view s, std::uint64_t& out) {
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = n;
  return true;
}

}  // namespace nsq::wire
