// Messages of one channel keyed by ID (in flight or deferred): an open-addressing table of (hash, Message*)
// with linear probing and backward-shift deletion. A lookup touches one or two cache lines of a compact array
// instead of chasing list nodes scattered through a heap full of queued messages, which made FIN the
// daemon's hottest path with std::unordered_map. The table owns its messages.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/message.h"

namespace nsq {

class MessageMap {
 public:
  MessageMap() = default;
  MessageMap(const MessageMap&) = delete;
  MessageMap& operator=(const MessageMap&) = delete;
  ~MessageMap() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Message* find(const MessageID& id) const {
    if (size_ == 0) return nullptr;
    const std::uint64_t h = MessageIDHash{}(id);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.msg == nullptr) return nullptr;
      if (s.hash == h && s.msg->id == id) return s.msg;
    }
  }

  // Takes ownership of msg unless its ID is already present (then returns false and leaves msg alone).
  bool insert(MessagePtr& msg) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = MessageIDHash{}(msg->id);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.msg == nullptr) break;
      if (s.hash == h && s.msg->id == msg->id) return false;
    }
    slots_[i] = Slot{h, msg.release()};
    ++size_;
    return true;
  }

  // Removes and returns the message with this ID (null if absent).
  MessagePtr take(const MessageID& id) {
    if (size_ == 0) return nullptr;
    const std::uint64_t h = MessageIDHash{}(id);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.msg == nullptr) return nullptr;
      if (s.hash == h && s.msg->id == id) break;
    }
    MessagePtr out(slots_[i].msg);
    // Backward-shift deletion: pull later entries of the probe run into the hole, so no tombstones build up.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].msg != nullptr; j = (j + 1) & mask_) {
      const std::size_t home = slots_[j].hash & mask_;
      // Move j into the hole if its home is not in the cyclic range (hole, j].
      const bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!in_range) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    return out;
  }

  void clear() {
    for (Slot& s : slots_) {
      delete s.msg;
      s = Slot{};
    }
    size_ = 0;
  }

  // Calls f(Message&) for every message, in table order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.msg != nullptr) f(*s.msg);
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    Message* msg = nullptr;
  };

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const std::size_t cap = old.empty() ? 16 : old.size() * 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.msg == nullptr) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].msg != nullptr) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace nsq
