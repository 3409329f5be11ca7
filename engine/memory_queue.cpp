#include "engine/memory_queue.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <new>

namespace nsq {

namespace {

enum : std::uint8_t {
  kPackedId = 1,     // id stored as 8 bytes (it was 16 lowercase hex characters, as every GUID we make)
  kDeferred = 2,     // an i64 DPUB deferral follows the id
  kDiskSeq = 4,      // a u64 disk seq follows
  kSharedBody = 8,   // a Body* (one reference) instead of the body bytes
};

constexpr std::size_t kFixed = 1 + 2 + 4 + 8;  // flags, attempts, body size, timestamp

// Hex digit values, 0x80 for anything else (so one OR over all 16 tells whether the id packs).
constexpr std::array<std::uint8_t, 256> kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0x80;
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::uint8_t>(c);
  for (int c = 0; c < 6; ++c) t['a' + c] = static_cast<std::uint8_t>(10 + c);
  return t;
}();

bool pack_id(const MessageID& id, std::uint64_t& out) {
  std::uint64_t v = 0;
  std::uint8_t bad = 0;
  for (char c : id.bytes) {
    const std::uint8_t d = kHexValue[static_cast<unsigned char>(c)];
    bad |= d;
    v = (v << 4) | (d & 0xF);
  }
  out = v;
  return (bad & 0x80) == 0;
}

// 8 nibbles (most significant first) as 8 lowercase hex characters in memory order, without a loop.
std::uint64_t hex8(std::uint32_t n) {
  std::uint64_t x = n;
  x = ((x & 0xFFFF0000ULL) << 16) | (x & 0xFFFFULL);
  x = ((x & 0x0000FF000000FF00ULL) << 8) | (x & 0x000000FF000000FFULL);
  x = ((x & 0x00F000F000F000F0ULL) << 4) | (x & 0x000F000F000F000FULL);  // one nibble per byte, top one last
  // '0' + d, plus 39 more ('a' - '0' - 10) where d > 9 (d + 6 carries into bit 4).
  x += 0x3030303030303030ULL + (((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL) * 39;
  if constexpr (std::endian::native == std::endian::little) x = __builtin_bswap64(x);
  return x;
}

MessageID unpack_id(std::uint64_t v) {
  MessageID id;
  const std::uint64_t hi = hex8(static_cast<std::uint32_t>(v >> 32));
  const std::uint64_t lo = hex8(static_cast<std::uint32_t>(v));
  std::memcpy(id.bytes.data(), &hi, 8);
  std::memcpy(id.bytes.data() + 8, &lo, 8);
  return id;
}

template <typename T>
char* put(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
  return p + sizeof v;
}

template <typename T>
const char* get(const char* p, T& v) {
  std::memcpy(&v, p, sizeof v);
  return p + sizeof v;
}

// Size of the record at p, and (if body is given) its Body* when it holds one.
std::size_t record_size(const char* p, Body** body = nullptr) {
  std::uint8_t flags;
  std::uint32_t len;
  get(p, flags);
  get(p + 3, len);
  std::size_t n = kFixed + ((flags & kPackedId) ? 8 : MessageID::kSize);
  if (flags & kDeferred) n += 8;
  if (flags & kDiskSeq) n += 8;
  if (flags & kSharedBody) {
    if (body != nullptr) get(p + n, *body);
    return n + sizeof(Body*);
  }
  if (body != nullptr) *body = nullptr;
  return n + len;
}

}  // namespace

MemoryQueue::Chunk* MemoryQueue::new_chunk(std::size_t min_data) {
  // An eighth of what is queued: large backlogs get large chunks, small queues stay small.
  std::size_t total = std::clamp<std::size_t>(std::bit_ceil(live_bytes_ / 8 + 1), kMinChunk, kMaxChunk);
  total = std::max(total, min_data + sizeof(Chunk));
  if (spare_ != nullptr) {
    Chunk* c = std::exchange(spare_, nullptr);
    if (c->cap + sizeof(Chunk) >= total && c->cap + sizeof(Chunk) <= 2 * total) {
      c->next = nullptr;
      c->used = 0;
      return c;
    }
    free_chunk(c);
  }
  void* mem = ::operator new(total);
  auto* c = static_cast<Chunk*>(mem);
  c->next = nullptr;
  c->cap = static_cast<std::uint32_t>(total - sizeof(Chunk));
  c->used = 0;
  chunk_bytes_ += total;
  return c;
}

void MemoryQueue::free_chunk(Chunk* c) {
  chunk_bytes_ -= c->cap + sizeof(Chunk);
  ::operator delete(static_cast<void*>(c));
}

void MemoryQueue::push(MessagePtr msg) {
  std::uint8_t flags = 0;
  std::uint64_t packed = 0;
  if (pack_id(msg->id, packed)) flags |= kPackedId;
  if (msg->deferred_ns != 0) flags |= kDeferred;
  if (msg->disk_seq != 0) flags |= kDiskSeq;
  const std::size_t len = msg->body.size();
  // A body another channel's copy holds too stays shared (fan-out to several queues keeps one copy).
  if (len > kInlineMax || msg->body.shared()) flags |= kSharedBody;
  std::size_t rec = kFixed + ((flags & kPackedId) ? 8 : MessageID::kSize) + ((flags & kDeferred) ? 8 : 0) +
                    ((flags & kDiskSeq) ? 8 : 0) + ((flags & kSharedBody) ? sizeof(Body*) : len);

  if (tail_ == nullptr || tail_->cap - tail_->used < rec) {
    Chunk* c = new_chunk(rec);
    if (tail_ == nullptr) {
      head_ = tail_ = c;
      read_ = 0;
    } else {
      tail_->next = c;
      tail_ = c;
    }
  }
  char* p = tail_->data() + tail_->used;
  p = put(p, flags);
  p = put(p, msg->attempts);
  p = put(p, static_cast<std::uint32_t>(len));
  p = put(p, msg->timestamp);
  if (flags & kPackedId) {
    p = put(p, packed);
  } else {
    std::memcpy(p, msg->id.bytes.data(), MessageID::kSize);
    p += MessageID::kSize;
  }
  if (flags & kDeferred) p = put(p, msg->deferred_ns);
  if (flags & kDiskSeq) p = put(p, msg->disk_seq);
  if (flags & kSharedBody) {
    put(p, msg->body.release());
    ++shared_;
  } else if (len > 0) {
    std::memcpy(p, msg->body.view().data(), len);
  }
  tail_->used += static_cast<std::uint32_t>(rec);
  live_bytes_ += rec;
  ++size_;
}

void MemoryQueue::release_head() {
  Chunk* c = head_;
  head_ = c->next;
  read_ = 0;
  if (spare_ != nullptr) free_chunk(spare_);
  spare_ = c;
}

MessagePtr MemoryQueue::pop() {
  if (size_ == 0) return nullptr;
  while (read_ == head_->used) release_head();  // size_ > 0: a record follows
  const char* p = head_->data() + read_;
  auto m = std::make_unique<Message>();
  std::uint8_t flags;
  std::uint32_t len;
  p = get(p, flags);
  p = get(p, m->attempts);
  p = get(p, len);
  p = get(p, m->timestamp);
  if (flags & kPackedId) {
    std::uint64_t packed;
    p = get(p, packed);
    m->id = unpack_id(packed);
  } else {
    std::memcpy(m->id.bytes.data(), p, MessageID::kSize);
    p += MessageID::kSize;
  }
  if (flags & kDeferred) p = get(p, m->deferred_ns);
  if (flags & kDiskSeq) p = get(p, m->disk_seq);
  if (flags & kSharedBody) {
    Body* b;
    p = get(p, b);
    m->body = BodyRef::adopt(b);
    --shared_;
  } else {
    m->body = BodyRef(std::string_view(p, len));
    p += len;
  }
  const auto rec = static_cast<std::uint32_t>(p - (head_->data() + read_));
  read_ += rec;
  live_bytes_ -= rec;
  if (--size_ == 0) reset_empty();
  return m;
}

void MemoryQueue::reset_empty() {
  // Empty: the head is the tail. Keep one small chunk for the next push; give larger memory back.
  while (head_ != tail_) release_head();
  if (spare_ != nullptr) free_chunk(std::exchange(spare_, nullptr));
  if (head_ != nullptr && head_->cap + sizeof(Chunk) > kMinChunk) {
    free_chunk(head_);
    head_ = tail_ = nullptr;
  } else if (head_ != nullptr) {
    head_->used = 0;
  }
  read_ = 0;
  live_bytes_ = 0;
}

void MemoryQueue::clear() {
  if (shared_ > 0) {
    std::uint32_t off = read_;
    for (Chunk* c = head_; c != nullptr; c = c->next, off = 0) {
      while (off < c->used) {
        Body* b;
        off += static_cast<std::uint32_t>(record_size(c->data() + off, &b));
        if (b != nullptr) BodyRef::adopt(b);  // drops the reference
      }
    }
    shared_ = 0;
  }
  for (Chunk* c = head_; c != nullptr;) free_chunk(std::exchange(c, c->next));
  if (spare_ != nullptr) free_chunk(spare_);
  head_ = tail_ = spare_ = nullptr;
  read_ = 0;
  size_ = 0;
  live_bytes_ = 0;
}

}  // namespace nsq
