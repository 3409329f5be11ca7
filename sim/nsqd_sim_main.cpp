// nsqd-sim --seed S [--steps N] [--echo]: runs the pub/sub scenario on one seed and prints
// "seed=S trace=HEX result=PASS|FAIL". --steps bounds the number of timer events (running out is a FAIL).
// The same seed always prints the same line; a FAIL line is a reproducible bug report.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "io_sim/trace.h"
#include "sim/pubsub_scenario.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: nsqd-sim --seed S [--steps N] [--echo]\n");
  return 2;
}

bool parse_u64(const char* s, std::uint64_t& out) {
  char* end = nullptr;
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  out = std::strtoull(s, &end, 0);
  return *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  nsq::sim::ScenarioOptions options;
  bool have_seed = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seed" && i + 1 < argc) {
      if (!parse_u64(argv[++i], options.seed)) return usage();
      have_seed = true;
    } else if (arg == "--steps" && i + 1 < argc) {
      if (!parse_u64(argv[++i], options.max_timers)) return usage();
    } else if (arg == "--echo") {
      options.echo = true;
    } else {
      return usage();
    }
  }
  if (!have_seed) return usage();

  const auto r = nsq::sim::run_pubsub_scenario(options);
  if (!r.passed) {
    std::fprintf(stderr, "--- last trace events ---\n");
    for (const auto& line : r.trace_tail) std::fprintf(stderr, "%s\n", line.c_str());
    std::fprintf(stderr, "--- failures ---\n");
    for (const auto& f : r.failures) std::fprintf(stderr, "%s\n", f.c_str());
  }
  std::fprintf(stderr, "%s\n", r.summary.c_str());
  std::printf("seed=%llu trace=%s result=%s\n", static_cast<unsigned long long>(options.seed),
              nsq::io_sim::Trace::hex(r.trace_hash).c_str(), r.passed ? "PASS" : "FAIL");
  return r.passed ? 0 : 1;
}
