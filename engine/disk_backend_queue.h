// BackendQueue on a DiskQueue: messages serialised as nsqd writes them to go-diskqueue,
// [int64 ts][uint16 attempts][16-byte id][body]. Deferral and delivery state are not in the record (the Go nsqd
// must be able to read these files); the timing side file keeps those (engine/timing_file.h).
#pragma once

#include <memory>
#include <string>

#include "engine/backend_queue.h"
#include "engine/disk_queue.h"

namespace nsq {

class DiskBackendQueue final : public BackendQueue {
 public:
  explicit DiskBackendQueue(std::unique_ptr<DiskQueue> q) : q_(std::move(q)) {}

  std::string put(MessagePtr msg) override {
    buf_.clear();
    append_message_payload(buf_, *msg);
    return q_->put(buf_);
  }
  std::string put_copy(const Message& msg) override {
    buf_.clear();
    append_message_payload(buf_, msg);
    return q_->put(buf_);
  }
  MessagePtr pop() override {
    for (;;) {
      std::uint64_t seq = 0;
      std::optional<std::string> rec = q_->read_next(&seq);
      if (!rec) return nullptr;
      if (MessagePtr m = decode_message_payload(*rec)) {
        m->disk_seq = seq;
        return m;
      }
      q_->ack(seq);
      // Shorter than a header cannot pass the disk queue's size check; skip defensively.
    }
  }
  std::string flush() override { return q_->flush(); }
  bool has_unflushed() const override { return q_->has_unflushed(); }
  bool readable() const override { return q_->readable(); }
  std::int64_t depth() const override { return q_->depth(); }
  void empty() override { q_->empty(); }
  void close(std::function<void(std::string)> done) override {
    q_->close([done = std::move(done)](seam::IoResult r) { done(r.ok() ? std::string() : r.message); });
  }
  void remove_all() override { q_->remove_all(); }
  void sync(std::function<void(std::string)> done) override {
    q_->sync([done = std::move(done)](seam::IoResult r) { done(r.ok() ? std::string() : r.message); });
  }
  void ack(std::uint64_t disk_seq) override { q_->ack(disk_seq); }
  void ack_all() override { q_->ack_all(); }
  void set_side_file(std::string path, std::function<std::string()> snapshot) override {
    q_->set_side_file(std::move(path), std::move(snapshot));
  }
  void mark_side_file_dirty() override { q_->mark_side_file_dirty(); }
  DiskQueue& disk() { return *q_; }

 private:
  std::unique_ptr<DiskQueue> q_;
  std::string buf_;
};

}  // namespace nsq
