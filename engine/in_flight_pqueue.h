// A 4-ary min-heap of Message* ordered by Message::pri, each message knowing its index so it can be removed or
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
  static constexpr std::size_t kArity = 4;  // children per node (the heap property holds against (i-1)/kArity)
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
  // A 4-ary heap sifted by moving a hole: per level one entry moves and one cold Message gets its new index
  // (a binary heap with swaps wrote two per level over twice the levels; on FIN that was most of the cost).
  void place(std::size_t i, const Entry& e) {
    heap_[i] = e;
    e.msg->heap_index = static_cast<std::int32_t>(i);
  }
  void swap(std::size_t a, std::size_t b) {
    const Entry ea = heap_[a];
    place(a, heap_[b]);
    place(b, ea);
  }
  void up(std::size_t i) {
    const Entry e = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (heap_[parent].pri <= e.pri) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
  }
  void down(std::size_t i) {
    const std::size_t n = heap_.size();
    const Entry e = heap_[i];
    for (;;) {
      const std::size_t first = kArity * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t last = first + kArity < n ? first + kArity : n;
      for (std::size_t c = first + 1; c < last; ++c) {
        if (heap_[c].pri < heap_[best].pri) best = c;
      }
      if (heap_[best].pri >= e.pri) break;
      place(i, heap_[best]);
      i = best;
    }
    place(i, e);
  }
  std::vector<Entry> heap_;
};

}  // namespace nsq
