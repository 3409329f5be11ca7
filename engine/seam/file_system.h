// Seam: files. Everything the engine persists (disk queues, nsqd.dat) goes through here.
// io_real implements it on POSIX files with real fsync, done off the event loop with completions posted back;
// io_sim keeps files in memory and can tear, lose or fail writes that were not synced.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nsq::seam {

struct IoResult {
  int error = 0;             // 0 or an errno value
  std::string message;       // human text for logs when error != 0
  bool ok() const { return error == 0; }
};

// An open file. Reads and writes are positional; completion callbacks run on the engine's thread.
class File {
 public:
  virtual ~File() = default;
  virtual void write_at(std::uint64_t offset, std::string data, std::function<void(IoResult)> done) = 0;
  virtual void read_at(std::uint64_t offset, std::size_t size,
                       std::function<void(IoResult, std::string)> done) = 0;
  // Makes every completed write durable.
  virtual void sync(std::function<void(IoResult)> done) = 0;
  virtual std::uint64_t size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens (creating if asked) a file for reading and writing.
  virtual std::unique_ptr<File> open(const std::string& path, bool create, IoResult& result) = 0;
  // Small whole-file helpers, synchronous by design: used at start-up and for metadata.
  virtual IoResult read_file(const std::string& path, std::string& out) = 0;
  // Writes path atomically: temp file, fsync, rename, directory fsync.
  virtual IoResult write_file_atomic(const std::string& path, const std::string& data) = 0;
  virtual IoResult rename(const std::string& from, const std::string& to) = 0;
  virtual IoResult remove(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual std::vector<std::string> list_dir(const std::string& dir) = 0;
};

}  // namespace nsq::seam
