// Exactly once per channel: after a successful FIN nothing more of that copy is delivered; a dropped copy
// (channel empty/delete, ephemeral removal) comes back only as frames nsqd had already buffered (within one
// output-buffer timeout); a copy is not redelivered while it is certainly still in flight elsewhere; nsqd accepts
// FIN/REQ/TOUCH only from the connection holding the copy, and does not refuse them while that connection
// certainly still holds it.
#include "sim/checkers/checkers.h"

#include "io_sim/trace.h"

namespace nsq::sim::checkers {
namespace {

class ExactlyOnceChecker final : public Checker {
 public:
  const char* name() const override { return "exactly-once"; }

  void on_delivery(const swarm::Model& m, const swarm::Conn& c, const swarm::Copy& cp,
                   const wire::Message&) override {
    auto& mm = const_cast<swarm::Model&>(m);
    const std::int64_t now = m.now();
    switch (cp.state) {
      case swarm::CopyState::finished:
        if (cp.crashed) break;  // at least once across a crash: reads not yet durably consumed come back
        if (cp.ambiguous && (now <= cp.ambiguous_until || now <= cp.final_at + m.obt(c))) break;
        mm.fail(name(), c.label + " got " + m.describe(cp) + " after it was FINished at " +
                            io_sim::Trace::format_time(cp.final_at));
        break;
      case swarm::CopyState::dropped:
        if (now > cp.final_at + m.obt(c) && !(cp.crashed && m.chan(cp.chan).live)) {
          mm.fail(name(), c.label + " got " + m.describe(cp) + " after it was dropped at " +
                              io_sim::Trace::format_time(cp.final_at));
        }
        break;
      case swarm::CopyState::in_flight:
        // After a crash a record can be on disk twice (the topic re-read it and the channel still had it); nsqd
        // sends a duplicate ID even while the first is in flight (default mode; durable mode drops it).
        if (cp.earliest_expiry > now && !cp.ambiguous && !cp.crashed) {
          const swarm::Conn* h = m.conn(cp.holder);
          mm.fail(name(), c.label + " got " + m.describe(cp) + " while still in flight to " +
                              (h ? h->label : std::string("?")) + " until at least " +
                              io_sim::Trace::format_time(cp.earliest_expiry));
        }
        break;
      default:
        break;
    }
  }

  void on_resolve(const swarm::Model& m, const swarm::Conn& c, const swarm::Copy& cp, std::string_view cmd,
                  bool ok) override {
    auto& mm = const_cast<swarm::Model&>(m);
    // A copy that lived through a crash may be on disk twice and out to two connections at once; nsqd tracks
    // the first delivery only, which the wire cannot tell apart.
    if (cp.crashed) return;
    const bool held = cp.state == swarm::CopyState::in_flight && cp.holder == c.id;
    if (ok && !held && !m.may_hold_unwritten(cp, c) && !cp.ambiguous) {
      mm.fail(name(), c.label + ": " + std::string(cmd) + " accepted for " + m.describe(cp) +
                          (cp.state == swarm::CopyState::in_flight ? " held by another connection" : ""));
    } else if (!ok && held && cp.earliest_expiry > m.now() && !cp.ambiguous) {
      mm.fail(name(), c.label + ": " + std::string(cmd) + " refused for " + m.describe(cp) +
                          " although it holds it until at least " + io_sim::Trace::format_time(cp.earliest_expiry));
    }
  }
};

}  // namespace

std::unique_ptr<Checker> make_exactly_once_checker() { return std::make_unique<ExactlyOnceChecker>(); }

}  // namespace nsq::sim::checkers
