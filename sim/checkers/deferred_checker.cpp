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
    // A frame nsqd buffered before an ambiguous REQ (see Copy::ambiguous) is not a delivery of the deferral.
    if (cp.ambiguous && cp.ambiguous_conn == c.id && m.now() <= cp.ambiguous_until) return;
    if (m.now() < cp.not_before) {
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
