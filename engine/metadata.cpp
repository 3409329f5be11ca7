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

namespace {

// A JSON string as nlohmann's dump() writes it. Topic and channel names ([.a-zA-Z0-9_-], #ephemeral) never
// need escaping, so only other text goes through the library.
void append_json_string(std::string& out, const std::string& s) {
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += ordered_json(s).dump();
  }
}

}  // namespace

// Written straight into one string (same bytes as building an nlohmann document and dumping it, which a property
// test checks): nsqd.dat is rewritten at every topic or channel creation, and with 10,000 channels the document
// build was most of the daemon's CPU.
std::string encode_metadata(const Metadata& m) {
  std::string out;
  std::size_t size = 32;
  for (const TopicMetadata& t : m.topics) {
    size += t.name.size() + 48;
    for (const ChannelMetadata& c : t.channels) size += c.name.size() + 32;
  }
  out.reserve(size);
  out += "{\"topics\":";
  if (m.topics.empty()) {
    out += "null";
  } else {
    out += '[';
    bool first_topic = true;
    for (const TopicMetadata& t : m.topics) {
      if (!first_topic) out += ',';
      first_topic = false;
      out += "{\"name\":";
      append_json_string(out, t.name);
      out += t.paused ? ",\"paused\":true,\"channels\":" : ",\"paused\":false,\"channels\":";
      if (t.channels.empty()) {
        out += "null";
      } else {
        out += '[';
        bool first_channel = true;
        for (const ChannelMetadata& c : t.channels) {
          if (!first_channel) out += ',';
          first_channel = false;
          out += "{\"name\":";
          append_json_string(out, c.name);
          out += c.paused ? ",\"paused\":true}" : ",\"paused\":false}";
        }
        out += ']';
      }
      out += '}';
    }
    out += ']';
  }
  // Go's encoding/json escapes <, > and & in strings; topic and channel names cannot contain them.
  out += ",\"version\":\"" + std::string(kVersion) + "\"}";
  return out;
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
