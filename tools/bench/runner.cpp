#include "runner.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "consumer.h"
#include "publisher.h"

namespace nsqbench {

namespace {

using Clock = std::chrono::steady_clock;

tcp::endpoint resolve(asio::io_context& io, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("bad --nsqd-tcp-address '" + address + "' (want host:port)");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve '" + address + "': " + ec.message());
  return *results.begin();
}

class IoPool {
 public:
  explicit IoPool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      ios_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*ios_.back()));
    }
    for (auto& io : ios_) threads_.emplace_back([p = io.get()] { p->run(); });
  }
  ~IoPool() { stop(); }
  asio::io_context& next() { return *ios_[rr_++ % ios_.size()]; }
  void stop() {
    for (auto& io : ios_) io->stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::size_t rr_ = 0;
};

// Poll `pred` every few ms until true, a failure, or the timeout. Returns pred().
bool wait_for(RunState& run, double timeout_s, const std::function<bool()>& pred) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (!pred()) {
    if (run.failed() || Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

double seconds_between(std::int64_t a_ns, std::int64_t b_ns) { return static_cast<double>(b_ns - a_ns) / 1e9; }

}  // namespace

BenchResult run_bench(const BenchOptions& o) {
  const bool do_pub = o.mode != Mode::kSub;
  const bool do_sub = o.mode != Mode::kPub;
  const bool pubsub = o.mode == Mode::kPubSub;
  const int n_pub = do_pub ? std::max(1, o.connections) : 0;
  const int n_sub = do_sub ? std::max(1, pubsub ? (o.sub_connections > 0 ? o.sub_connections : o.connections)
                                                : o.connections)
                           : 0;
  const bool stamp = pubsub || o.stamp;
  const bool latency = pubsub || o.latency;
  if (stamp && o.size < 8) throw std::runtime_error("--size must be >= 8 to carry the send timestamp");

  RunState run;
  // pubsub bodies carry a per-run nonce in bytes 8..15 so leftovers of earlier runs on the same
  // topic/channel are not mistaken for latency samples.
  const std::uint64_t nonce = std::random_device{}() | (static_cast<std::uint64_t>(std::random_device{}()) << 32) | 1;
  tcp::endpoint ep;
  {
    asio::io_context tmp;
    ep = resolve(tmp, o.address);
  }
  const std::size_t n_threads =
      o.threads > 0 ? static_cast<std::size_t>(o.threads) : static_cast<std::size_t>(n_pub + n_sub);
  IoPool pool(std::max<std::size_t>(1, n_threads));

  std::vector<std::shared_ptr<Consumer>> subs;
  std::vector<std::shared_ptr<Publisher>> pubs;
  auto all_ready = [](const auto& v) {
    return std::all_of(v.begin(), v.end(), [](const auto& c) { return c->ready(); });
  };
  auto all_done = [](const auto& v) {
    return std::all_of(v.begin(), v.end(), [](const auto& c) { return c->done(); });
  };
  auto sum_acked = [&] {
    std::uint64_t s = 0;
    for (auto& p : pubs) s += p->acked_msgs();
    return s;
  };
  auto sum_sub = [&] {
    std::uint64_t s = 0;
    for (auto& c : subs) s += c->msgs();
    return s;
  };
  auto last_msg = [&] {
    std::int64_t t = 0;
    for (auto& c : subs) t = std::max(t, c->last_msg_ns());
    return t;
  };
  auto abort_all = [&] {
    for (auto& c : subs) c->abort();
    for (auto& p : pubs) p->abort();
  };
  auto check_failed = [&] {
    if (run.failed()) {
      abort_all();
      pool.stop();
      throw std::runtime_error(run.error());
    }
  };

  // Consumers first, so the channel exists before anything is published.
  for (int i = 0; i < n_sub; ++i) {
    ConsumerConfig cc;
    cc.topic = o.topic;
    cc.channel = o.channel;
    cc.rdy = o.rdy;
    cc.latency = latency;
    if (pubsub && o.size >= 16) cc.nonce = nonce;
    auto c = std::make_shared<Consumer>(pool.next(), run, ep, o.identify, "sub#" + std::to_string(i), cc);
    subs.push_back(c);
    c->start();
  }
  if (!wait_for(run, 10, [&] { return all_ready(subs); })) {
    check_failed();
    abort_all();
    pool.stop();
    throw std::runtime_error("timed out waiting for consumers to subscribe");
  }

  auto batch_t = std::make_shared<BatchTemplate>(o.topic, std::max<std::size_t>(1, o.batch_size), o.size);
  if (pubsub) batch_t->set_nonce(nonce);
  std::shared_ptr<const BatchTemplate> batch = batch_t;
  for (int i = 0; i < n_pub; ++i) {
    PublisherConfig pc;
    pc.topic = o.topic;
    pc.batch_size = batch->count();
    pc.msg_size = o.size;
    pc.max_in_flight = o.max_in_flight;
    pc.rate = o.rate > 0 ? o.rate / n_pub : 0;
    pc.stamp = stamp;
    auto p = std::make_shared<Publisher>(pool.next(), run, ep, o.identify, "pub#" + std::to_string(i), batch, pc);
    pubs.push_back(p);
    p->start();
  }

  // Warmup, then the measurement window.
  const std::int64_t t_start = mono_ns();
  const auto warm_ns = static_cast<std::int64_t>(o.warmup_s * 1e9);
  const auto dur_ns = static_cast<std::int64_t>(o.duration_s * 1e9);
  const auto idle_ns = static_cast<std::int64_t>(o.idle_timeout_s * 1e9);
  std::int64_t t_meas = 0, t_end = 0, t_sub_end = 0;
  std::uint64_t pub0 = 0, sub0 = 0, pub1 = 0, sub1 = 0;
  bool measuring = false;
  for (;;) {
    check_failed();
    const std::int64_t now = mono_ns();
    if (!measuring && now - t_start >= warm_ns) {
      pub0 = sum_acked();
      sub0 = sum_sub();
      t_meas = mono_ns();
      run.measuring.store(true);
      measuring = true;
    }
    if (measuring) {
      if (now - t_meas >= dur_ns) {
        pub1 = sum_acked();
        sub1 = sum_sub();
        t_end = t_sub_end = mono_ns();
        break;
      }
      if (o.mode == Mode::kSub && idle_ns > 0) {
        const std::int64_t lm = last_msg();
        if (lm > t_meas && now - lm >= idle_ns) {  // drained: rate over [t_meas, last message]
          sub1 = sum_sub();
          t_end = now;
          t_sub_end = lm;
          break;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(now - t_start < warm_ns ? 2 : 10));
  }

  BenchResult r;
  // Clean stop: publishers wait for their outstanding OKs, then close.
  for (auto& p : pubs) p->stop();
  if (!wait_for(run, 10, [&] { return all_done(pubs); })) {
    check_failed();
    abort_all();
    pool.stop();
    throw std::runtime_error("timed out waiting for outstanding publish acknowledgements");
  }
  check_failed();
  const std::uint64_t pub_total = sum_acked();
  if (pubsub) {
    // Let consumers catch up with everything that was acknowledged.
    r.drained = wait_for(run, o.drain_timeout_s, [&] { return sum_sub() >= pub_total; });
    check_failed();
  }
  for (auto& c : subs) c->stop();
  if (!wait_for(run, 10, [&] { return all_done(subs); })) {
    check_failed();
    abort_all();
    pool.stop();
    throw std::runtime_error("timed out waiting for consumers to close (CLS)");
  }
  check_failed();
  run.measuring.store(false);
  pool.stop();

  r.pub.msgs = pub1 - pub0;
  r.pub.total = pub_total;
  r.pub.seconds = seconds_between(t_meas, t_end);
  r.sub.msgs = sub1 - sub0;
  r.sub.total = sum_sub();
  r.sub.seconds = seconds_between(t_meas, t_sub_end);
  for (auto& c : subs) {
    r.latency.merge(c->histogram());
    r.bad_stamps += c->bad_stamps();
  }
  return r;
}

namespace {
std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}
double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }
const char* mode_name(Mode m) { return m == Mode::kPub ? "pub" : m == Mode::kSub ? "sub" : "pubsub"; }
}  // namespace

std::string format_text(const BenchOptions& o, const BenchResult& r) {
  std::string s;
  const int n_sub = o.mode == Mode::kPubSub && o.sub_connections > 0 ? o.sub_connections : o.connections;
  if (o.mode != Mode::kSub) {
    s += fmt("PUB: %d conns, batch %zu, size %zu B%s: %.3fs, %" PRIu64 " msgs, %.1f msgs/s, %.2f MiB/s (total acked %" PRIu64 ")\n",
             o.connections, o.batch_size, o.size, o.rate > 0 ? fmt(", rate %.0f/s", o.rate).c_str() : "", r.pub.seconds,
             r.pub.msgs, r.pub.msgs_per_s(), r.pub.mb_per_s(o.size), r.pub.total);
  }
  if (o.mode != Mode::kPub) {
    s += fmt("SUB: %d conns, rdy %" PRIu64 ": %.3fs, %" PRIu64 " msgs, %.1f msgs/s, %.2f MiB/s (total received %" PRIu64 ")\n",
             n_sub, o.rdy, r.sub.seconds, r.sub.msgs, r.sub.msgs_per_s(), r.sub.mb_per_s(o.size), r.sub.total);
  }
  if (o.mode == Mode::kPubSub || o.latency) {
    const auto& h = r.latency;
    s += fmt("LATENCY (ms, %" PRIu64 " samples): p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n", h.count(),
             ms(h.percentile(50)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()), h.mean() / 1e6);
    if (r.bad_stamps)
      s += fmt("warning: %" PRIu64 " messages without a usable send stamp (from an earlier run?) were not sampled\n",
               r.bad_stamps);
  }
  if (!r.drained) s += "warning: consumers did not receive every acknowledged message before --drain-timeout\n";
  return s;
}

std::string format_json(const BenchOptions& o, const BenchResult& r) {
  std::string s = "{";
  s += fmt("\"mode\":\"%s\",\"topic\":\"%s\",\"channel\":\"%s\",\"connections\":%d,\"sub_connections\":%d,", mode_name(o.mode),
           o.topic.c_str(), o.channel.c_str(), o.connections,
           o.sub_connections > 0 ? o.sub_connections : o.connections);
  s += fmt("\"batch_size\":%zu,\"size\":%zu,\"rate\":%.0f,\"rdy\":%" PRIu64 ",\"duration_s\":%.3f,\"warmup_s\":%.3f",
           o.batch_size, o.size, o.rate, o.rdy, o.duration_s, o.warmup_s);
  auto side = [&](const char* name, const SideFigures& f) {
    s += fmt(",\"%s\":{\"msgs\":%" PRIu64 ",\"total\":%" PRIu64 ",\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f}", name,
             f.msgs, f.total, f.seconds, f.msgs_per_s(), f.mb_per_s(o.size));
  };
  if (o.mode != Mode::kSub) side("pub", r.pub);
  if (o.mode != Mode::kPub) side("sub", r.sub);
  if (o.mode == Mode::kPubSub || o.latency) {
    const auto& h = r.latency;
    s += fmt(",\"latency_ms\":{\"count\":%" PRIu64 ",\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"mean\":%.4f}",
             h.count(), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)),
             ms(h.max()), h.mean() / 1e6);
    s += fmt(",\"bad_stamps\":%" PRIu64, r.bad_stamps);
  }
  s += fmt(",\"drained\":%s}", r.drained ? "true" : "false");
  return s;
}

}  // namespace nsqbench
