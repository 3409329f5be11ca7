// seam::FileSystem on POSIX files. Reads and writes (pread/pwrite, page cache) run on the caller's thread, the
// engine's event loop. fsync and the atomic whole-file write (temp + fsync + rename + directory fsync) run on
// ONE dedicated I/O thread, and their completions are posted back to the io_context.
//
// Why a thread: fsync blocks for milliseconds to seconds on real disks and has no non-blocking form (io_uring
// aside), and the engine is single-threaded by design; one worker keeps the loop serving publishers while a
// disk queue syncs. It is a single thread so jobs complete in submission order (a queue's data fsync finishes
// before its .meta rewrite starts), and it touches no engine state: it only sees file descriptors and bytes.
#pragma once

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/seam/file_system.h"

namespace nsq::io_real {

class PosixFileSystem final : public seam::FileSystem {
 public:
  explicit PosixFileSystem(boost::asio::io_context& io);
  // Finishes every queued job (their completions are posted, not run), then joins the I/O thread.
  ~PosixFileSystem() override;
  PosixFileSystem(const PosixFileSystem&) = delete;
  PosixFileSystem& operator=(const PosixFileSystem&) = delete;

  std::shared_ptr<seam::File> open(const std::string& path, bool create, seam::IoResult& result) override;
  seam::IoResult read_file(const std::string& path, std::string& out) override;
  void write_file_atomic(const std::string& path, std::string data, seam::IoCallback done) override;
  seam::IoResult rename(const std::string& from, const std::string& to) override;
  seam::IoResult remove(const std::string& path) override;
  bool exists(const std::string& path) override;
  std::int64_t file_size(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& dir) override;

  // Runs job on the I/O thread, then done(result) on the io_context's thread. The io_context counts as busy
  // until done has run, so io_context::run() cannot return while a sync is outstanding.
  void submit(std::function<seam::IoResult()> job, seam::IoCallback done);

 private:
  void worker();

  boost::asio::io_context& io_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

// errno → IoResult with "<what>: <strerror>" text.
seam::IoResult errno_result(int err, const std::string& what);

}  // namespace nsq::io_real
