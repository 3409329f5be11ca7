// A whole engine on io_sim's seams (shared by the fuzz targets and tests/hardening) (virtual clock, seeded PRNG, in-memory files) with in-process connections
// that swallow what the engine writes: what the protocol and HTTP fuzz targets drive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/seam/logger.h"
#include "engine/seam/network.h"
#include "io_sim/prng.h"
#include "io_sim/sim_file_system.h"
#include "io_sim/virtual_clock.h"

namespace nsq::fuzz {

class NullLogger final : public seam::Logger {
 public:
  bool enabled(seam::LogLevel) const override { return true; }  // format every line: the formatting is code too
  void log(seam::LogLevel, std::string_view line) override { bytes += line.size(); }
  std::size_t bytes = 0;
};

// What both the engine-owned handle and the fuzz driver see of one connection.
struct ConnState {
  seam::ConnectionHandler* handler = nullptr;
  bool handle_alive = true;
  bool closed = false;
  std::size_t written = 0;
  bool keep = false;  // keep what the engine wrote in `out` (tests; the fuzzers only count it)
  std::string out;
  std::string addr = "127.0.0.1:40000";
};

class SinkConnection final : public seam::Connection {
 public:
  SinkConnection(io_sim::VirtualClock& clock, std::shared_ptr<ConnState> st) : clock_(clock), st_(std::move(st)) {}
  ~SinkConnection() override { st_->handle_alive = false; }
  void start(seam::ConnectionHandler* h) override { st_->handler = h; }
  void write(std::string&& bytes) override {
    st_->written += bytes.size();
    if (st_->keep) st_->out += bytes;
    std::shared_ptr<ConnState> st = st_;
    clock_.schedule_at(clock_.now_ns(), [st] {
      if (st->handle_alive && !st->closed && st->handler) st->handler->on_drained();
    });
  }
  std::size_t pending_bytes() const override { return 0; }
  void set_reading(bool) override {}
  void close() override { st_->closed = true; }
  const std::string& remote_address() const override { return st_->addr; }

 private:
  io_sim::VirtualClock& clock_;
  std::shared_ptr<ConnState> st_;
};

struct World {
  io_sim::VirtualClock clock;
  io_sim::Prng random{1};
  NullLogger logger;
  io_sim::SimFileSystem fs{clock};
  std::unique_ptr<NSQD> nsqd;

  explicit World(Options o = small_options()) {
    nsqd = std::make_unique<NSQD>(o, Seams{clock, random, logger, &fs});
  }
  ~World() {
    nsqd->shutdown();
    bool done = false;
    nsqd->close([&] { done = true; });
    for (int i = 0; !done && i < 100000 && clock.run_next(); ++i) {
    }
    nsqd.reset();
  }
  // Small limits so that the fuzzer reaches them with small inputs; a disk path so overflow goes to disk.
  static Options small_options() {
    Options o;
    o.data_path = "/data";
    o.mem_queue_size = 4;
    o.max_msg_size = 256;
    o.max_body_size = 1024;
    o.max_bytes_per_file = 512;
    o.max_rdy_count = 50;
    o.msg_timeout = 1'000'000'000;
    o.client_timeout = 5'000'000'000;
    return o;
  }
  std::shared_ptr<ConnState> connect(bool keep_output = false) {
    auto st = std::make_shared<ConnState>();
    st->keep = keep_output;
    nsqd->accept(std::make_unique<SinkConnection>(clock, st));
    return st;
  }
  // Delivers bytes unless the engine has let go of the connection.
  static void feed(ConnState& st, std::string_view bytes) {
    if (!st.handle_alive || st.closed || !st.handler) return;
    st.handler->on_read(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  void advance(std::int64_t ns) { clock.run_for(ns); }
};

// [int32 big-endian size][body], as V2 command bodies are framed.
inline std::string sized(std::string_view body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string s{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  return s + std::string(body);
}

// Reads the fuzz input front to back: the tail is the payload, a few leading bytes steer the run.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::string_view take(std::size_t k) {
    k = k < n_ ? k : n_;
    std::string_view s(reinterpret_cast<const char*>(p_), k);
    p_ += k;
    n_ -= k;
    return s;
  }
  std::string_view rest() { return take(n_); }
  std::size_t left() const { return n_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

}  // namespace nsq::fuzz
