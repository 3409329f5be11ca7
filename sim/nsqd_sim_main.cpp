// nsqd-sim: the deterministic simulator. Runs the real engine among simulated clients, network and clock,
// all driven by one 64-bit seed, checks invariants after every engine step, and on failure prints the exact
// command that replays the run (and, with --shrink, a smaller one that breaks the same invariant).
//
//   nsqd-sim --seed S                 one seed
//   nsqd-sim --seeds N | --seeds A..B many seeds, progress line and summary
//   knobs (pin what the seed would draw): --clients N --topics N --messages N --duration 5s|800ms --steps N
//            --faults reset,stall,partition,slow-reader,latency,split,wall-jump,restart,crash,disk,lookupd,clock-stall|all|none
//            --no-faults  --durable on|off
//            --admin on|off  --ignore PCT (consumers let PCT% of messages time out: a timeout-heavy workload)
//   --trace                 readable event log of the run on stderr (time, kind, detail)
//   --check-determinism     run every seed twice; any difference in trace hash or event count is a failure
//   --shrink                shrink each failing seed and print the command that replays the shrunk run
//   --scenario pubsub       the first, fixed pub/sub scenario (sim/pubsub_scenario.h) instead of the swarm
// Exit status 0 only when every run passed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <string>
#include <vector>

#include "engine/planted_bugs.h"
#include "io_sim/trace.h"
#include "sim/pubsub_scenario.h"
#include "sim/swarm/config.h"
#include "sim/swarm/shrink.h"
#include "sim/swarm/swarm.h"

namespace {

using namespace nsq::sim::swarm;

int usage(const char* why) {
  std::fprintf(stderr, "nsqd-sim: %s\n", why);
  std::fprintf(stderr,
               "usage: nsqd-sim (--seed S | --seeds N | --seeds A..B) [--clients N] [--topics N] [--messages N]\n"
               "                [--duration 5s|800ms] [--steps N] [--faults LIST|all|none] [--no-faults]\n"
               "                [--durable on|off]\n"
               "                [--admin on|off] [--trace] [--check-determinism] [--shrink] [--quiet]\n"
               "                [--scenario swarm|pubsub] [--plant BUG]\n");
  return 2;
}

bool parse_u64(const char* s, std::uint64_t& out) {
  char* end = nullptr;
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  out = std::strtoull(s, &end, 0);
  return *end == '\0';
}

bool parse_duration_ms(const std::string& s, std::int64_t& ms) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  if (end == s.c_str() || v < 0) return false;
  if (unit == "ms") {
    ms = static_cast<std::int64_t>(v);
  } else if (unit == "s" || unit.empty()) {
    ms = static_cast<std::int64_t>(v * 1000);
  } else if (unit == "m") {
    ms = static_cast<std::int64_t>(v * 60000);
  } else {
    return false;
  }
  return true;
}

struct Failure {
  std::uint64_t seed;
  std::string checker;
  std::string replay;
};

}  // namespace

int main(int argc, char** argv) {
  Overrides ov;
  std::uint64_t first = 0, last = 0;
  bool have_seeds = false;
  bool trace = false, determinism = false, do_shrink = false, quiet = false;
  std::string scenario = "swarm";
  std::string plant_args;  // replay commands must carry them
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    std::uint64_t u = 0;
    if (arg == "--seed") {
      if (!parse_u64(value(), first)) return usage("--seed needs a number");
      last = first;
      have_seeds = true;
    } else if (arg == "--seeds") {
      const char* v = value();
      if (v == nullptr) return usage("--seeds needs N or A..B");
      const std::string s = v;
      const auto dots = s.find("..");
      if (dots == std::string::npos) {
        if (!parse_u64(v, u) || u == 0) return usage("--seeds needs N or A..B");
        first = 1;
        last = u;
      } else if (!parse_u64(s.substr(0, dots).c_str(), first) || !parse_u64(s.substr(dots + 2).c_str(), last) ||
                 last < first) {
        return usage("--seeds A..B needs A <= B");
      }
      have_seeds = true;
    } else if (arg == "--clients") {
      if (!parse_u64(value(), u)) return usage("--clients needs a number");
      ov.clients = static_cast<int>(u);
    } else if (arg == "--topics") {
      if (!parse_u64(value(), u)) return usage("--topics needs a number");
      ov.topics = static_cast<int>(u);
    } else if (arg == "--messages") {
      if (!parse_u64(value(), u)) return usage("--messages needs a number");
      ov.messages = static_cast<int>(u);
    } else if (arg == "--ignore") {
      if (!parse_u64(value(), u) || u > 100) return usage("--ignore needs a percentage");
      ov.ignore = static_cast<int>(u);
    } else if (arg == "--steps") {
      if (!parse_u64(value(), u)) return usage("--steps needs a number");
      ov.steps = u;
    } else if (arg == "--duration") {
      const char* v = value();
      std::int64_t ms = 0;
      if (v == nullptr || !parse_duration_ms(v, ms)) return usage("--duration needs e.g. 5s or 800ms");
      ov.duration_ms = ms;
    } else if (arg == "--faults") {
      const char* v = value();
      std::uint32_t mask = 0;
      if (v == nullptr || !parse_faults(v, mask)) return usage("--faults: unknown fault kind");
      ov.faults = mask;
    } else if (arg == "--no-faults") {
      ov.faults = 0u;
    } else if (arg == "--admin") {
      const char* v = value();
      if (v == nullptr || (std::strcmp(v, "on") != 0 && std::strcmp(v, "off") != 0)) return usage("--admin on|off");
      ov.admin = std::strcmp(v, "on") == 0;
    } else if (arg == "--durable") {
      const char* v = value();
      if (v == nullptr || (std::strcmp(v, "on") != 0 && std::strcmp(v, "off") != 0)) return usage("--durable on|off");
      ov.durable = std::strcmp(v, "on") == 0;
    } else if (arg == "--trace") {
      trace = true;
    } else if (arg == "--check-determinism") {
      determinism = true;
    } else if (arg == "--shrink") {
      do_shrink = true;
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg == "--scenario") {
      const char* v = value();
      if (v == nullptr) return usage("--scenario swarm|pubsub");
      scenario = v;
    } else if (arg == "--plant") {  // demonstration only: switch on one deliberately planted engine bug
      const char* v = value();
      const std::string b = v ? v : "";
      auto& bugs = nsq::planted::bugs;
      if (b == "timeout-not-requeued") bugs.timeout_not_requeued = true;
      else if (b == "fin-double-count") bugs.fin_double_count = true;
      else if (b == "req-loses-attempts") bugs.req_loses_attempts = true;
      else if (b == "deferred-early") bugs.deferred_early = true;
      else if (b == "rdy-off-by-one") bugs.rdy_off_by_one = true;
      else if (b == "empty-keeps-client-in-flight") bugs.empty_keeps_client_in_flight = true;
      else if (b == "sync-skips-fsync") bugs.sync_skips_fsync = true;
      else if (b == "close-drops-timing") bugs.close_drops_timing = true;
      else if (b == "ids-ignore-lease") bugs.ids_ignore_lease = true;
      else return usage("--plant: unknown bug");
      plant_args += " --plant " + b;
    } else if (arg == "--echo") {  // the pub/sub scenario's old spelling of --trace
      trace = true;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }
  if (!have_seeds) return usage("give --seed S or --seeds N");

  if (scenario == "pubsub") {
    int rc = 0;
    for (std::uint64_t seed = first; seed <= last; ++seed) {
      nsq::sim::ScenarioOptions o;
      o.seed = seed;
      o.echo = trace;
      const auto r = nsq::sim::run_pubsub_scenario(o);
      if (!r.passed) {
        for (const auto& f : r.failures) std::fprintf(stderr, "%s\n", f.c_str());
        rc = 1;
      }
      std::printf("seed=%llu trace=%s result=%s\n", static_cast<unsigned long long>(seed),
                  nsq::io_sim::Trace::hex(r.trace_hash).c_str(), r.passed ? "PASS" : "FAIL");
      if (seed == last) break;
    }
    return rc;
  }
  if (scenario != "swarm") return usage("--scenario swarm|pubsub");

  const bool many = last > first;
  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t runs = 0, steps = 0;
  double virtual_s = 0, run_wall = 0;
  std::vector<Failure> failures;
  for (std::uint64_t seed = first;; ++seed) {
    const Config cfg = draw_config(seed, ov);
    RunOptions ro;
    ro.echo_trace = trace;
    RunResult r = run_swarm(cfg, ro);
    ++runs;
    steps += r.steps;
    virtual_s += static_cast<double>(r.virtual_ns) / 1e9;
    run_wall += r.wall_seconds;
    bool ok = r.passed;
    std::string determinism_note;
    if (determinism) {
      RunResult again = run_swarm(cfg, ro);
      if (again.trace_hash != r.trace_hash || again.trace_events != r.trace_events ||
          again.violations.size() != r.violations.size()) {
        ok = false;
        determinism_note = "NON-DETERMINISTIC: trace " + nsq::io_sim::Trace::hex(r.trace_hash) + "/" +
                           std::to_string(r.trace_events) + " events vs " + nsq::io_sim::Trace::hex(again.trace_hash) +
                           "/" + std::to_string(again.trace_events);
      }
    }
    const std::string replay = "nsqd-sim " + Config::replay_args(seed, ov) + plant_args;
    if (!many || !ok) {
      if (!quiet || !ok) {
        std::printf("seed=%llu trace=%s result=%s %s\n", static_cast<unsigned long long>(seed),
                    nsq::io_sim::Trace::hex(r.trace_hash).c_str(), ok ? "PASS" : "FAIL", r.summary.c_str());
        if (!many) std::printf("  config: %s\n", cfg.describe().c_str());
      }
    }
    if (!ok) {
      if (!determinism_note.empty()) std::printf("  %s\n", determinism_note.c_str());
      std::size_t shown = 0;
      for (const auto& v : r.violations) {
        if (++shown > 8) break;
        std::printf("  [%s] %s: %s\n", nsq::io_sim::Trace::format_time(v.at).c_str(), v.checker.c_str(),
                    v.what.c_str());
      }
      if (!many && !trace) {
        RunOptions tail_opts;
        tail_opts.keep_trace_lines = 2000;
        const RunResult t = run_swarm(cfg, tail_opts);
        std::vector<const std::string*> lines;
        for (const auto& line : t.trace_tail) {
          if (line.find(" timer ") == std::string::npos) lines.push_back(&line);
        }
        const std::size_t from = lines.size() > 40 ? lines.size() - 40 : 0;
        std::printf("  --- last trace events before the verdict (replay with --trace for all) ---\n");
        for (std::size_t k = from; k < lines.size(); ++k) std::printf("  %s\n", lines[k]->c_str());
      }
      std::printf("  replay: %s\n", replay.c_str());
      std::string final_replay = replay;
      if (do_shrink && !r.passed) {
        std::printf("  shrinking (target: %s) from %s\n", r.first_checker.c_str(), size_line(cfg, r).c_str());
        const ShrinkResult s = shrink(seed, ov, r, 150, [](const std::string& line) {
          std::printf("    smaller: %s\n", line.c_str());
          std::fflush(stdout);
        });
        std::printf("  shrunk after %d runs (%d reductions) to %s\n", s.attempts, s.accepted,
                    size_line(s.config, s.run).c_str());
        if (!s.run.violations.empty()) {
          std::printf("  [%s] %s: %s\n", nsq::io_sim::Trace::format_time(s.run.violations.front().at).c_str(),
                      s.run.violations.front().checker.c_str(), s.run.violations.front().what.c_str());
        }
        final_replay = "nsqd-sim " + Config::replay_args(seed, s.overrides) + plant_args;
        std::printf("  replay shrunk: %s\n", final_replay.c_str());
      }
      failures.push_back({seed, r.passed ? std::string("determinism") : r.first_checker, final_replay});
    }
    if (many && !quiet && isatty(2)) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
      std::fprintf(stderr, "\r[%llu/%llu] failures=%zu  %.0f seeds/min  ", static_cast<unsigned long long>(runs),
                   static_cast<unsigned long long>(last - first + 1), failures.size(),
                   el > 0 ? static_cast<double>(runs) * 60.0 / el : 0.0);
    }
    if (seed == last) break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (many && !quiet && isatty(2)) std::fprintf(stderr, "\n");
  std::printf("summary: seeds=%llu passed=%llu failed=%zu simulated=%.1fs wall=%.2fs speed=%.0fx engine_events/s=%.0f "
              "seeds/min=%.0f%s\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(runs - failures.size()),
              failures.size(), virtual_s, wall, run_wall > 0 ? virtual_s / run_wall : 0.0,
              run_wall > 0 ? static_cast<double>(steps) / run_wall : 0.0, wall > 0 ? runs * 60.0 / wall : 0.0,
              determinism ? " (each seed run twice)" : "");
  for (const auto& f : failures) std::printf("FAIL seed=%llu [%s] replay: %s\n", static_cast<unsigned long long>(f.seed),
                                             f.checker.c_str(), f.replay.c_str());
  return failures.empty() ? 0 : 1;
}
