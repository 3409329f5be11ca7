// nsqd-bench: NSQ TCP protocol V2 framing (client side). No Asio here, so it is unit-testable.
//
// Client -> server commands are a text line plus (for some) a big-endian int32-size-prefixed body.
// Server -> client frames are [int32 size][int32 type][data] with size = 4 + len(data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nsqbench {

inline constexpr std::string_view kMagicV2 = "  V2";
inline constexpr std::size_t kMessageHeaderSize = 8 + 2 + 16;  // ts ns, attempts, id
inline constexpr std::size_t kMessageIdSize = 16;

enum class FrameType : std::int32_t { Response = 0, Error = 1, Message = 2 };

inline void put_be32(char* p, std::uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}
inline void put_be64(char* p, std::uint64_t v) {
  put_be32(p, static_cast<std::uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<std::uint32_t>(v));
}
inline std::uint32_t get_be32(const char* p) {
  auto b = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}
inline std::uint64_t get_be64(const char* p) {
  return (static_cast<std::uint64_t>(get_be32(p)) << 32) | get_be32(p + 4);
}
inline std::uint16_t get_be16(const char* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                                    static_cast<unsigned char>(p[1]));
}

// ---- command encoders: all append to `out` --------------------------------------------------
void encode_magic(std::string& out);
void encode_identify(std::string& out, std::string_view json);
void encode_sub(std::string& out, std::string_view topic, std::string_view channel);
void encode_rdy(std::string& out, std::uint64_t count);
void encode_fin(std::string& out, std::string_view id);
void encode_nop(std::string& out);
void encode_cls(std::string& out);
void encode_pub(std::string& out, std::string_view topic, std::string_view body);
void encode_mpub(std::string& out, std::string_view topic, std::span<const std::string_view> bodies);

// A publish batch (PUB when count == 1, else MPUB) with `count` bodies of `size` bytes, encoded
// once. Appending a batch is one memcpy; stamp() then patches the first 8 bytes of every body
// (big-endian int64) in the appended copy, so latency stamping costs O(count) tiny stores.
class BatchTemplate {
 public:
  BatchTemplate(std::string_view topic, std::size_t count, std::size_t size, char fill = 'x');
  std::size_t count() const { return count_; }
  std::size_t body_size() const { return size_; }
  std::string_view bytes() const { return bytes_; }
  // Offset (inside bytes()) of body i's first byte.
  std::size_t body_offset(std::size_t i) const { return first_body_ + i * (4 + size_); }
  // Append one copy to `out`; if stamp_ns >= 0 and size >= 8 write it into every body's first 8 bytes.
  void append_to(std::string& out, std::int64_t stamp_ns = -1) const;
  // Write `nonce` (big-endian) into bytes 8..15 of every body of the template (needs size >= 16);
  // lets a consumer tell this run's messages from leftovers of earlier runs.
  void set_nonce(std::uint64_t nonce);

 private:
  std::size_t count_;
  std::size_t size_;
  std::size_t first_body_ = 0;
  std::string bytes_;
};

// ---- server frame decoding ------------------------------------------------------------------
struct Frame {
  FrameType type;
  std::string_view data;  // valid until the next FrameDecoder::prepare()
};

struct Message {
  std::int64_t timestamp_ns = 0;
  std::uint16_t attempts = 0;
  std::string_view id;
  std::string_view body;
};

// Parse a type-2 frame's data. False if shorter than the 26-byte header.
bool parse_message(std::string_view data, Message& out);

// Incremental frame decoder over its own growable buffer: prepare() a writable area, read into
// it, commit() the bytes read, then pull frames with next() until it returns kNeedMore.
class FrameDecoder {
 public:
  enum class Status { kFrame, kNeedMore, kError };

  explicit FrameDecoder(std::size_t initial_capacity = 256 * 1024,
                        std::size_t max_frame_size = 64 * 1024 * 1024);

  // Returns a writable span of at least min_free bytes (compacting/growing as needed).
  std::span<char> prepare(std::size_t min_free = 64 * 1024);
  void commit(std::size_t n) { end_ += n; }

  // kFrame: `out` filled. kNeedMore: incomplete. kError: invalid size (error() says why).
  Status next(Frame& out);
  const std::string& error() const { return error_; }
  std::size_t buffered() const { return end_ - begin_; }
  // Removes and returns the bytes not yet consumed (the stream format changes after IDENTIFY's upgrades).
  std::string take_buffered() {
    std::string rest(buf_.data() + begin_, end_ - begin_);
    begin_ = end_ = 0;
    return rest;
  }

  // Convenience for tests: copy bytes in.
  void feed(std::string_view bytes);

 private:
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t need_ = 0;
  std::size_t max_frame_;
  std::string error_;
};

// Encode a server frame (used by tests and fakes).
std::string encode_frame(FrameType type, std::string_view data);
std::string encode_message_frame(std::int64_t ts_ns, std::uint16_t attempts, std::string_view id16,
                                 std::string_view body);

}  // namespace nsqbench
