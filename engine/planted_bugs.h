// Deliberately planted bugs, for proving that the simulator (sim/, nsqd-sim) finds real ones. Each switch
// re-creates one classic broker bug at the exact spot where it would live in the engine. All are off by
// default and only tests turn them on (sim/planted_bugs_test.cpp); nothing in the daemon or its flags can.
// A switch that is off costs one load of a global bool and a branch predicted not taken.
#pragma once

namespace nsq::planted {

struct Bugs {
  bool timeout_not_requeued = false;          // channel.cpp process_queues: a timed-out message is dropped
  bool fin_double_count = false;              // client.cpp cmd_fin: FIN decrements the client's in-flight twice
  bool req_loses_attempts = false;            // channel.cpp requeue: REQ takes one off the attempts count
  bool deferred_early = false;                // channel.cpp start_deferred: a deferral ends at half its delay
  bool rdy_off_by_one = false;                // client.cpp ready_for_messages: in_flight <= RDY counts as ready
  bool empty_keeps_client_in_flight = false;  // channel.cpp empty: clients keep their in-flight counts
  bool sync_skips_fsync = false;              // disk_queue.cpp start_sync: .meta written, data never fsynced
  bool close_drops_timing = false;            // nsqd.cpp save_timing: the timing side file is not written
  bool ids_ignore_lease = false;              // guid.h GuidFactory: IDs start from the wall clock, not the lease
};

inline Bugs bugs;

}  // namespace nsq::planted
