// In flight per connection never exceeds RDY (reference §1.12: RDY is a window, not a countdown).
// nsqd put the message in flight at some instant td in [written - output_buffer_timeout, written]; at td it
// needed in_flight < RDY. Counted: copies this connection certainly still held at td (delivered earlier on the
// same stream, not FIN/REQ'd, not possibly expired); bound: the largest RDY in effect anywhere in that window.
#include "sim/checkers/checkers.h"

#include "io_sim/trace.h"

namespace nsq::sim::checkers {
namespace {

class RdyChecker final : public Checker {
 public:
  const char* name() const override { return "rdy"; }
  void on_delivery(const swarm::Model& m, const swarm::Conn& c, const swarm::Copy& cp,
                   const wire::Message& msg) override {
    const std::int64_t now = m.now();
    std::int64_t certain = 0;
    for (std::uint32_t idx : c.held) {
      const swarm::Copy& h = m.copy(idx);
      if (&h == &cp) continue;
      // (A copy that lived through a crash may be a duplicate nsqd never counted as this client's.)
      if (h.earliest_expiry > now && !h.ambiguous && !h.crashed) ++certain;
    }
    const std::int64_t bound = m.rdy_max(c, now - m.obt(c), now);
    if (certain + 1 > bound) {
      m_fail(m, c.label + " got " + msg.body + " with " + std::to_string(certain) + " already in flight and RDY " +
                    std::to_string(bound) + (c.closing ? " (after CLS)" : ""));
    }
  }

 private:
  void m_fail(const swarm::Model& m, std::string what) { const_cast<swarm::Model&>(m).fail(name(), std::move(what)); }
};

}  // namespace

std::unique_ptr<Checker> make_rdy_checker() { return std::make_unique<RdyChecker>(); }

}  // namespace nsq::sim::checkers
