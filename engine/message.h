// A message as one channel (or a topic's queue) holds it. Channel copies share the Body and the ID.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/body.h"

namespace nsq {

// 16 ASCII bytes (lowercase hex of nsqd's 64-bit GUID). Compared and hashed as raw bytes.
struct MessageID {
  std::array<char, 16> bytes{};

  static constexpr std::size_t kSize = 16;
  static MessageID from(std::string_view s) {  // s.size() must be 16
    MessageID id;
    std::memcpy(id.bytes.data(), s.data(), kSize);
    return id;
  }
  std::string_view view() const { return {bytes.data(), kSize}; }
  bool operator==(const MessageID& o) const { return bytes == o.bytes; }
};

struct MessageIDHash {
  // IDs share long prefixes (the time part) and differ in a few hex digits; mix all 16 bytes thoroughly so
  // the table's buckets spread (a weak mix here made in-flight lookups the daemon's hottest path).
  static std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  std::size_t operator()(const MessageID& id) const {
    std::uint64_t a, b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    return static_cast<std::size_t>(mix(a ^ mix(b)));
  }
};

// Payload header on the wire and on disk: [int64 ts][uint16 attempts][16-byte id].
inline constexpr std::size_t kMessageHeaderSize = 8 + 2 + MessageID::kSize;

struct Message {
  MessageID id;
  std::int64_t timestamp = 0;  // wall-clock ns at publish; kept through requeue, timeout, disk and restart
  std::uint16_t attempts = 0;
  BodyRef body;
  std::int64_t deferred_ns = 0;  // DPUB delay, applied when the topic hands the message to its channels

  // In-flight / deferred bookkeeping on one channel.
  std::uint64_t client_id = 0;     // owner while in flight
  std::int64_t delivery_ts = 0;    // monotonic ns of the delivery (TOUCH cap)
  std::int64_t pri = 0;            // monotonic ns: in-flight expiry or deferred due time
  std::int32_t heap_index = -1;    // position in the in-flight or deferred heap
  // Durable mode: this queue's unacknowledged disk read of the message (0 = none). Not copied by clone().
  std::uint64_t disk_seq = 0;

  // Messages come from a per-thread free list (up to kMaxFree spare blocks) instead of malloc: one is made
  // per published message and channel copy and freed on FIN, and malloc/free were ~15% of the daemon.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;
  static constexpr std::size_t kMaxFree = 65536;

  // A copy for another channel: same ID, timestamp, attempts, body (shared), deferral.
  std::unique_ptr<Message> clone() const {
    auto m = std::make_unique<Message>();
    m->id = id;
    m->timestamp = timestamp;
    m->attempts = attempts;
    m->body = body;
    m->deferred_ns = deferred_ns;
    return m;
  }
};

using MessagePtr = std::unique_ptr<Message>;

// Appends [int64 ts][uint16 attempts][16-byte id][body], big-endian (the message frame's data and the disk record).
void append_message_payload(std::string& out, const Message& msg);
// The inverse: a message from a disk record's payload, or null if it is shorter than the 26-byte header.
MessagePtr decode_message_payload(std::string_view payload);

}  // namespace nsq
