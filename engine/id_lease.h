// A durable floor under message IDs. IDs are time-based (see guid.h), so when the wall clock steps back across
// a restart, nsqd would hand out IDs it already gave to messages still on disk (disk queues, timing files), and
// the engine keys in-flight, deferred and timing state by ID. We keep a lease in the data path: a tick no ID has
// passed. At start every topic's IDs begin above the lease on disk; while running, the lease is renewed ahead of
// the ticks being used, asynchronously, so publishing never waits for it. Upstream nsqd has no such floor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/seam/clock.h"
#include "engine/seam/file_system.h"
#include "engine/seam/logger.h"

namespace nsq {

class IdLease {
 public:
  using LogFn = std::function<void(seam::LogLevel, const std::string&)>;

  // fs null: memory only, nothing survives a restart, so there is nothing to lease.
  IdLease(seam::FileSystem* fs, seam::Clock& clock, std::string path, LogFn log);
  ~IdLease();
  IdLease(const IdLease&) = delete;
  IdLease& operator=(const IdLease&) = delete;

  // Reads the lease left by the previous run (none: floor 0). A file that does not parse stops start-up with
  // this message, as a corrupt nsqd.dat does: guessing a floor could reuse IDs.
  std::string load();

  // The highest tick an ID may carry: of an earlier run (the lease found at start) or of this one (a topic
  // deleted and created again must not repeat its first life's IDs). A new ID factory starts above it.
  std::int64_t floor() const { return high_water_; }

  // Called by an ID factory with the tick it would use. Starts a renewal when the tick comes near the durable
  // lease, and returns the tick to use: the same, or the durable lease when the tick has run past it (the
  // factory then spends that tick's sequence numbers while the renewal is written).
  std::int64_t admit(std::int64_t tick) {
    if (tick + kRenewTicks > requested_) request(tick + kWindowTicks);
    return tick > durable_ ? durable_ : tick;
  }
  // The tick an ID was made with (for the high-water mark).
  void issued(std::int64_t tick) {
    if (tick <= high_water_) return;
    high_water_ = tick;
    if (tick > durable_) overrun(tick);
  }

  // Writes a lease ahead of the current wall clock now; done gets the result. Start-up waits for this before
  // serving, so no ID is handed out above a lease that is not on disk.
  void renew_now(std::function<void(const seam::IoResult&)> done);

  std::int64_t durable() const { return durable_; }

  // Ticks (~1.05 ms each, wall_ns >> 20) the lease runs ahead, and how close a tick may come before renewing.
  static constexpr std::int64_t kWindowTicks = 60'000'000'000LL >> 20;  // ~60 s
  static constexpr std::int64_t kRenewTicks = 30'000'000'000LL >> 20;   // ~30 s

 private:
  void request(std::int64_t target);
  void overrun(std::int64_t tick);
  void write();
  void write_done(const seam::IoResult& r, std::int64_t written);

  seam::FileSystem* fs_;
  seam::Clock& clock_;
  std::string path_;
  LogFn log_;
  std::int64_t durable_ = 0;     // on disk: no ID above it was handed out before it got there (except overrun)
  std::int64_t requested_ = 0;   // the target of the newest renewal asked for
  std::int64_t high_water_ = 0;  // highest tick loaded or issued
  bool writing_ = false;
  bool overrun_logged_ = false;
  int failures_ = 0;
  seam::TimerId retry_timer_ = seam::kNoTimer;
  std::vector<std::function<void(const seam::IoResult&)>> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::string id_lease_file_name(const std::string& data_path);

}  // namespace nsq
