// The timing side file of a disk queue: what go-diskqueue's records cannot hold, kept beside them so that the
// Go nsqd can still read our queues (it ignores this file and delivers such messages at once, as it always did).
//
//   <data-path>/<queue name>.nsqd-cpp.timing.json   {"version":1,"messages":[{"id":"<16 chars>","at":N},...]}
//
// For a channel, "at" is the absolute wall-clock deadline (Unix ns) of a deferred message written to the disk
// queue at shutdown; for a topic, it is the DPUB delay (ns) of a message still waiting in the topic. Written at
// clean shutdown, read and removed at start; a message found in it when it is read back from the disk queue
// gets its timing back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/message.h"

namespace nsq {

using TimingMap = std::unordered_map<MessageID, std::int64_t, MessageIDHash>;

std::string timing_file_name(const std::string& data_path, const std::string& queue_name);
std::string encode_timing(const TimingMap& m);
// Nullopt if the text is not a timing file (then it is ignored, with a log line from the caller).
std::optional<TimingMap> decode_timing(const std::string& text);

}  // namespace nsq
