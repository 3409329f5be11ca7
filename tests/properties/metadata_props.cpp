// Property: nsqd.dat's encoder, which writes the JSON straight into a string, gives exactly the bytes of the
// nlohmann document it replaced (the format Go's nsqd reads), for any topics, channels, pause flags and names
// (valid names, and other text that needs escaping). Round trip through the decoder too.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/metadata.h"
#include "engine/options.h"

namespace {

std::string reference_encode(const nsq::Metadata& m) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  if (m.topics.empty()) {
    doc["topics"] = nullptr;
  } else {
    nlohmann::ordered_json topics = nlohmann::ordered_json::array();
    for (const auto& t : m.topics) {
      nlohmann::ordered_json tj = nlohmann::ordered_json::object();
      tj["name"] = t.name;
      tj["paused"] = t.paused;
      if (t.channels.empty()) {
        tj["channels"] = nullptr;
      } else {
        nlohmann::ordered_json chans = nlohmann::ordered_json::array();
        for (const auto& c : t.channels) chans.push_back({{"name", c.name}, {"paused", c.paused}});
        tj["channels"] = std::move(chans);
      }
      topics.push_back(std::move(tj));
    }
    doc["topics"] = std::move(topics);
  }
  doc["version"] = nsq::kVersion;
  return doc.dump();
}

rc::Gen<std::string> gen_name() {
  // Mostly name characters; sometimes quotes, backslashes and control characters (ASCII: valid UTF-8).
  return rc::gen::container<std::string>(rc::gen::weightedOneOf<char>({
      {20, rc::gen::elementOf(std::string("abcxyzABC019._-#"))},
      {1, rc::gen::elementOf(std::string("\"\\\n\t\x01\x1f /<>&"))},
  }));
}

}  // namespace

RC_GTEST_PROP(Metadata, EncoderMatchesTheJsonDocument, ()) {
  nsq::Metadata m;
  const auto topics = *rc::gen::inRange(0, 6);
  for (int i = 0; i < topics; ++i) {
    nsq::TopicMetadata t{*gen_name(), *rc::gen::arbitrary<bool>(), {}};
    const auto channels = *rc::gen::inRange(0, 5);
    for (int j = 0; j < channels; ++j) t.channels.push_back({*gen_name(), *rc::gen::arbitrary<bool>()});
    m.topics.push_back(std::move(t));
  }
  const std::string text = nsq::encode_metadata(m);
  RC_ASSERT(text == reference_encode(m));
  std::string err;
  const auto back = nsq::decode_metadata(text, err);
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->topics.size() == m.topics.size());
  for (std::size_t i = 0; i < m.topics.size(); ++i) {
    RC_ASSERT(back->topics[i].name == m.topics[i].name);
    RC_ASSERT(back->topics[i].paused == m.topics[i].paused);
    RC_ASSERT(back->topics[i].channels.size() == m.topics[i].channels.size());
  }
}
