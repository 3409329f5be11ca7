// Where a topic or channel puts messages that do not fit its memory queue (nsqd's BackendQueue).
// Non-ephemeral queues use DiskBackendQueue (engine/disk_backend_queue.h) when the engine has a file system,
// OverflowMemoryQueue (nothing dropped, nothing persisted) when it has none; ephemeral ones use DiscardQueue
// (nsqd drops ephemeral overflow by design).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/memory_queue.h"
#include "engine/message.h"

namespace nsq {

class BackendQueue {
 public:
  virtual ~BackendQueue() = default;
  // Appends a message. Returns "" or an error text (e.g. a disk write failure).
  virtual std::string put(MessagePtr msg) = 0;
  // put() of a copy: the caller keeps msg, e.g. to hold on to it when the write fails.
  virtual std::string put_copy(const Message& msg) { return put(msg.clone()); }
  // The next message ready to be read now, or null.
  virtual MessagePtr pop() = 0;
  // Whether pop() may return a message. Not the same as depth() > 0: a disk queue's stored depth can be off
  // after a crash or corruption, and its data is served regardless, as go-diskqueue does.
  virtual bool readable() const { return depth() > 0; }
  virtual std::int64_t depth() const = 0;
  // Drops everything queued.
  virtual void empty() = 0;
  // Makes everything put so far durable, then stops; done(error or "") runs afterwards (possibly at once).
  virtual void close(std::function<void(std::string)> done) { done({}); }
  // Drops everything and deletes the backing files (the topic or channel is being deleted).
  virtual void remove_all() { empty(); }
  // Writes what put() only buffered (disk queues batch their appends per event-loop turn). Returns "" or the
  // write error, which lost the buffered messages nobody had read yet.
  virtual std::string flush() { return {}; }
  virtual bool has_unflushed() const { return false; }
  // Durable mode. done(error or "") once everything put so far is durable (possibly at once).
  virtual void sync(std::function<void(std::string)> done) { done({}); }
  // A small side file rewritten (atomically) by the next sync whenever mark_side_file_dirty() was called, so that
  // it is durable whenever the queue's data is: snapshot() gives its contents at that moment.
  virtual void set_side_file(std::string /*path*/, std::function<std::string()> /*snapshot*/) {}
  virtual void mark_side_file_dirty() {}
  // A message popped with disk_seq != 0 is done with (FINished, or safely written elsewhere); ack_all() for all.
  virtual void ack(std::uint64_t /*disk_seq*/) {}
  virtual void ack_all() {}
};

class OverflowMemoryQueue final : public BackendQueue {
 public:
  std::string put(MessagePtr msg) override {
    q_.push(std::move(msg));
    return {};
  }
  MessagePtr pop() override { return q_.pop(); }
  std::int64_t depth() const override { return static_cast<std::int64_t>(q_.size()); }
  void empty() override { q_.clear(); }

 private:
  MemoryQueue q_;
};

class DiscardQueue final : public BackendQueue {
 public:
  std::string put(MessagePtr) override { return {}; }
  MessagePtr pop() override { return nullptr; }
  std::int64_t depth() const override { return 0; }
  void empty() override {}
};

}  // namespace nsq
