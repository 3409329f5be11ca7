// nsqd.dat: which topics and channels exist and which are paused (never the messages), in nsqd v1.3.0's exact
// JSON: compact, keys in the order {"topics":[{"name","paused","channels":[{"name","paused"}]}],"version"},
// null for an empty list, ephemeral topics and channels left out.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nsq {

struct ChannelMetadata {
  std::string name;
  bool paused = false;
};

struct TopicMetadata {
  std::string name;
  bool paused = false;
  std::vector<ChannelMetadata> channels;
};

struct Metadata {
  std::vector<TopicMetadata> topics;
};

std::string encode_metadata(const Metadata& m);
// Parses nsqd.dat as Go's json.Unmarshal into nsqd's Metadata struct would: unknown keys ignored, missing keys
// zero, wrong types an error. Returns nullopt and sets err on failure.
std::optional<Metadata> decode_metadata(const std::string& text, std::string& err);

}  // namespace nsq
