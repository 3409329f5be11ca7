// A FIFO of byte records on disk in go-diskqueue v1.1.0's format, so the Go nsqd and nsqd-cpp can open each
// other's data directories:
//   <dir>/<name>.diskqueue.%06d.dat   records [int32 BE length][payload], a new file past max_bytes_per_file
//   <dir>/<name>.diskqueue.meta.dat   "depth\nreadFileNum,readPos\nwriteFileNum,writePos\n", replaced atomically
//
// Writes and reads are synchronous (page cache). With batch_writes, put() appends records to a memory buffer
// and flush() writes all of them with one write (the owner flushes once per event-loop turn, and before
// answering a publish); reads of records not yet flushed are served from that buffer, and every sync, roll
// and close flushes first, so the files and the .meta are exactly what write-through would have produced. Syncs (fsync of the written files, then the .meta rewrite) are
// asynchronous through the file-system seam, one at a time; requests that arrive while one runs share the
// next one (group commit). Sync triggers as go-diskqueue: every sync_every reads+writes, every sync_timeout
// if anything happened, on roll, on entering a new read file, after a read error, on close.
//
// One deliberate difference, invisible in the format: a file that has been read to its end is deleted, and a
// corrupt one renamed to .bad, only after a .meta that no longer points into it is durable. go-diskqueue does
// both at once, so a crash before the next .meta write left a .meta pointing at a missing file and lost the
// records read from it but not yet durably consumed; here a crash replays those reads instead.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "engine/seam/clock.h"
#include "engine/seam/file_system.h"
#include "engine/seam/logger.h"

namespace nsq {

struct DiskQueueOptions {
  std::string data_path;
  std::int64_t max_bytes_per_file = 100 * 1024 * 1024;
  std::int32_t min_msg_size = 26;
  std::int32_t max_msg_size = 1024 * 1024 + 26;
  std::int64_t sync_every = 2500;
  std::int64_t sync_timeout_ns = 2'000'000'000;
  // Buffer appends until flush() (see above); off = one write per put, as go-diskqueue.
  bool batch_writes = false;
  // batch_writes: a failed batch write keeps its records buffered (still readable, depth unchanged) and writes
  // them again at the next flush or sync, instead of dropping them. For channels, whose records were already
  // acknowledged to their publisher; a topic drops them, because its publisher is told the write failed.
  bool retain_unwritten = false;
};

class DiskQueue {
 public:
  // Reads the .meta file (a missing one means an empty queue) synchronously.
  DiskQueue(std::string name, DiskQueueOptions opts, seam::FileSystem& fs, seam::Clock& clock,
            seam::Logger& logger);
  ~DiskQueue();
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // Appends one record. Returns "" or the error (bad size, write failure, closed). With batch_writes the
  // record may only be buffered: a later write failure is returned by the next put() or flush().
  std::string put(std::string_view payload);
  // Writes the buffered records (batch_writes). Returns "" or the error of this write or of any implicit flush
  // (roll, sync, buffer full) since the last put()/flush() returned one. A failed write drops the buffered
  // records that were not read yet (depth goes down by as many), as if their put() had failed.
  std::string flush();
  bool has_unflushed() const { return !pending_.empty(); }
  // The next record, or nullopt when nothing is readable. Corrupt data is renamed to .bad and skipped here.
  // With ack tracking on, *seq receives the read's sequence number for ack().
  std::optional<std::string> read_next(std::uint64_t* seq = nullptr);

  // Ack tracking (durable mode): the read position written to .meta is that of the oldest read not yet acked,
  // and no file is deleted or set aside before it, so a crash replays every unacknowledged read.
  void set_track_acks(bool on) { track_acks_ = on; }
  void ack(std::uint64_t seq);
  void ack_all();
  std::size_t unacked() const { return outstanding_.size(); }
  // Whether read_next() may return something (the stored depth can disagree after a crash or corruption).
  bool readable() const { return read_file_num_ < write_file_num_ || read_pos_ < write_pos_; }
  std::int64_t depth() const { return depth_; }

  // A side file (the timing file) that every sync started after mark_side_file_dirty() rewrites atomically
  // after the .meta, before reporting the sync done: whoever waits for the queue's durability waits for it too.
  void set_side_file(std::string path, std::function<std::string()> snapshot) {
    side_path_ = std::move(path);
    side_snapshot_ = std::move(snapshot);
  }
  // Durable mode (ack tracking on) syncs at once, sharing the sync with concurrent publishes; otherwise the
  // change counts as an operation, so sync-every / sync-timeout write it soon.
  void mark_side_file_dirty() {
    side_dirty_ = true;
    if (track_acks_) {
      sync();
    } else {
      count_op();
    }
  }

  // Asks for a sync; done(result) runs once a sync that started after this call has finished.
  void sync(seam::IoCallback done = {});
  // Deletes every data file and the .meta, continuing at the next file number (go-diskqueue Empty).
  void empty();
  // Final sync, then no more timers or writes; done runs when the data and .meta are durable.
  void close(seam::IoCallback done);
  // Deletes all files and stops (topic/channel deletion).
  void remove_all();

  const std::string& name() const { return name_; }
  std::string file_name(std::int64_t num) const;
  std::string meta_file_name() const;
  // Position of the next read: (file number, offset).
  std::int64_t read_file_num() const { return read_file_num_; }
  std::int64_t read_pos() const { return read_pos_; }
  std::int64_t write_file_num() const { return write_file_num_; }
  std::int64_t write_pos() const { return write_pos_; }
  bool sync_running() const { return sync_running_; }

 private:
  void load_meta();
  std::int64_t last_data_file_num();
  // The lowest and highest numbers >= from of this queue's non-empty data files (-1 when there are none).
  std::pair<std::int64_t, std::int64_t> data_file_nums(std::int64_t from);
  std::string meta_text() const;
  void handle_read_error(const std::string& why);
  void finish_read_file();
  void check_tail();
  void set_aside_bad_file(std::int64_t num);
  void count_op();
  // Writes pending_; on failure rolls the queue back past the lost records. Returns "" or the error.
  std::string write_pending();
  void start_sync();
  void arm_sync_timer();
  void log(seam::LogLevel level, const std::string& text);

  std::string name_;
  DiskQueueOptions opts_;
  seam::FileSystem& fs_;
  seam::Clock& clock_;
  seam::Logger& logger_;

  std::int64_t depth_ = 0;
  std::int64_t read_file_num_ = 0;
  std::int64_t read_pos_ = 0;
  std::int64_t write_file_num_ = 0;
  std::int64_t write_pos_ = 0;
  // End of the current read file once the writer has moved past it (-1: not known yet).
  std::int64_t max_read_ = -1;

  std::shared_ptr<seam::File> read_file_;
  std::string side_path_;
  std::function<std::string()> side_snapshot_;
  bool side_dirty_ = false;
  // Read-ahead over the current read file (go-diskqueue reads through a bufio.Reader too): one read per
  // kReadAhead bytes instead of two per message. Valid only for read_buf_file_.
  seam::IoResult read_ahead(std::int64_t pos, std::size_t n, std::string_view& out);
  std::string read_buf_;
  std::int64_t read_buf_file_ = -1;
  std::int64_t read_buf_pos_ = 0;
  std::shared_ptr<seam::File> write_file_;
  // batch_writes: records appended to write_file_num_ at flushed_pos_ onwards but not written yet, and the
  // error of an implicit flush not yet reported by put()/flush().
  std::string pending_;
  std::int64_t flushed_pos_ = 0;
  std::string write_error_;
  bool write_dirty_ = false;                             // write_file_ has writes not yet fsynced
  std::vector<std::shared_ptr<seam::File>> unsynced_;    // rolled-away files with writes not yet fsynced
  std::vector<std::int64_t> delete_after_sync_;          // fully read files, deleted once .meta moved past them
  std::vector<std::int64_t> bad_after_sync_;             // corrupt files, renamed .bad once .meta moved past them

  struct Outstanding {
    std::int64_t file;
    std::int64_t pos;
    bool acked;
  };
  bool track_acks_ = false;
  std::deque<Outstanding> outstanding_;  // reads handed over, oldest first; front is never acked
  std::uint64_t first_seq_ = 1;          // seq of outstanding_.front()
  // The read position a crash must resume from.
  std::int64_t durable_read_file() const { return outstanding_.empty() ? read_file_num_ : outstanding_.front().file; }

  std::int64_t ops_since_sync_ = 0;
  bool sync_running_ = false;
  bool sync_again_ = false;
  std::vector<seam::IoCallback> waiting_;  // for the next sync to start
  seam::TimerId sync_timer_ = seam::kNoTimer;
  bool closed_ = false;
  bool removed_ = false;
  std::shared_ptr<bool> removed_flag_ = std::make_shared<bool>(false);  // outlives the queue: see start_sync
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nsq
