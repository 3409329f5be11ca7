#include "sim/swarm/shrink.h"

#include <bit>
#include <vector>

namespace nsq::sim::swarm {

std::string size_line(const Config& c, const RunResult& r) {
  // (keep in step with the size measure in shrink())
  return "clients=" + std::to_string(c.clients) + " topics=" + std::to_string(c.topics) + " published=" +
         std::to_string(r.published) + " steps=" + std::to_string(r.steps) + " duration=" +
         std::to_string(c.duration_ms) + "ms faults=" + faults_string(c.faults) + " admin=" + (c.admin ? "on" : "off");
}

ShrinkResult shrink(std::uint64_t seed, Overrides start, const RunResult& original, int max_runs,
                    const std::function<void(const std::string&)>& progress) {
  ShrinkResult best;
  best.overrides = start;
  best.run = original;
  best.config = draw_config(seed, start);
  const std::string target = original.first_checker;
  // What "smaller" means: engine steps until the failure, messages, clients, fault kinds, admin actions.
  auto size = [](const Config& c, const RunResult& r) {
    return r.steps + 4 * r.published + 20 * static_cast<std::uint64_t>(c.clients) +
           50 * static_cast<std::uint64_t>(std::popcount(c.faults)) + (c.admin ? 50 : 0);
  };
  auto still_fails = [&](const Overrides& o) {
    if (best.attempts >= max_runs) return false;
    ++best.attempts;
    const Config c = draw_config(seed, o);
    RunResult r = run_swarm(c);
    if (r.passed || r.first_checker != target) return false;
    if (size(c, r) >= size(best.config, best.run)) return false;
    best.overrides = o;
    best.run = std::move(r);
    best.config = c;
    ++best.accepted;
    if (progress) progress(size_line(c, best.run));
    return true;
  };

  bool improved = true;
  while (improved && best.attempts < max_runs) {
    improved = false;
    const Config& cur = best.config;
    // Fewer engine steps in the safety phase: the failure happened by step N, so try N, then halves.
    {
      std::vector<std::uint64_t> tries;
      const std::uint64_t n = best.run.steps;
      if (!best.overrides.steps || *best.overrides.steps > n) tries.push_back(n);
      tries.push_back(n / 2);
      for (auto s : tries) {
        if (s < 50) continue;
        Overrides o = best.overrides;
        o.steps = s;
        if (still_fails(o)) {
          improved = true;
          break;
        }
      }
    }
    for (int target_clients : {2, 3, cur.clients / 4, cur.clients / 2, cur.clients - 1}) {
      if (target_clients < 2 || target_clients >= best.config.clients) continue;
      Overrides o = best.overrides;
      o.clients = target_clients;
      if (still_fails(o)) {
        improved = true;
        break;
      }
    }
    if (best.config.topics > 1) {
      Overrides o = best.overrides;
      o.topics = 1;
      if (still_fails(o)) improved = true;
    }
    for (int m : {1, 5, best.config.messages / 4, best.config.messages / 2}) {
      if (m < 1 || m >= best.config.messages) continue;
      Overrides o = best.overrides;
      o.messages = m;
      if (still_fails(o)) {
        improved = true;
        break;
      }
    }
    for (std::int64_t d : {std::int64_t{500}, best.config.duration_ms / 4, best.config.duration_ms / 2}) {
      if (d < 200 || d >= best.config.duration_ms) continue;
      Overrides o = best.overrides;
      o.duration_ms = d;
      if (still_fails(o)) {
        improved = true;
        break;
      }
    }
    if (best.config.faults != 0) {
      Overrides o = best.overrides;
      o.faults = 0u;
      if (still_fails(o)) {
        improved = true;
      } else {
        for (int i = 0; i < kFaultCount; ++i) {
          const std::uint32_t bit = 1u << i;
          if ((best.config.faults & bit) == 0) continue;
          Overrides q = best.overrides;
          q.faults = best.config.faults & ~bit;
          if (still_fails(q)) improved = true;
        }
      }
    }
    if (best.config.durable) {
      Overrides o = best.overrides;
      o.durable = false;
      if (still_fails(o)) improved = true;
    }
    if (best.config.admin) {
      Overrides o = best.overrides;
      o.admin = false;
      if (still_fails(o)) improved = true;
    }
  }
  return best;
}

}  // namespace nsq::sim::swarm
