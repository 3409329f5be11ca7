// Deferred never early: a DPUB copy is due at fan-out + delay, a REQ'd one at REQ processing + delay (clamped to
// max-req-timeout); both instants are exact in the model, and a message frame is written no earlier than nsqd
// delivered it.
#include "sim/checkers/checkers.h"

#include "io_sim/trace.h"

namespace nsq::sim::checkers {
namespace {

class DeferredChecker final : public Checker {
 public:
  const char* name() const override { return "deferred"; }
  void on_delivery(const swarm::Model& m, const swarm::Conn& c, const swarm::Copy& cp,
                   const wire::Message&) override {
    if (cp.state != swarm::CopyState::deferred) return;
    // Default mode after a crash: the record may be on disk twice, and the second one is sent whatever the
    // first is doing (durable mode drops such a duplicate while the first is in flight or deferred).
    if (cp.crashed && !m.durable()) return;
    // A frame nsqd buffered before an ambiguous REQ (see Copy::ambiguous) is not a delivery of the deferral.
    if (cp.ambiguous && cp.ambiguous_conn == c.id && m.now() <= cp.ambiguous_until) return;
    // After a crash the deadline comes from a timing file written (as wall time) at some sync since the
    // deferral: wall-clock jumps in between move it by as much. (A clean restart converts at close and at
    // start, with no jump in between: exact.)
    const std::int64_t slack = cp.crashed ? m.wall_jumps() - cp.wall_jumps_at_defer : 0;
    if (m.now() + slack < cp.not_before) {
      const_cast<swarm::Model&>(m).fail(
          name(), c.label + " got " + m.describe(cp) + " " +
                      std::to_string((cp.not_before - m.now()) / 1'000'000) + " ms before it was due at " +
                      io_sim::Trace::format_time(cp.not_before));
    }
  }
};

}  // namespace

std::unique_ptr<Checker> make_deferred_checker() { return std::make_unique<DeferredChecker>(); }

}  // namespace nsq::sim::checkers
