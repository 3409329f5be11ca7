// MemoryQueue: the messages a topic or channel holds in memory, waiting for a consumer (nsqd's memoryMsgChan),
// as compact records in a FIFO of large byte chunks instead of one heap Message + Body per message.
//
// A record is [u8 flags][u16 attempts][u32 body size][i64 timestamp][id: 8 bytes packed from 16 lowercase hex
// characters, else the 16 raw bytes][i64 deferral, if any][u64 disk seq, if any][body bytes, or a Body* when
// the body is shared with another channel's copy or larger than kInlineMax]; fields are unaligned (memcpy).
// A 200-byte message costs 223 bytes instead of ~340 (Message ~100 + Body 224 with malloc overhead + a slot).
// A Message is made again only by pop(), i.e. when the message is about to be delivered or written elsewhere.
//
// Chunks grow with the backlog (an eighth of the queued bytes, 4 KiB .. 1 MiB), so an almost empty queue holds
// little and a large one wastes under 0.2% at chunk ends; a chunk is freed once the head passes it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/message.h"

namespace nsq {

class MemoryQueue {
 public:
  MemoryQueue() = default;
  ~MemoryQueue() { clear(); }
  MemoryQueue(const MemoryQueue&) = delete;
  MemoryQueue& operator=(const MemoryQueue&) = delete;

  // Appends msg's id, timestamp, attempts, deferral, disk seq and body. In-flight bookkeeping (client, pri,
  // heap index) is not kept: it is set again when the message leaves the queue.
  void push(MessagePtr msg);
  // The oldest message, or null when empty.
  MessagePtr pop();
  void clear();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes of chunk memory held (for tests and benchmarks).
  std::size_t chunk_bytes() const { return chunk_bytes_; }

  static constexpr std::size_t kMinChunk = 4096;
  static constexpr std::size_t kMaxChunk = 1 << 20;
  // Larger bodies stay in their own Body (their malloc overhead is small, and a chunk end wastes less).
  static constexpr std::size_t kInlineMax = 2048;

 private:
  struct Chunk {
    Chunk* next;
    std::uint32_t cap;   // data bytes
    std::uint32_t used;  // data bytes written
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };
  Chunk* new_chunk(std::size_t min_data);
  void free_chunk(Chunk* c);
  void release_head();
  void reset_empty();

  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  Chunk* spare_ = nullptr;    // the last chunk the head passed, reused for the next one needed
  std::uint32_t read_ = 0;    // offset of the next record in head_
  std::size_t size_ = 0;      // records
  std::size_t live_bytes_ = 0;  // bytes of the records queued
  std::size_t shared_ = 0;    // records holding a Body* (clear() must release them)
  std::size_t chunk_bytes_ = 0;
};

}  // namespace nsq
