// Where a topic or channel puts messages that do not fit its memory queue (nsqd's BackendQueue).
// The persistence issue plugs go-diskqueue-compatible disk queues in here through the file-system seam.
// Until then, non-ephemeral queues overflow into OverflowMemoryQueue (nothing is dropped) and ephemeral ones into
// DiscardQueue (nsqd drops ephemeral overflow by design).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "engine/message.h"

namespace nsq {

class BackendQueue {
 public:
  virtual ~BackendQueue() = default;
  // Appends a message. Returns "" or an error text (e.g. a disk write failure).
  virtual std::string put(MessagePtr msg) = 0;
  // The next message ready to be read now, or null.
  virtual MessagePtr pop() = 0;
  virtual std::int64_t depth() const = 0;
  // Drops everything queued.
  virtual void empty() = 0;
};

class OverflowMemoryQueue final : public BackendQueue {
 public:
  std::string put(MessagePtr msg) override {
    msg->heap_index = -1;
    q_.push_back(std::move(msg));
    return {};
  }
  MessagePtr pop() override {
    if (q_.empty()) return nullptr;
    MessagePtr m = std::move(q_.front());
    q_.pop_front();
    return m;
  }
  std::int64_t depth() const override { return static_cast<std::int64_t>(q_.size()); }
  void empty() override { q_.clear(); }

 private:
  std::deque<MessagePtr> q_;
};

class DiscardQueue final : public BackendQueue {
 public:
  std::string put(MessagePtr) override { return {}; }
  MessagePtr pop() override { return nullptr; }
  std::int64_t depth() const override { return 0; }
  void empty() override {}
};

}  // namespace nsq
