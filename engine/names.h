// Topic and channel name rules, as nsqd's protocol.IsValidTopicName / IsValidChannelName.
#pragma once

#include <string>
#include <string_view>

namespace nsq {

// 1..64 bytes of [.a-zA-Z0-9_-], optionally ending in "#ephemeral" (counted in the 64).
bool is_valid_topic_name(std::string_view name);
bool is_valid_channel_name(std::string_view name);
bool is_ephemeral_name(std::string_view name);

// Go's %q / strconv.Quote of a byte string, used verbatim in nsqd's error texts.
std::string go_quote(std::string_view s);

}  // namespace nsq
