#include "engine/guid.h"

namespace nsq {

namespace {
constexpr std::int64_t kTwepoch = 1288834974288LL;
constexpr int kSequenceBits = 12;
constexpr int kNodeIdBits = 10;
}  // namespace

MessageID GuidFactory::next(std::int64_t wall_ns) {
  std::int64_t ts = wall_ns >> 20;  // nsqd divides by 2^20: "pseudo-milliseconds"
  if (lease_ != nullptr) ts = lease_->admit(ts);
  if (ts < last_ts_) ts = last_ts_;  // clock went backwards: keep using our last tick
  if (ts == last_ts_) {
    sequence_ = (sequence_ + 1) & kSequenceMask;
    if (sequence_ == 0) ++ts;  // sequence exhausted within the tick: borrow the next tick
  } else {
    sequence_ = 0;
  }
  last_ts_ = ts;
  if (lease_ != nullptr) lease_->issued(ts);
  auto guid = static_cast<std::uint64_t>(((ts - kTwepoch) << (kSequenceBits + kNodeIdBits)) |
                                         (node_id_ << kSequenceBits) | sequence_);
  return to_hex(guid);
}

MessageID GuidFactory::to_hex(std::uint64_t guid) {
  static constexpr char kHex[] = "0123456789abcdef";
  MessageID id;
  for (int i = 0; i < 16; ++i) {
    id.bytes[static_cast<std::size_t>(i)] = kHex[(guid >> (60 - 4 * i)) & 0xF];
  }
  return id;
}

}  // namespace nsq
