// Message IDs as nsqd makes them: a per-topic snowflake, 41 bits of ~1.05 ms ticks since nsqd's epoch,
// 10 bits of node id, 12 bits of sequence; sent as 16 lowercase hex characters.
#pragma once

#include <cstdint>

#include "engine/message.h"

namespace nsq {

class GuidFactory {
 public:
  explicit GuidFactory(std::int64_t node_id) : node_id_(node_id) {}
  // wall_ns: the current wall clock. Never fails and never sleeps: where nsqd would sleep 1 ms and retry
  // (sequence exhausted in one tick, clock went backwards), we advance our own tick instead, so IDs stay
  // unique and increasing without blocking the engine.
  MessageID next(std::int64_t wall_ns);

  static MessageID to_hex(std::uint64_t guid);

 private:
  std::int64_t node_id_;
  std::int64_t last_ts_ = -1;
  std::int64_t sequence_ = 0;
};

}  // namespace nsq
