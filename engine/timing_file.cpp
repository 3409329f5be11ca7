#include "engine/timing_file.h"

#include <nlohmann/json.hpp>

namespace nsq {

std::string timing_file_name(const std::string& data_path, const std::string& queue_name) {
  return data_path + "/" + queue_name + ".nsqd-cpp.timing.json";
}

std::string encode_timing(const TimingMap& m) {
  nlohmann::ordered_json doc;
  doc["version"] = 1;
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const auto& [id, at] : m) {
    nlohmann::ordered_json e;
    e["id"] = std::string(id.view());
    e["at"] = at;
    msgs.push_back(std::move(e));
  }
  doc["messages"] = std::move(msgs);
  return doc.dump();
}

std::optional<TimingMap> decode_timing(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  // (Checked by type first: json::value() throws when the stored type differs, e.g. "version":"1".)
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != 1) return std::nullopt;
  auto it = doc.find("messages");
  if (it == doc.end() || !it->is_array()) return std::nullopt;
  TimingMap out;
  for (const auto& e : *it) {
    if (!e.is_object() || !e.contains("id") || !e["id"].is_string() || !e.contains("at") ||
        !e["at"].is_number_integer()) {
      return std::nullopt;
    }
    const std::string id = e["id"].get<std::string>();
    if (id.size() != MessageID::kSize) return std::nullopt;
    out[MessageID::from(id)] = e["at"].get<std::int64_t>();
  }
  return out;
}

}  // namespace nsq
