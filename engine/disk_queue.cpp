#include "engine/disk_queue.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "engine/planted_bugs.h"
#include "engine/wire.h"

namespace nsq {

DiskQueue::DiskQueue(std::string name, DiskQueueOptions opts, seam::FileSystem& fs, seam::Clock& clock,
                     seam::Logger& logger)
    : name_(std::move(name)), opts_(std::move(opts)), fs_(fs), clock_(clock), logger_(logger) {
  load_meta();
  // A crash can leave a .meta whose depth disagrees with an empty tail (the reset below never made it to disk):
  // nothing will ever be read to correct it, so correct it now (found by nsqd-sim: depth -1 forever).
  check_tail();
}

DiskQueue::~DiskQueue() {
  *alive_ = false;
  if (sync_timer_ != seam::kNoTimer) clock_.cancel(sync_timer_);
}

void DiskQueue::log(seam::LogLevel level, const std::string& text) {
  if (logger_.enabled(level)) logger_.log(level, text);
}

std::string DiskQueue::file_name(std::int64_t num) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06lld", static_cast<long long>(num));
  return opts_.data_path + "/" + name_ + ".diskqueue." + buf + ".dat";
}

std::string DiskQueue::meta_file_name() const { return opts_.data_path + "/" + name_ + ".diskqueue.meta.dat"; }

std::string DiskQueue::meta_text() const {
  std::int64_t depth = depth_, rf = read_file_num_, rp = read_pos_;
  if (!outstanding_.empty()) {
    depth += static_cast<std::int64_t>(outstanding_.size());
    rf = outstanding_.front().file;
    rp = outstanding_.front().pos;
  }
  return std::to_string(depth) + "\n" + std::to_string(rf) + "," + std::to_string(rp) + "\n" +
         std::to_string(write_file_num_) + "," + std::to_string(write_pos_) + "\n";
}

void DiskQueue::ack(std::uint64_t seq) {
  if (seq < first_seq_ || seq >= first_seq_ + outstanding_.size()) return;
  outstanding_[static_cast<std::size_t>(seq - first_seq_)].acked = true;
  while (!outstanding_.empty() && outstanding_.front().acked) {
    outstanding_.pop_front();
    ++first_seq_;
  }
}

void DiskQueue::ack_all() {
  first_seq_ += outstanding_.size();
  outstanding_.clear();
}

void DiskQueue::load_meta() {
  std::string text;
  const seam::IoResult r = fs_.read_file(meta_file_name(), text);
  if (!r.ok()) {
    if (r.error != ENOENT) {
      log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to retrieveMetaData - " + r.message);
    }
  } else {
    long long depth = 0, rf = 0, rp = 0, wf = 0, wp = 0;
    // Bounds far beyond any real queue (2^40 files, 2^50-byte positions and depths) keep the arithmetic on them
    // from overflowing (found by fuzz_disk_queue: a write file number of LLONG_MAX).
    constexpr long long kMaxFileNum = 1LL << 40, kMaxPos = 1LL << 50;
    if (std::sscanf(text.c_str(), "%lld\n%lld,%lld\n%lld,%lld\n", &depth, &rf, &rp, &wf, &wp) != 5 || rf < 0 ||
        rp < 0 || wf < 0 || wp < 0 || rf > kMaxFileNum || wf > kMaxFileNum || rp > kMaxPos || wp > kMaxPos ||
        depth > kMaxPos || depth < -kMaxPos) {
      log(seam::LogLevel::error,
          "DISKQUEUE(" + name_ + ") failed to retrieveMetaData - malformed " + meta_file_name());
    } else {
      depth_ = depth;
      read_file_num_ = rf;
      read_pos_ = rp;
      write_file_num_ = wf;
      write_pos_ = wp;
    }
  }
  // Data written after the last .meta (a crash) may sit past writePos in the write file, or in files after it
  // (a roll whose .meta never landed). Keep all of it readable, in order, up to each file's real end, and
  // write new data into a fresh file after the last of them, never over them. (go-diskqueue handles the first
  // case the same way; in the second, and without any .meta, it overwrote the old data from offset 0.)
  // The opposite, a write file shorter than writePos, means data the .meta counts never became durable: writing
  // on at writePos would leave a hole of zeros that reads as records (found by nsqd-sim). Also a new file.
  const std::int64_t size = fs_.file_size(file_name(write_file_num_));
  const std::int64_t last = last_data_file_num();
  if (size > write_pos_ || (write_pos_ > 0 && size < write_pos_) || last > write_file_num_) {
    log(seam::LogLevel::warn, "DISKQUEUE(" + name_ + ") " + file_name(write_file_num_) + " metadata writePos " +
                                  std::to_string(write_pos_) + " < file size of " + std::to_string(size) +
                                  ", skipping to new file");
    write_file_num_ = std::max(last, write_file_num_) + 1;
    write_pos_ = 0;
  }
}

std::int64_t DiskQueue::last_data_file_num() { return data_file_nums(read_file_num_).second; }

std::pair<std::int64_t, std::int64_t> DiskQueue::data_file_nums(std::int64_t from) {
  // "<name>.diskqueue.NNNNNN.dat" with a non-empty body; .bad files and other queues' files do not match.
  const std::string prefix = name_ + ".diskqueue.";
  std::int64_t first = -1, last = -1;
  for (const std::string& f : fs_.list_dir(opts_.data_path)) {
    if (f.size() != prefix.size() + 10 || f.compare(0, prefix.size(), prefix) != 0) continue;
    if (f.compare(f.size() - 4, 4, ".dat") != 0) continue;
    std::int64_t n = 0;
    bool digits = true;
    for (std::size_t i = prefix.size(); i < prefix.size() + 6; ++i) {
      if (f[i] < '0' || f[i] > '9') {
        digits = false;
        break;
      }
      n = n * 10 + (f[i] - '0');
    }
    if (!digits || n < from) continue;
    if (fs_.file_size(opts_.data_path + "/" + f) > 0) {
      last = std::max(last, n);
      first = first < 0 ? n : std::min(first, n);
    }
  }
  return {first, last};
}

std::string DiskQueue::put(std::string_view payload) {
  if (closed_) return "exiting";
  if (!write_error_.empty()) return std::exchange(write_error_, {});
  const auto len = static_cast<std::int64_t>(payload.size());
  if (len < opts_.min_msg_size || len > opts_.max_msg_size) {
    return "invalid message write size (" + std::to_string(len) + ") minMsgSize=" +
           std::to_string(opts_.min_msg_size) + " maxMsgSize=" + std::to_string(opts_.max_msg_size);
  }
  const std::int64_t total = 4 + len;
  if (write_pos_ > 0 && write_pos_ + total > opts_.max_bytes_per_file) {
    if (std::string err = flush(); !err.empty()) return err;
    if (read_file_num_ == write_file_num_) max_read_ = write_pos_;
    if (write_dirty_) unsynced_.push_back(write_file_);
    write_file_.reset();
    write_dirty_ = false;
    write_file_num_ += 1;
    write_pos_ = 0;
    sync();  // every new file starts with a sync, as go-diskqueue
  }
  if (!write_file_) {
    seam::IoResult r;
    write_file_ = fs_.open(file_name(write_file_num_), true, r);
    if (!write_file_) return r.message;
  }
  // Bytes past the write position exist only when a failed write landed part of a record; the read-ahead may
  // have cached them, and this write replaces them (found by nsqd-sim: a durable, acknowledged message was read
  // as the stale bytes, taken for corruption and set aside).
  if (read_buf_file_ == write_file_num_ && read_buf_pos_ + static_cast<std::int64_t>(read_buf_.size()) > write_pos_) {
    read_buf_.resize(static_cast<std::size_t>(std::max<std::int64_t>(0, write_pos_ - read_buf_pos_)));
  }
  if (opts_.batch_writes) {
    if (pending_.empty()) flushed_pos_ = write_pos_;
    wire::append_u32(pending_, static_cast<std::uint32_t>(len));
    pending_.append(payload);
  } else {
    std::string record;
    record.reserve(static_cast<std::size_t>(total));
    wire::append_u32(record, static_cast<std::uint32_t>(len));
    record.append(payload);
    if (seam::IoResult r = write_file_->write_at(static_cast<std::uint64_t>(write_pos_), record); !r.ok()) {
      // Part of the record may have landed; the next write goes to write_pos_ again, over it.
      if (write_dirty_) unsynced_.push_back(write_file_);
      write_file_.reset();
      write_dirty_ = false;
      return r.message;
    }
    write_dirty_ = true;
  }
  write_pos_ += total;
  depth_ += 1;
  count_op();
  // A bounded buffer: one write per 1 MiB at most, whatever the owner's flushing.
  constexpr std::size_t kMaxPending = 1024 * 1024;
  // With retain_unwritten this record is kept whatever the flush below says: reporting the error would make the
  // owner keep a second copy of it.
  if (pending_.size() >= kMaxPending) {
    std::string err = flush();
    if (!opts_.retain_unwritten) return err;
  }
  if (!write_error_.empty() && !opts_.retain_unwritten) {
    return std::exchange(write_error_, {});  // count_op's sync flushed and failed
  }
  return {};
}

std::string DiskQueue::flush() {
  std::string err = write_pending();
  if (err.empty()) err = std::exchange(write_error_, {});
  write_error_.clear();
  return err;
}

std::string DiskQueue::write_pending() {
  if (pending_.empty()) return {};
  const std::int64_t start = flushed_pos_;
  if (!write_file_) {
    seam::IoResult opened;
    write_file_ = fs_.open(file_name(write_file_num_), true, opened);  // closed by an earlier failed write
    if (!write_file_ && opts_.retain_unwritten) return opened.message;  // kept for the next flush or sync
  }
  const seam::IoResult r = write_file_ ? write_file_->write_at(static_cast<std::uint64_t>(start), pending_)
                                       : seam::IoResult{EBADF, "no write file"};
  if (r.ok()) {
    write_dirty_ = true;
    // A reader at the tail reads these bytes next: keep them as its read-ahead instead of reading them back.
    if (read_file_num_ == write_file_num_ && read_pos_ >= start) {
      std::swap(read_buf_, pending_);
      read_buf_file_ = write_file_num_;
      read_buf_pos_ = start;
    }
    pending_.clear();
    flushed_pos_ = write_pos_;
    return {};
  }
  if (opts_.retain_unwritten) {
    // Kept: readers still get them from the buffer, and the next flush or sync writes them again at the same
    // position, over whatever part of this write landed.
    log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to write " + std::to_string(pending_.size()) +
                                   " buffered bytes (kept, written again later) - " + r.message);
    if (write_dirty_ && write_file_) unsynced_.push_back(write_file_);
    write_file_.reset();
    write_dirty_ = false;
    if (read_buf_file_ == write_file_num_) read_buf_file_ = -1;  // it may hold bytes of the failed write
    return r.message;
  }
  // The records nobody read yet are lost, as if their put() had failed; those already read were handed over.
  const bool reader_here = read_file_num_ == write_file_num_ && read_pos_ > start;
  std::size_t off = reader_here ? static_cast<std::size_t>(read_pos_ - start) : 0;
  std::int64_t lost = 0;
  while (off + 4 <= pending_.size()) {
    off += 4 + wire::read_u32(pending_.data() + off);
    ++lost;
  }
  depth_ -= lost;
  pending_.clear();
  log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to write " + std::to_string(lost) +
                                 " buffered records - " + r.message);
  if (write_dirty_ && write_file_) unsynced_.push_back(write_file_);
  write_file_.reset();
  write_dirty_ = false;
  if (read_buf_file_ == write_file_num_) read_buf_file_ = -1;  // it may hold bytes of the failed write
  if (!reader_here) {
    // Part of the data may have landed; the next write goes to the old end again, over it.
    write_pos_ = start;
  } else {
    // The reader already took records from the lost region: neither side may use this file past here again.
    read_file_.reset();
    delete_after_sync_.push_back(read_file_num_);
    read_file_num_ += 1;
    read_pos_ = 0;
    max_read_ = -1;
    write_file_num_ += 1;
    write_pos_ = 0;
    sync();
  }
  flushed_pos_ = write_pos_;
  return r.message;
}

std::optional<std::string> DiskQueue::read_next(std::uint64_t* seq) {
  for (;;) {
    if (!readable()) {
      check_tail();
      return std::nullopt;
    }
    const bool finished_file = read_file_num_ < write_file_num_;
    if (!read_file_) {
      seam::IoResult r;
      read_file_ = fs_.open(file_name(read_file_num_), false, r);
      if (!read_file_) {
        if (finished_file && r.error == ENOENT) {
          // Already gone (deleted after a crash, or never written): nothing to lose here.
          // Skip straight to the next file that exists: a corrupt .meta can name a write file billions of
          // numbers ahead, and stepping through them one by one hung the loop (found by fuzz_disk_queue).
          log(seam::LogLevel::warn, "DISKQUEUE(" + name_ + ") " + file_name(read_file_num_) + " missing, skipping");
          const std::int64_t next = data_file_nums(read_file_num_ + 1).first;
          const std::int64_t to = next < 0 || next > write_file_num_ ? write_file_num_ : next;
          finish_read_file();
          read_file_num_ = to;
          continue;
        }
        handle_read_error(r.message);
        continue;
      }
    }
    if (finished_file && max_read_ < 0) max_read_ = static_cast<std::int64_t>(read_file_->size());
    const std::int64_t limit = finished_file ? max_read_ : write_pos_;
    if (read_pos_ >= limit) {
      finish_read_file();
      continue;
    }
    std::string_view head;
    if (seam::IoResult r = read_ahead(read_pos_, 4, head); !r.ok()) {
      handle_read_error(r.message);
      continue;
    }
    if (head.size() < 4) {
      handle_read_error("EOF");
      continue;
    }
    const auto len = static_cast<std::int32_t>(wire::read_u32(head.data()));
    if (len < opts_.min_msg_size || len > opts_.max_msg_size) {
      handle_read_error("invalid message read size (" + std::to_string(len) + ")");
      continue;
    }
    std::string_view payload;
    if (seam::IoResult r = read_ahead(read_pos_ + 4, static_cast<std::size_t>(len), payload); !r.ok()) {
      handle_read_error(r.message);
      continue;
    }
    if (payload.size() < static_cast<std::size_t>(len) || read_pos_ + 4 + len > limit) {
      handle_read_error("unexpected EOF");
      continue;
    }
    if (track_acks_) {
      if (seq != nullptr) *seq = first_seq_ + outstanding_.size();
      outstanding_.push_back(Outstanding{read_file_num_, read_pos_, false});
    }
    read_pos_ += 4 + len;
    depth_ -= 1;
    std::string out(payload);
    if (finished_file && read_pos_ >= max_read_) finish_read_file();
    count_op();
    check_tail();
    return out;
  }
}

seam::IoResult DiskQueue::read_ahead(std::int64_t pos, std::size_t n, std::string_view& out) {
  constexpr std::size_t kReadAhead = 256 * 1024;
  if (!pending_.empty() && read_file_num_ == write_file_num_ && pos >= flushed_pos_) {
    const auto off = static_cast<std::size_t>(pos - flushed_pos_);
    out = std::string_view(pending_).substr(off, std::min(n, pending_.size() - off));
    return {};
  }
  const auto buf_end = read_buf_pos_ + static_cast<std::int64_t>(read_buf_.size());
  if (read_buf_file_ != read_file_num_ || pos < read_buf_pos_ || pos + static_cast<std::int64_t>(n) > buf_end) {
    read_buf_file_ = -1;
    seam::IoResult r = read_file_->read_at(static_cast<std::uint64_t>(pos), std::max(n, kReadAhead), read_buf_);
    if (!r.ok()) return r;
    read_buf_file_ = read_file_num_;
    read_buf_pos_ = pos;
  }
  const auto off = static_cast<std::size_t>(pos - read_buf_pos_);
  out = std::string_view(read_buf_).substr(off, std::min(n, read_buf_.size() - off));
  return {};
}

void DiskQueue::finish_read_file() {
  read_file_.reset();
  delete_after_sync_.push_back(read_file_num_);
  read_file_num_ += 1;
  read_pos_ = 0;
  max_read_ = -1;
  sync();
}

void DiskQueue::handle_read_error(const std::string& why) {
  log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") reading at " + std::to_string(read_file_num_) + "," +
                                 std::to_string(read_pos_) + " - " + why);
  if (read_file_num_ == write_file_num_) {
    // The writer must never append to a file that is about to be set aside. Its buffered records belong to
    // that file (write-through would have put them there already).
    const std::string err = write_pending();
    if (!err.empty() && !opts_.retain_unwritten) write_error_ = err;
    write_file_.reset();
    write_dirty_ = false;
    write_file_num_ += 1;
    write_pos_ = 0;
    if (!pending_.empty()) {
      // retain_unwritten and the write failed: the kept records start the next file (records the reader had
      // already taken from them come again: a duplicate, never a loss).
      flushed_pos_ = 0;
      write_pos_ = static_cast<std::int64_t>(pending_.size());
    }
  }
  // The file is renamed to .bad only once a .meta past it is durable: until then a crash replays the reads
  // that were handed over from it, and those records must still be there.
  log(seam::LogLevel::warn, "DISKQUEUE(" + name_ + ") jump to next file, " + file_name(read_file_num_) +
                                " will be saved as .bad");
  bad_after_sync_.push_back(read_file_num_);
  read_file_.reset();
  read_file_num_ += 1;
  read_pos_ = 0;
  max_read_ = -1;
  sync();
  check_tail();
}

void DiskQueue::set_aside_bad_file(std::int64_t num) {
  const std::string bad = file_name(num);
  if (!fs_.exists(bad)) return;
  // Never rename over anything: an older .bad file is evidence too, and go-diskqueue #42 lost data this way.
  std::string target = bad + ".bad";
  for (int n = 1; fs_.exists(target); ++n) target = bad + ".bad." + std::to_string(n);
  log(seam::LogLevel::warn, "DISKQUEUE(" + name_ + ") saving bad file as " + target);
  if (seam::IoResult r = fs_.rename(bad, target); !r.ok()) {
    log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to rename bad diskqueue file " + bad + " to " +
                                   target + " - " + r.message);
  }
}

void DiskQueue::check_tail() {
  // Only a read position at or past the write position is a tail (the position pairs compare in file order: a
  // .meta with readFileNum past writeFileNum must be caught here too, found by fuzz_disk_queue).
  if (read_file_num_ < write_file_num_ || (read_file_num_ == write_file_num_ && read_pos_ < write_pos_)) return;
  if (depth_ != 0) {
    if (depth_ < 0) {
      log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") negative depth at tail (" + std::to_string(depth_) +
                                     "), metadata corruption, resetting 0...");
    } else {
      log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") positive depth at tail (" + std::to_string(depth_) +
                                     "), data loss, resetting 0...");
    }
    depth_ = 0;
    sync();
  }
  if (read_file_num_ != write_file_num_ || read_pos_ != write_pos_) {
    log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") read position past write position, corruption, "
                               "skipping to next writeFileNum and resetting 0...");
    read_file_.reset();
    write_file_.reset();
    write_dirty_ = false;
    write_file_num_ = std::max(read_file_num_, write_file_num_) + 1;
    write_pos_ = 0;
    read_file_num_ = write_file_num_;
    read_pos_ = 0;
    max_read_ = -1;
    sync();
  }
}

void DiskQueue::count_op() {
  if (++ops_since_sync_ >= opts_.sync_every) sync();
  // go-diskqueue's sync ticker syncs every sync_timeout if anything happened; arming the timer at the first
  // operation after a sync does the same, and an idle queue (thousands of them) costs no wake-ups at all.
  if (sync_timer_ == seam::kNoTimer) arm_sync_timer();
}

void DiskQueue::sync(seam::IoCallback done) {
  if (done) waiting_.push_back(std::move(done));
  if (sync_running_) {
    sync_again_ = true;
    return;
  }
  start_sync();
}

void DiskQueue::start_sync() {
  sync_running_ = true;
  sync_again_ = false;
  ops_since_sync_ = 0;
  // Buffered records first: the .meta below must not count records that are not in the files. A failed write
  // fails this sync for whoever waits on it, and is reported by the next put()/flush() too.
  // With retain_unwritten the records stay buffered for the next try: nothing to report to a later put().
  std::string flush_error = write_pending();
  if (!flush_error.empty() && !opts_.retain_unwritten) write_error_ = flush_error;
  if (flush_error.empty()) flush_error = write_error_;
  std::vector<seam::IoCallback> waiters = std::move(waiting_);
  waiting_.clear();
  std::vector<std::shared_ptr<seam::File>> files = std::move(unsynced_);
  unsynced_.clear();
  if (write_dirty_ && write_file_) files.push_back(write_file_);
  write_dirty_ = false;
  if (planted::bugs.sync_skips_fsync) [[unlikely]] files.clear();
  // Files wholly before the read position this .meta records can go; the rest wait for a later sync.
  const std::int64_t keep_from = durable_read_file();
  std::vector<std::int64_t> deletions, bad_files;
  auto split = [keep_from](std::vector<std::int64_t>& pending, std::vector<std::int64_t>& now) {
    std::vector<std::int64_t> later;
    for (std::int64_t n : pending) (n < keep_from ? now : later).push_back(n);
    pending = std::move(later);
  };
  split(delete_after_sync_, deletions);
  split(bad_after_sync_, bad_files);
  // The .meta describes this moment: every record it covers was written before the fsyncs below were issued.
  std::string meta = meta_text();
  std::optional<std::string> side;
  if (side_dirty_ && side_snapshot_ && !side_path_.empty()) {
    side = side_snapshot_();
    side_dirty_ = false;
  }

  struct Job {
    std::size_t pending = 0;
    seam::IoResult result;
  };
  auto job = std::make_shared<Job>();
  std::weak_ptr<bool> alive = alive_;
  auto finish = [this, alive, waiters = std::move(waiters), deletions = std::move(deletions),
                 bad_files = std::move(bad_files), synced = files, flush_error](seam::IoResult r) {
    if (alive.expired()) return;
    if (r.ok() && !flush_error.empty()) r = seam::IoResult{EIO, flush_error};
    if (r.ok()) {
      for (std::int64_t n : bad_files) set_aside_bad_file(n);
      for (std::int64_t n : deletions) {
        if (seam::IoResult d = fs_.remove(file_name(n)); !d.ok() && d.error != ENOENT) {
          log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to remove data file - " + d.message);
        }
      }
    } else {
      log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to sync - " + r.message);
      // The files stay unsynced: the next sync must fsync them again before any .meta counts their data
      // (found by nsqd-sim: a later .meta claimed records that a crash then lost, and writes went past EOF).
      for (const auto& f : synced) {
        if (f == write_file_) {
          write_dirty_ = true;
        } else {
          unsynced_.push_back(f);
        }
      }
      for (std::int64_t n : deletions) delete_after_sync_.push_back(n);  // retried with the next sync
      for (std::int64_t n : bad_files) bad_after_sync_.push_back(n);
    }
    sync_running_ = false;
    if (removed_ && fs_.exists(meta_file_name())) fs_.remove(meta_file_name());
    for (const auto& w : waiters) w(r);
    if (sync_again_ && !sync_running_) start_sync();
  };
  auto write_meta = [this, alive, meta = std::move(meta), side = std::move(side),
                     finish = std::move(finish)](seam::IoResult r) mutable {
    if (alive.expired()) return;
    if (!r.ok()) {
      finish(std::move(r));
      return;
    }
    if (side) {
      fs_.write_file_atomic(
          meta_file_name(), std::move(meta),
          [this, alive, side = std::move(*side), finish = std::move(finish), removed = removed_flag_, fs = &fs_,
           path = meta_file_name()](seam::IoResult mr) mutable {
            if (*removed && fs->exists(path)) fs->remove(path);  // as below
            if (alive.expired()) return;
            if (!mr.ok()) {
              side_dirty_ = true;  // retried by the next sync
              finish(std::move(mr));
              return;
            }
            fs_.write_file_atomic(side_path_, std::move(side),
                                  [this, alive, finish = std::move(finish)](seam::IoResult sr) mutable {
                                    if (!alive.expired() && !sr.ok()) side_dirty_ = true;
                                    finish(std::move(sr));
                                  });
          });
      return;
    }
    // A queue deleted (and maybe destroyed, its topic or channel gone) while this write runs must not leave the
    // .meta behind for a queue of the same name created later (found by nsqd-sim: a re-created channel showed
    // the deleted one's depth). Atomic writes complete in order, so a newer queue's .meta lands after this.
    fs_.write_file_atomic(meta_file_name(), std::move(meta),
                          [finish = std::move(finish), removed = removed_flag_, fs = &fs_,
                           path = meta_file_name()](seam::IoResult mr) mutable {
                            if (*removed && fs->exists(path)) fs->remove(path);
                            finish(std::move(mr));
                          });
  };
  if (files.empty()) {
    write_meta(seam::IoResult{});
    return;
  }
  job->pending = files.size();
  auto shared_write_meta = std::make_shared<decltype(write_meta)>(std::move(write_meta));
  for (auto& f : files) {
    f->sync([job, shared_write_meta](seam::IoResult r) {
      if (!r.ok() && job->result.ok()) job->result = std::move(r);
      if (--job->pending == 0) (*shared_write_meta)(std::move(job->result));
    });
  }
}

void DiskQueue::arm_sync_timer() {
  if (closed_ || opts_.sync_timeout_ns <= 0) return;
  std::weak_ptr<bool> alive = alive_;
  sync_timer_ = clock_.schedule_after(opts_.sync_timeout_ns, [this, alive] {
    if (alive.expired()) return;
    sync_timer_ = seam::kNoTimer;
    if (ops_since_sync_ > 0) sync();
  });
}

void DiskQueue::empty() {
  log(seam::LogLevel::info, "DISKQUEUE(" + name_ + "): emptying");
  read_file_.reset();
  write_file_.reset();
  write_dirty_ = false;
  pending_.clear();
  write_error_.clear();
  read_buf_file_ = -1;
  unsynced_.clear();
  for (std::int64_t n : delete_after_sync_) fs_.remove(file_name(n));
  delete_after_sync_.clear();
  for (std::int64_t n : bad_after_sync_) set_aside_bad_file(n);
  bad_after_sync_.clear();
  for (std::int64_t n = read_file_num_; n <= write_file_num_; ++n) {
    if (fs_.exists(file_name(n))) {
      if (seam::IoResult r = fs_.remove(file_name(n)); !r.ok()) {
        log(seam::LogLevel::error, "DISKQUEUE(" + name_ + ") failed to remove data file - " + r.message);
      }
    }
  }
  write_file_num_ += 1;
  write_pos_ = 0;
  read_file_num_ = write_file_num_;
  read_pos_ = 0;
  max_read_ = -1;
  depth_ = 0;
  ack_all();
  if (fs_.exists(meta_file_name())) fs_.remove(meta_file_name());
}

void DiskQueue::close(seam::IoCallback done) {
  closed_ = true;
  if (sync_timer_ != seam::kNoTimer) {
    clock_.cancel(sync_timer_);
    sync_timer_ = seam::kNoTimer;
  }
  sync(std::move(done));
}

void DiskQueue::remove_all() {
  empty();
  closed_ = true;
  if (sync_timer_ != seam::kNoTimer) {
    clock_.cancel(sync_timer_);
    sync_timer_ = seam::kNoTimer;
  }
  removed_ = true;  // a sync still running removes the .meta it rewrites
  *removed_flag_ = true;
}

}  // namespace nsq
