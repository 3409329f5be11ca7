#include "engine/id_lease.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace nsq {

namespace {
constexpr std::int64_t kRetryMinNs = 100'000'000;   // 100 ms
constexpr std::int64_t kRetryMaxNs = 5'000'000'000;  // 5 s: well inside kRenewTicks, so a short outage costs nothing
}  // namespace

std::string id_lease_file_name(const std::string& data_path) { return data_path + "/nsqd-cpp.id-lease.json"; }

IdLease::IdLease(seam::FileSystem* fs, seam::Clock& clock, std::string path, LogFn log)
    : fs_(fs), clock_(clock), path_(std::move(path)), log_(std::move(log)) {}

IdLease::~IdLease() {
  if (retry_timer_ != seam::kNoTimer) clock_.cancel(retry_timer_);
}

std::string IdLease::load() {
  if (fs_ == nullptr || !fs_->exists(path_)) return {};
  std::string text;
  if (seam::IoResult r = fs_->read_file(path_, text); !r.ok()) {
    return "failed to read message ID lease from " + path_ + " - " + r.message;
  }
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  auto version = doc.is_object() ? doc.find("version") : doc.end();
  auto tick = doc.is_object() ? doc.find("tick") : doc.end();
  if (!doc.is_object() || version == doc.end() || !version->is_number_integer() || version->get<int>() != 1 ||
      tick == doc.end() || !tick->is_number_integer() || tick->get<std::int64_t>() < 0) {
    return "failed to parse message ID lease in " + path_ + " - want {\"version\":1,\"tick\":N}";
  }
  durable_ = tick->get<std::int64_t>();
  requested_ = durable_;
  high_water_ = std::max(high_water_, durable_);
  return {};
}

void IdLease::request(std::int64_t target) {
  if (fs_ == nullptr) {
    // Nothing survives a restart: any tick is as good as durable.
    durable_ = requested_ = std::max(requested_, target);
    return;
  }
  if (target <= requested_) return;
  requested_ = target;
  if (!writing_ && retry_timer_ == seam::kNoTimer) write();
}

void IdLease::renew_now(std::function<void(const seam::IoResult&)> done) {
  const std::int64_t now_tick = clock_.wall_ns() >> 20;
  request(std::max(now_tick, high_water_) + kWindowTicks);
  if (fs_ == nullptr || (!writing_ && retry_timer_ == seam::kNoTimer && durable_ >= requested_)) {
    done({});
    return;
  }
  waiters_.push_back(std::move(done));
  if (retry_timer_ != seam::kNoTimer) {
    // Start-up is waiting: try now rather than at the end of the back-off.
    clock_.cancel(retry_timer_);
    retry_timer_ = seam::kNoTimer;
    write();
  }
}

void IdLease::write() {
  writing_ = true;
  const std::int64_t target = requested_;
  nlohmann::ordered_json doc;
  doc["version"] = 1;
  doc["tick"] = target;
  auto alive = std::weak_ptr<bool>(alive_);
  fs_->write_file_atomic(path_, doc.dump() + "\n", [this, alive, target](seam::IoResult r) {
    if (alive.expired()) return;
    write_done(r, target);
  });
}

void IdLease::write_done(const seam::IoResult& r, std::int64_t written) {
  writing_ = false;
  if (r.ok()) {
    failures_ = 0;
    durable_ = std::max(durable_, written);
  } else {
    log_(seam::LogLevel::error, "failed to persist message ID lease - " + r.message);
    ++failures_;
  }
  // A waiter gets this write's result once it is the newest: a start-up that failed to write must not serve.
  if (!r.ok() || durable_ >= requested_) {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w(r);
  }
  if (durable_ >= requested_) return;
  if (r.ok()) {
    write();
    return;
  }
  const std::int64_t delay = std::min(kRetryMaxNs, kRetryMinNs << std::min(failures_ - 1, 6));
  retry_timer_ = clock_.schedule_after(delay, [this] {
    retry_timer_ = seam::kNoTimer;
    write();
  });
}

void IdLease::overrun(std::int64_t tick) {
  if (overrun_logged_) return;
  overrun_logged_ = true;
  log_(seam::LogLevel::warn, "message ID tick " + std::to_string(tick) + " passed the durable ID lease " +
                                 std::to_string(durable_) + " (lease not written yet): after a crash with the "
                                 "wall clock set back, IDs may repeat");
}

}  // namespace nsq
