// Liveness: after the liveness phase (faults healed, everything unpaused, every consumer back with RDY and
// FINishing everything) every copy of every processed publish, on every channel that existed when its topic
// handed it over, is finished exactly once or was dropped by an admin action or ephemeral removal; and nsqd
// holds nothing any more (depth, in flight, deferred all 0 wherever a channel exists).
#include "sim/checkers/checkers.h"

#include "engine/channel.h"
#include "engine/nsqd.h"
#include "engine/topic.h"
#include "io_sim/trace.h"

namespace nsq::sim::checkers {
namespace {

class LivenessChecker final : public Checker {
 public:
  const char* name() const override { return "liveness"; }

  void at_end(const swarm::Model& m, NSQD& nsqd) override {
    auto& mm = const_cast<swarm::Model&>(m);
    std::size_t stuck = 0;
    std::string examples;
    for (const auto& cp : m.copies()) {
      // A limbo copy that never came back is a loss the durability mode documents (the model put it there).
      if (cp.state == swarm::CopyState::limbo) continue;
      // An #ephemeral channel over a small --mem-queue-size discards its overflow, as nsqd.
      if (m.chan(cp.chan).lossy) continue;
      // A crashed copy whose last delivery was an untracked duplicate (its FIN refused): nsqd holding nothing
      // more is checked below.
      if (cp.crashed && cp.state == swarm::CopyState::in_flight) continue;
      if (cp.state == swarm::CopyState::finished || cp.state == swarm::CopyState::dropped) {
        if (cp.state == swarm::CopyState::finished && cp.fins_ok != 1 && !cp.crashed) {
          mm.fail(name(), m.describe(cp) + " finished " + std::to_string(cp.fins_ok) + " times");
        }
        continue;
      }
      if (++stuck <= 5) examples += "\n    " + m.describe(cp) + ", " + std::to_string(cp.deliveries) + " deliveries";
    }
    if (stuck > 0) {
      mm.fail(name(), std::to_string(stuck) + " copies never finished nor dropped after the liveness phase:" + examples);
    }
    for (const auto& ti : m.topics()) {
      if (!ti.live) continue;
      Topic* t = nsqd.find_topic(ti.name);
      if (t == nullptr) continue;
      if (!ti.channels.empty() && t->depth() != 0) {
        mm.fail(name(), "topic " + ti.name + " still holds " + std::to_string(t->depth()) + " messages");
      }
      for (const auto& [cname, chp] : t->channels()) {
        const Channel& ch = *chp;
        if (ch.depth() != 0 || ch.in_flight_count() != 0 || ch.deferred_count() != 0) {
          mm.fail(name(), "channel " + ti.name + "/" + cname + " not drained: depth " + std::to_string(ch.depth()) +
                              " in_flight " + std::to_string(ch.in_flight_count()) + " deferred " +
                              std::to_string(ch.deferred_count()));
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<Checker> make_liveness_checker() { return std::make_unique<LivenessChecker>(); }

}  // namespace nsq::sim::checkers
