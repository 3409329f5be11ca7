#include "frame.h"

#include <charconv>
#include <cstring>

namespace nsqbench {

namespace {
void append_be32(std::string& out, std::uint32_t v) {
  char b[4];
  put_be32(b, v);
  out.append(b, 4);
}
void append_u64(std::string& out, std::uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}
}  // namespace

void encode_magic(std::string& out) { out.append(kMagicV2); }

void encode_identify(std::string& out, std::string_view json) {
  out.append("IDENTIFY\n");
  append_be32(out, static_cast<std::uint32_t>(json.size()));
  out.append(json);
}

void encode_sub(std::string& out, std::string_view topic, std::string_view channel) {
  out.append("SUB ").append(topic).append(" ").append(channel).append("\n");
}

void encode_rdy(std::string& out, std::uint64_t count) {
  out.append("RDY ");
  append_u64(out, count);
  out.push_back('\n');
}

void encode_fin(std::string& out, std::string_view id) {
  // Hot path for the consumer: one append of 21 bytes.
  char b[4 + kMessageIdSize + 1];
  std::memcpy(b, "FIN ", 4);
  std::memcpy(b + 4, id.data(), id.size() < kMessageIdSize ? id.size() : kMessageIdSize);
  if (id.size() < kMessageIdSize) {
    out.append(b, 4 + id.size());
    out.push_back('\n');
    return;
  }
  b[4 + kMessageIdSize] = '\n';
  out.append(b, sizeof b);
}

void encode_nop(std::string& out) { out.append("NOP\n"); }
void encode_cls(std::string& out) { out.append("CLS\n"); }

void encode_pub(std::string& out, std::string_view topic, std::string_view body) {
  out.append("PUB ").append(topic).append("\n");
  append_be32(out, static_cast<std::uint32_t>(body.size()));
  out.append(body);
}

void encode_mpub(std::string& out, std::string_view topic, std::span<const std::string_view> bodies) {
  std::size_t total = 4;  // count
  for (auto b : bodies) total += 4 + b.size();
  out.append("MPUB ").append(topic).append("\n");
  append_be32(out, static_cast<std::uint32_t>(total));
  append_be32(out, static_cast<std::uint32_t>(bodies.size()));
  for (auto b : bodies) {
    append_be32(out, static_cast<std::uint32_t>(b.size()));
    out.append(b);
  }
}

BatchTemplate::BatchTemplate(std::string_view topic, std::size_t count, std::size_t size, char fill)
    : count_(count == 0 ? 1 : count), size_(size) {
  std::string body(size_, fill);
  if (count_ == 1) {
    encode_pub(bytes_, topic, body);
    first_body_ = bytes_.size() - size_;  // only body_offset(0) is meaningful for PUB
    return;
  }
  std::vector<std::string_view> bodies(count_, body);
  encode_mpub(bytes_, topic, bodies);
  // Header: "MPUB topic\n" + body_size + count, then [size][body]...
  first_body_ = 5 + topic.size() + 1 + 4 + 4 + 4;
}

void BatchTemplate::append_to(std::string& out, std::int64_t stamp_ns) const {
  const std::size_t base = out.size();
  out.append(bytes_);
  if (stamp_ns < 0 || size_ < 8) return;
  char* p = out.data() + base;
  char ts[8];
  put_be64(ts, static_cast<std::uint64_t>(stamp_ns));
  for (std::size_t i = 0; i < count_; ++i) std::memcpy(p + body_offset(i), ts, 8);
}

void BatchTemplate::set_nonce(std::uint64_t nonce) {
  if (size_ < 16) return;
  for (std::size_t i = 0; i < count_; ++i) put_be64(bytes_.data() + body_offset(i) + 8, nonce);
}

bool parse_message(std::string_view data, Message& out) {
  if (data.size() < kMessageHeaderSize) return false;
  out.timestamp_ns = static_cast<std::int64_t>(get_be64(data.data()));
  out.attempts = get_be16(data.data() + 8);
  out.id = data.substr(10, kMessageIdSize);
  out.body = data.substr(kMessageHeaderSize);
  return true;
}

FrameDecoder::FrameDecoder(std::size_t initial_capacity, std::size_t max_frame_size)
    : buf_(initial_capacity < 16 ? 16 : initial_capacity), max_frame_(max_frame_size) {}

std::span<char> FrameDecoder::prepare(std::size_t min_free) {
  if (need_ > min_free) min_free = need_;
  need_ = 0;
  if (begin_ == end_) begin_ = end_ = 0;
  if (buf_.size() - end_ < min_free) {
    const std::size_t live = end_ - begin_;
    if (begin_ > 0) {
      if (live > 0) std::memmove(buf_.data(), buf_.data() + begin_, live);
      begin_ = 0;
      end_ = live;
    }
    if (buf_.size() - end_ < min_free) buf_.resize(end_ + min_free);
  }
  return {buf_.data() + end_, buf_.size() - end_};
}

FrameDecoder::Status FrameDecoder::next(Frame& out) {
  const std::size_t avail = end_ - begin_;
  if (avail < 4) return Status::kNeedMore;
  const char* p = buf_.data() + begin_;
  const std::uint32_t size = get_be32(p);
  if (size < 4 || size > max_frame_) {
    error_ = "invalid frame size " + std::to_string(size);
    return Status::kError;
  }
  if (avail < 4 + static_cast<std::size_t>(size)) {
    // Make sure the whole frame fits after the next prepare() (no compaction here: views of
    // frames returned earlier stay valid until prepare()).
    need_ = 4 + static_cast<std::size_t>(size) - avail;
    return Status::kNeedMore;
  }
  const auto type = static_cast<std::int32_t>(get_be32(p + 4));
  if (type < 0 || type > 2) {
    error_ = "invalid frame type " + std::to_string(type);
    return Status::kError;
  }
  out.type = static_cast<FrameType>(type);
  out.data = std::string_view(p + 8, size - 4);
  begin_ += 4 + size;
  return Status::kFrame;
}

void FrameDecoder::feed(std::string_view bytes) {
  auto span = prepare(bytes.size());
  std::memcpy(span.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

std::string encode_frame(FrameType type, std::string_view data) {
  std::string out;
  append_be32(out, static_cast<std::uint32_t>(4 + data.size()));
  append_be32(out, static_cast<std::uint32_t>(type));
  out.append(data);
  return out;
}

std::string encode_message_frame(std::int64_t ts_ns, std::uint16_t attempts, std::string_view id16,
                                 std::string_view body) {
  std::string payload(kMessageHeaderSize, '\0');
  put_be64(payload.data(), static_cast<std::uint64_t>(ts_ns));
  payload[8] = static_cast<char>(attempts >> 8);
  payload[9] = static_cast<char>(attempts);
  std::memcpy(payload.data() + 10, id16.data(), id16.size() < 16 ? id16.size() : 16);
  payload.append(body);
  return encode_frame(FrameType::Message, payload);
}

}  // namespace nsqbench
