// A binary min-heap of Message* ordered by Message::pri, each message knowing its index so it can be removed or
// re-prioritised in O(log n) (nsqd's inFlightPqueue). The priority is kept beside the pointer, so sifting
// compares within the heap's own array instead of touching every message on the way (cache misses). Used for both the in-flight and the deferred queues; a
// message is in at most one of them at a time, so one heap_index field is enough.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/message.h"

namespace nsq {

class InFlightPqueue {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Message* top() const { return heap_.front().msg; }
  std::int64_t top_pri() const { return heap_.front().pri; }

  void push(Message* m) {
    m->heap_index = static_cast<std::int32_t>(heap_.size());
    heap_.push_back(Entry{m->pri, m});
    up(heap_.size() - 1);
  }
  // Removes and returns the top if its priority is <= max_pri, else null.
  Message* pop_if_due(std::int64_t max_pri) {
    if (heap_.empty() || heap_.front().pri > max_pri) return nullptr;
    Message* m = heap_.front().msg;
    remove(m);
    return m;
  }
  void remove(Message* m) {
    auto i = static_cast<std::size_t>(m->heap_index);
    std::size_t last = heap_.size() - 1;
    if (i != last) {
      swap(i, last);
    }
    heap_.pop_back();
    m->heap_index = -1;
    if (i < heap_.size()) {
      down(i);
      up(i);
    }
  }
  void update(Message* m, std::int64_t pri) {
    m->pri = pri;
    auto i = static_cast<std::size_t>(m->heap_index);
    heap_[i].pri = pri;
    down(i);
    up(i);
  }
  void clear() {
    for (const Entry& e : heap_) e.msg->heap_index = -1;
    heap_.clear();
  }
  // Heap order snapshot (for tests and shutdown flushing).
  std::vector<Message*> items() const {
    std::vector<Message*> out;
    out.reserve(heap_.size());
    for (const Entry& e : heap_) out.push_back(e.msg);
    return out;
  }

 private:
  struct Entry {
    std::int64_t pri;
    Message* msg;
  };
  void swap(std::size_t a, std::size_t b) {
    std::swap(heap_[a], heap_[b]);
    heap_[a].msg->heap_index = static_cast<std::int32_t>(a);
    heap_[b].msg->heap_index = static_cast<std::int32_t>(b);
  }
  void up(std::size_t i) {
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (heap_[parent].pri <= heap_[i].pri) break;
      swap(parent, i);
      i = parent;
    }
  }
  void down(std::size_t i) {
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t l = 2 * i + 1, smallest = i;
      if (l < n && heap_[l].pri < heap_[smallest].pri) smallest = l;
      if (l + 1 < n && heap_[l + 1].pri < heap_[smallest].pri) smallest = l + 1;
      if (smallest == i) return;
      swap(i, smallest);
      i = smallest;
    }
  }
  std::vector<Entry> heap_;
};

}  // namespace nsq
