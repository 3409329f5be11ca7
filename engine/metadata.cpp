#include "engine/metadata.h"

#include <nlohmann/json.hpp>

#include "engine/options.h"

namespace nsq {

namespace {

using ordered_json = nlohmann::ordered_json;

// Go unmarshals a JSON null into a slice as nil and into a bool/string as "no change" (zero).
bool read_bool(const nlohmann::json& obj, const char* key, bool& out, std::string& err) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    err = std::string("json: cannot unmarshal ") + it->type_name() + " into Go struct field ." + key + " of type bool";
    return false;
  }
  out = it->get<bool>();
  return true;
}

bool read_string(const nlohmann::json& obj, const char* key, std::string& out, std::string& err) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) {
    err = std::string("json: cannot unmarshal ") + it->type_name() + " into Go struct field ." + key +
          " of type string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

const nlohmann::json* read_array(const nlohmann::json& obj, const char* key, std::string& err) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return &kEmpty;
  if (!it->is_array()) {
    err = std::string("json: cannot unmarshal ") + it->type_name() + " into Go struct field ." + key +
          " of type []";
    return nullptr;
  }
  return &*it;
}

}  // namespace

std::string encode_metadata(const Metadata& m) {
  ordered_json doc = ordered_json::object();
  if (m.topics.empty()) {
    doc["topics"] = nullptr;
  } else {
    ordered_json topics = ordered_json::array();
    for (const TopicMetadata& t : m.topics) {
      ordered_json tj = ordered_json::object();
      tj["name"] = t.name;
      tj["paused"] = t.paused;
      if (t.channels.empty()) {
        tj["channels"] = nullptr;
      } else {
        ordered_json chans = ordered_json::array();
        for (const ChannelMetadata& c : t.channels) {
          ordered_json cj = ordered_json::object();
          cj["name"] = c.name;
          cj["paused"] = c.paused;
          chans.push_back(std::move(cj));
        }
        tj["channels"] = std::move(chans);
      }
      topics.push_back(std::move(tj));
    }
    doc["topics"] = std::move(topics);
  }
  doc["version"] = kVersion;
  // Go's encoding/json escapes <, > and & in strings; topic and channel names cannot contain them.
  return doc.dump();
}

std::optional<Metadata> decode_metadata(const std::string& text, std::string& err) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    err = "invalid JSON";
    return std::nullopt;
  }
  if (doc.is_null()) return Metadata{};
  if (!doc.is_object()) {
    err = std::string("json: cannot unmarshal ") + doc.type_name() + " into Go value of type nsqd.Metadata";
    return std::nullopt;
  }
  Metadata m;
  const nlohmann::json* topics = read_array(doc, "topics", err);
  if (topics == nullptr) return std::nullopt;
  for (const auto& tj : *topics) {
    TopicMetadata t;
    if (!tj.is_null()) {
      if (!tj.is_object()) {
        err = std::string("json: cannot unmarshal ") + tj.type_name() + " into Go struct field .topics";
        return std::nullopt;
      }
      if (!read_string(tj, "name", t.name, err) || !read_bool(tj, "paused", t.paused, err)) return std::nullopt;
      const nlohmann::json* chans = read_array(tj, "channels", err);
      if (chans == nullptr) return std::nullopt;
      for (const auto& cj : *chans) {
        ChannelMetadata c;
        if (!cj.is_null()) {
          if (!cj.is_object()) {
            err = std::string("json: cannot unmarshal ") + cj.type_name() + " into Go struct field .channels";
            return std::nullopt;
          }
          if (!read_string(cj, "name", c.name, err) || !read_bool(cj, "paused", c.paused, err)) return std::nullopt;
        }
        t.channels.push_back(std::move(c));
      }
    }
    m.topics.push_back(std::move(t));
  }
  std::string version;
  if (!read_string(doc, "version", version, err)) return std::nullopt;
  return m;
}

}  // namespace nsq
