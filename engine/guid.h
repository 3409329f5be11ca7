// Message IDs as nsqd makes them: a per-topic snowflake, 41 bits of ~1.05 ms ticks since nsqd's epoch,
// 10 bits of node id, 12 bits of sequence; sent as 16 lowercase hex characters.
#pragma once

#include <cstdint>

#include "engine/id_lease.h"
#include "engine/message.h"
#include "engine/planted_bugs.h"

namespace nsq {

class GuidFactory {
 public:
  // lease: the durable floor all factories share (see id_lease.h); IDs start above it. Null: no floor.
  explicit GuidFactory(std::int64_t node_id, IdLease* lease = nullptr)
      : node_id_(node_id), lease_(lease) {
    if (lease_ != nullptr && !planted::bugs.ids_ignore_lease) {
      // The next ID borrows the tick after the floor: the sequence of the floor's own tick counts as spent.
      last_ts_ = lease_->floor();
      sequence_ = kSequenceMask;
    }
  }
  // wall_ns: the current wall clock. Never fails and never sleeps: where nsqd would sleep 1 ms and retry
  // (sequence exhausted in one tick, clock went backwards), we advance our own tick instead, so IDs stay
  // unique and increasing without blocking the engine.
  MessageID next(std::int64_t wall_ns);

  static MessageID to_hex(std::uint64_t guid);

 private:
  static constexpr std::int64_t kSequenceMask = (1 << 12) - 1;

  std::int64_t node_id_;
  IdLease* lease_;
  std::int64_t last_ts_ = -1;
  std::int64_t sequence_ = 0;
};

}  // namespace nsq
