// One checker per invariant (TigerBeetle's state_checker idea): each file holds one rule, judged against the
// reference model (sim/swarm/model.h). A violation names its checker; the shrinker keeps a run smaller only
// while the same checker still fails.
#pragma once

#include <memory>
#include <vector>

#include "sim/swarm/model.h"

namespace nsq::sim::checkers {

using swarm::Checker;

// rdy_checker.cpp: nsqd never delivers to a connection that has no RDY for it (in flight per connection <= RDY).
std::unique_ptr<Checker> make_rdy_checker();
// attempts_checker.cpp: each delivery of a copy carries attempts + 1; ID and timestamp never change.
std::unique_ptr<Checker> make_attempts_checker();
// deferred_checker.cpp: a deferred copy (DPUB, REQ with delay) is never delivered before its due time.
std::unique_ptr<Checker> make_deferred_checker();
// exactly_once_checker.cpp: no delivery after a successful FIN or after a drop; no redelivery while certainly
// in flight; FIN/REQ/TOUCH accepted only from the owner, and not refused while the owner certainly holds it.
std::unique_ptr<Checker> make_exactly_once_checker();
// stats_checker.cpp: NSQD's counters (message counts, depth + in flight + deferred, requeue, timeout bounds,
// per-client RDY / finish / requeue) agree with the model after every step.
std::unique_ptr<Checker> make_stats_checker();
// liveness_checker.cpp: at the end every copy is finished exactly once or dropped, and nsqd holds nothing.
std::unique_ptr<Checker> make_liveness_checker();

inline void install_all(swarm::Model& m) {
  m.add_checker(make_rdy_checker());
  m.add_checker(make_attempts_checker());
  m.add_checker(make_deferred_checker());
  m.add_checker(make_exactly_once_checker());
  m.add_checker(make_stats_checker());
  m.add_checker(make_liveness_checker());
}

}  // namespace nsq::sim::checkers
