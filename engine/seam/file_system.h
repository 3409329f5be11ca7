// Seam: files. Everything the engine persists (disk queues, nsqd.dat) goes through here.
//
// Reads and writes are positional and synchronous: they only touch the OS page cache (go-diskqueue, too, does
// plain write(2)s and only fsyncs on its sync schedule), so they are cheap on the event loop. What can take
// milliseconds to seconds is making data durable, so sync() and write_file_atomic() are asynchronous: io_real
// runs them on a dedicated I/O thread and posts the completion back to the engine's thread; io_sim completes
// them through the virtual clock and can lose or tear anything that was not synced when it "crashes".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nsq::seam {

struct IoResult {
  int error = 0;        // 0 or an errno value
  std::string message;  // human text for logs when error != 0
  bool ok() const { return error == 0; }
};

using IoCallback = std::function<void(IoResult)>;

// An open file. Owners hold it by shared_ptr so a pending sync keeps it open after the owner lets go.
class File {
 public:
  virtual ~File() = default;
  // Writes all of data at offset (a short write is an error).
  virtual IoResult write_at(std::uint64_t offset, std::string_view data) = 0;
  // Reads up to size bytes at offset into out (fewer at end of file).
  virtual IoResult read_at(std::uint64_t offset, std::size_t size, std::string& out) = 0;
  // Makes every write that completed before this call durable. done runs later on the engine's thread, never
  // inside sync().
  virtual void sync(IoCallback done) = 0;
  virtual std::uint64_t size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens (creating with mode 0600 if asked) a file for reading and writing. Null with result set on failure.
  virtual std::shared_ptr<File> open(const std::string& path, bool create, IoResult& result) = 0;
  // Whole small file, synchronous: start-up only (nsqd.dat, queue .meta files).
  virtual IoResult read_file(const std::string& path, std::string& out) = 0;
  // Replaces path atomically and durably: temp file, fsync, rename, directory fsync. Asynchronous; done runs on
  // the engine's thread. Calls complete in the order they were made.
  virtual void write_file_atomic(const std::string& path, std::string data, IoCallback done) = 0;
  virtual IoResult rename(const std::string& from, const std::string& to) = 0;
  virtual IoResult remove(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  // -1 if absent.
  virtual std::int64_t file_size(const std::string& path) = 0;
  // Plain file names (no directory part) in dir.
  virtual std::vector<std::string> list_dir(const std::string& dir) = 0;
};

}  // namespace nsq::seam
