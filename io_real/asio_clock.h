// seam::Clock on one boost::asio::io_context. Every engine timer lives in one min-heap driven by a single
// asio::steady_timer, so thousands of pending timers (message timeouts, flushes, heartbeats) cost one Asio
// timer and one heap entry each.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/seam/clock.h"

namespace nsq::io_real {

class AsioClock final : public seam::Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io);
  ~AsioClock() override;
  AsioClock(const AsioClock&) = delete;
  AsioClock& operator=(const AsioClock&) = delete;

  std::int64_t now_ns() const override;
  std::int64_t wall_ns() const override;
  seam::TimerId schedule_at(std::int64_t deadline_ns, std::function<void()> fn) override;
  void cancel(seam::TimerId id) override;

  // Timers scheduled and neither fired nor cancelled.
  std::size_t pending() const { return callbacks_.size(); }

 private:
  struct Entry {
    std::int64_t deadline;
    seam::TimerId id;  // ids grow monotonically, so they double as the schedule order for equal deadlines
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.deadline != b.deadline ? a.deadline > b.deadline : a.id > b.id;
    }
  };

  void arm(std::int64_t deadline_ns);
  void on_timer();
  void drop_cancelled_top();
  void maybe_compact();

  boost::asio::steady_timer timer_;
  // Heap entries whose id is no longer in callbacks_ were cancelled (lazy deletion).
  std::vector<Entry> heap_;
  std::unordered_map<seam::TimerId, std::function<void()>> callbacks_;
  seam::TimerId last_id_ = seam::kNoTimer;
  std::int64_t armed_deadline_ = 0;
  bool armed_ = false;
  bool firing_ = false;
  std::uint64_t generation_ = 0;
  // Lets a wait that completes after destruction see that the clock is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nsq::io_real
