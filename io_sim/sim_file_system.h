// seam::FileSystem in memory, for the simulator and the disk-queue tests.
//
// Each file (an inode: renames move it, open handles keep it) has two layers: `data`, what reads see, and
// `durable`, what survives a crash. write_at changes data only; sync() copies data to durable when it completes
// (through the VirtualClock, after sync_latency). crash() throws away everything unsynced: each file goes back
// to its durable bytes, or, when a tear picker is given, keeps a prefix of its unsynced appended tail (a torn
// write). Directory operations (create, rename, remove) are durable at once: a simplification that favours
// the real ones, whose atomic writes fsync the directory.
//
// Fault hooks: failing writes (optionally short: part of the data lands first), failing syncs, and a disk
// capacity after which writes fail with ENOSPC.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/seam/file_system.h"
#include "io_sim/virtual_clock.h"

namespace nsq::io_sim {

class SimFileSystem final : public seam::FileSystem {
 public:
  struct Inode {
    std::string data;
    std::string durable;
  };

  explicit SimFileSystem(VirtualClock& clock) : clock_(clock) {}

  std::shared_ptr<seam::File> open(const std::string& path, bool create, seam::IoResult& result) override;
  seam::IoResult read_file(const std::string& path, std::string& out) override;
  void write_file_atomic(const std::string& path, std::string data, seam::IoCallback done) override;
  seam::IoResult rename(const std::string& from, const std::string& to) override;
  seam::IoResult remove(const std::string& path) override;
  bool exists(const std::string& path) override { return files_.count(path) != 0; }
  std::int64_t file_size(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& dir) override;

  // --- simulation control
  // Power loss. Pending sync completions are dropped (they never happened). tear(n) picks how many of a
  // file's n unsynced appended bytes survive; without it none do.
  void crash(const std::function<std::size_t(std::size_t)>& tear = {});
  // How long a sync or atomic write takes in virtual time.
  std::int64_t sync_latency_ns = 1'000'000;
  // Next writes fail with this errno (0 = no fault). short_write_bytes of the data land before the failure.
  int write_error = 0;
  std::size_t short_write_bytes = 0;
  // Syncs and atomic writes fail with this errno (0 = no fault).
  int sync_error = 0;
  // Total bytes of file data allowed; writes that would exceed it fail with ENOSPC.
  std::optional<std::uint64_t> capacity;

  // --- inspection and test setup
  std::uint64_t used_bytes() const;
  std::shared_ptr<Inode> inode(const std::string& path) const;
  // Creates or replaces a file whose content is already durable.
  void put_durable(const std::string& path, std::string content);
  std::uint64_t syncs_completed() const { return syncs_completed_; }

 private:
  friend class SimFile;
  seam::IoResult check_write(std::size_t grow) const;
  void complete_later(std::function<seam::IoResult()> effect, seam::IoCallback done);

  VirtualClock& clock_;
  std::map<std::string, std::shared_ptr<Inode>> files_;
  std::uint64_t generation_ = 0;  // bumped by crash(): completions scheduled before it never land
  std::uint64_t syncs_completed_ = 0;
};

}  // namespace nsq::io_sim
