// Protocol V2 commands, with nsqd v1.3.0's validation order, error codes and texts.
#include <nlohmann/json.hpp>

#include "engine/channel.h"
#include "engine/client.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/topic.h"
#include "engine/planted_bugs.h"
#include "engine/wire.h"

namespace nsq {

namespace {

constexpr std::string_view kOK = "OK";

std::string str(std::string_view v) { return std::string(v); }
std::string num(std::int64_t v) { return std::to_string(v); }

bool parse_message_id(std::string_view s, MessageID& id) {
  if (s.size() != MessageID::kSize) return false;
  id = MessageID::from(s);
  return true;
}

// Go's json decoding matches keys exactly first, then case-insensitively.
const nlohmann::json* find_key(const nlohmann::json& obj, std::string_view key) {
  if (auto it = obj.find(key); it != obj.end()) return &*it;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() != key.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(key[i]));
    }
    if (same) return &*it;
  }
  return nullptr;
}

struct IdentifyData {
  std::string client_id, hostname, user_agent;
  bool has_client_id = false, has_hostname = false, has_user_agent = false;
  bool feature_negotiation = false, tls_v1 = false, snappy = false, deflate = false;
  std::int64_t heartbeat_interval = 0, output_buffer_size = 0, output_buffer_timeout = 0;
  std::int64_t deflate_level = 0, sample_rate = 0, msg_timeout = 0;
};

// Decodes IDENTIFY's JSON like Go's json.Unmarshal into nsqd's identifyDataV2: unknown keys ignored, null leaves a
// field alone, a wrong type (or a non-integer number for an int field) is an error.
bool decode_identify(const std::string& body, IdentifyData& d) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return false;
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  auto get_string = [&](std::string_view key, std::string& out, bool& has) {
    const nlohmann::json* v = find_key(j, key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = v->get<std::string>();
    has = true;
    return true;
  };
  auto get_bool = [&](std::string_view key, bool& out) {
    const nlohmann::json* v = find_key(j, key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_boolean()) return false;
    out = v->get<bool>();
    return true;
  };
  auto get_int = [&](std::string_view key, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
    const nlohmann::json* v = find_key(j, key);
    if (v == nullptr || v->is_null()) return true;
    if (v->is_number_unsigned()) {
      auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi)) return false;
      out = static_cast<std::int64_t>(u);
      return true;
    }
    if (!v->is_number_integer()) return false;
    auto i = v->get<std::int64_t>();
    if (i < lo || i > hi) return false;
    out = i;
    return true;
  };
  constexpr std::int64_t kI64Min = INT64_MIN, kI64Max = INT64_MAX, kI32Min = INT32_MIN, kI32Max = INT32_MAX;
  bool ok = true;
  bool dummy = false;
  ok = ok && get_string("client_id", d.client_id, d.has_client_id);
  ok = ok && get_string("hostname", d.hostname, d.has_hostname);
  ok = ok && get_bool("feature_negotiation", d.feature_negotiation);
  ok = ok && get_int("heartbeat_interval", d.heartbeat_interval, kI64Min, kI64Max);
  ok = ok && get_int("output_buffer_size", d.output_buffer_size, kI64Min, kI64Max);
  ok = ok && get_int("output_buffer_timeout", d.output_buffer_timeout, kI64Min, kI64Max);
  ok = ok && get_bool("tls_v1", d.tls_v1);
  ok = ok && get_bool("snappy", d.snappy);
  ok = ok && get_bool("deflate", d.deflate);
  ok = ok && get_int("deflate_level", d.deflate_level, kI64Min, kI64Max);
  ok = ok && get_int("sample_rate", d.sample_rate, kI32Min, kI32Max);
  ok = ok && get_string("user_agent", d.user_agent, d.has_user_agent);
  ok = ok && get_int("msg_timeout", d.msg_timeout, kI64Min, kI64Max);
  (void)dummy;
  return ok;
}

}  // namespace

void Client::on_line_too_long() {
  nsqd_.log(seam::LogLevel::error, "[" + conn_->remote_address() + "] - failed to read command - line too long");
  close_now("line too long");
}

BodyPlan Client::on_line(ParsedCommand& cmd) {
  const std::string_view word = cmd.name();
  // nsqd's enforceTLSPolicy: before the upgrade only IDENTIFY is allowed (the raw word is echoed).
  if (word != "IDENTIFY" && nsqd_.options().tls_required != 0 && !tls_) {
    return send_error("E_INVALID", "cannot " + str(word) + " in current state (TLS required)", true), BodyPlan::stop;
  }
  // Header checks that nsqd makes before reading any body, in its order.
  if (word == "IDENTIFY") {
    if (state_ != kInit) return send_error("E_INVALID", "cannot IDENTIFY in current state", true), BodyPlan::stop;
    return BodyPlan::sized;
  }
  if (word == "AUTH") {
    if (state_ != kInit) return send_error("E_INVALID", "cannot AUTH in current state", true), BodyPlan::stop;
    if (cmd.params.size() != 1) {
      return send_error("E_INVALID", "AUTH invalid number of parameters", true), BodyPlan::stop;
    }
    return BodyPlan::sized;
  }
  if (word == "PUB" || word == "DPUB" || word == "MPUB") {
    if (!check_pub_header(cmd)) return BodyPlan::stop;
    return CommandParser::body_plan_for(word);
  }
  return BodyPlan::none;
}

bool Client::check_pub_header(ParsedCommand& cmd) {
  const std::string_view word = cmd.name();
  const std::size_t need = word == "DPUB" ? 3 : 2;
  if (cmd.params.size() < need) {
    return send_error("E_INVALID", str(word) + " insufficient number of parameters", true);
  }
  const std::string_view topic = cmd.params[1];
  if (!is_valid_topic_name(topic)) {
    if (word == "MPUB") {
      return send_error("E_BAD_TOPIC", "E_BAD_TOPIC MPUB topic name " + go_quote(topic) + " is not valid", true);
    }
    return send_error("E_BAD_TOPIC", str(word) + " topic name " + go_quote(topic) + " is not valid", true);
  }
  if (word == "DPUB") {
    std::uint64_t ms = 0;
    if (!wire::parse_base10(cmd.params[2], ms)) {
      return send_error("E_INVALID", "DPUB could not parse timeout " + str(cmd.params[2]), true);
    }
    const auto ns = static_cast<std::int64_t>(ms * static_cast<std::uint64_t>(kMillisecond));
    if (ns < 0 || ns > nsqd_.options().max_req_timeout) {
      return send_error("E_INVALID",
                        "DPUB timeout " + std::to_string(static_cast<std::int64_t>(ms)) + " out of range 0-" +
                            num(nsqd_.options().max_req_timeout / kMillisecond),
                        true);
    }
  }
  if (word == "MPUB") {
    // nsqd authorizes MPUB before reading its body, then creates the topic, so even an MPUB that fails validation
    // creates it.
    if (auth_enabled()) {
      const auto then = [this, t = std::string(topic)] {
        return std::function<void()>([this, t] {
          if (nsqd_.exiting()) {
            send_error("E_MPUB_FAILED", "MPUB failed exiting", true);
            return;
          }
          nsqd_.get_topic(t);
        });
      };
      switch (check_auth("MPUB", topic, "", then)) {
        case AuthCheck::refused: return false;
        case AuthCheck::pending: return true;  // the body is read once the new grant allows it
        case AuthCheck::allowed: break;
      }
    }
    if (nsqd_.exiting()) return send_error("E_MPUB_FAILED", "MPUB failed exiting", true);
    nsqd_.get_topic(topic);
  }
  return true;
}

bool Client::on_body_size(ParsedCommand& cmd, std::int32_t size) {
  const std::string_view word = cmd.name();
  const Options& o = nsqd_.options();
  if (word == "IDENTIFY" || word == "AUTH") {
    if (size > o.max_body_size) {
      return send_error("E_BAD_BODY", str(word) + " body too big " + num(size) + " > " + num(o.max_body_size), true);
    }
    if (size <= 0) return send_error("E_BAD_BODY", str(word) + " invalid body size " + num(size), true);
    return true;
  }
  if (word == "MPUB") {
    if (size <= 0) return send_error("E_BAD_BODY", "MPUB invalid body size " + num(size), true);
    if (size > o.max_body_size) {
      return send_error("E_BAD_BODY", "MPUB body too big " + num(size) + " > " + num(o.max_body_size), true);
    }
    return true;
  }
  // PUB, DPUB
  if (size <= 0) return send_error("E_BAD_MESSAGE", str(word) + " invalid message body size " + num(size), true);
  if (size > o.max_msg_size) {
    return send_error("E_BAD_MESSAGE", str(word) + " message too big " + num(size) + " > " + num(o.max_msg_size),
                      true);
  }
  return true;
}

bool Client::on_mpub_count(ParsedCommand&, std::int32_t count) {
  // 4 bytes of count, then at least 5 bytes (size + 1) per message.
  const std::int64_t max_messages = (nsqd_.options().max_body_size - 4) / 5;
  if (count <= 0 || count > max_messages) {
    return send_error("E_BAD_BODY", "MPUB invalid message count " + num(count), true);
  }
  return true;
}

bool Client::on_mpub_message_size(ParsedCommand&, std::int32_t index, std::int32_t size) {
  if (size <= 0) {
    return send_error("E_BAD_MESSAGE", "MPUB invalid message(" + num(index) + ") body size " + num(size), true);
  }
  if (size > nsqd_.options().max_msg_size) {
    return send_error("E_BAD_MESSAGE", "MPUB message too big " + num(size) + " > " + num(nsqd_.options().max_msg_size),
                      true);
  }
  return true;
}

bool Client::on_command(ParsedCommand& cmd) {
  last_command_ns_ = nsqd_.now_ns();
  const std::string_view w = cmd.name();
  bool ok;
  if (w == "FIN") ok = cmd_fin(cmd);
  else if (w == "RDY") ok = cmd_rdy(cmd);
  else if (w == "REQ") ok = cmd_req(cmd);
  else if (w == "PUB") ok = cmd_pub(cmd);
  else if (w == "MPUB") ok = cmd_mpub(cmd);
  else if (w == "DPUB") ok = cmd_dpub(cmd);
  else if (w == "NOP") ok = true;
  else if (w == "TOUCH") ok = cmd_touch(cmd);
  else if (w == "SUB") ok = cmd_sub(cmd);
  else if (w == "CLS") ok = cmd_cls(cmd);
  else if (w == "AUTH") ok = cmd_auth(cmd);
  else if (w == "IDENTIFY") ok = cmd_identify(cmd);
  else ok = send_error("E_INVALID", "invalid command " + str(w), true);
  return ok && !gone_;
}

bool Client::cmd_identify(ParsedCommand& cmd) {
  IdentifyData d;
  if (!decode_identify(std::string(cmd.body), d)) {
    return send_error("E_BAD_BODY", "IDENTIFY failed to decode JSON body", true);
  }
  nsqd_.log(seam::LogLevel::info, "[" + conn_->remote_address() + "] IDENTIFY: client_id=" + d.client_id +
                                      " hostname=" + d.hostname + " user_agent=" + d.user_agent);
  // Strings are applied even when a later field is invalid (nsqd stores them first).
  client_id_ = d.client_id;
  hostname_ = d.hostname;
  user_agent_ = d.user_agent;
  const Options& o = nsqd_.options();

  std::int64_t hb = heartbeat_interval_;
  if (d.heartbeat_interval == -1) {
    hb = 0;
  } else if (d.heartbeat_interval == 0) {
  } else if (d.heartbeat_interval >= 1000 && d.heartbeat_interval <= o.max_heartbeat_interval / kMillisecond) {
    hb = d.heartbeat_interval * kMillisecond;
  } else {
    return send_error("E_BAD_BODY", "IDENTIFY heartbeat interval (" + num(d.heartbeat_interval) + ") is invalid",
                      true);
  }
  heartbeat_interval_ = hb;

  std::int64_t obt = output_buffer_timeout_;
  if (d.output_buffer_timeout == -1) {
    obt = 0;
  } else if (d.output_buffer_timeout == 0) {
  } else if (d.output_buffer_timeout >= o.min_output_buffer_timeout / kMillisecond &&
             d.output_buffer_timeout <= o.max_output_buffer_timeout / kMillisecond) {
    obt = d.output_buffer_timeout * kMillisecond;
  } else {
    return send_error("E_BAD_BODY",
                      "IDENTIFY output buffer timeout (" + num(d.output_buffer_timeout) + ") is invalid", true);
  }
  output_buffer_timeout_ = obt;
  if (d.output_buffer_size == -1) {
    output_buffer_size_ = 1;  // unbuffered: every message frame goes out at once
    output_buffer_timeout_ = 0;
  } else if (d.output_buffer_size == 0) {
  } else if (d.output_buffer_size >= 64 && d.output_buffer_size <= o.max_output_buffer_size) {
    output_buffer_size_ = d.output_buffer_size;
  } else {
    return send_error("E_BAD_BODY", "IDENTIFY output buffer size (" + num(d.output_buffer_size) + ") is invalid",
                      true);
  }
  if (d.output_buffer_size != 0) flush();

  if (d.sample_rate < 0 || d.sample_rate > 99) {
    return send_error("E_BAD_BODY", "IDENTIFY sample rate (" + num(d.sample_rate) + ") is invalid", true);
  }
  sample_rate_ = static_cast<int>(d.sample_rate);

  if (d.msg_timeout == 0) {
  } else if (d.msg_timeout >= 1000 && d.msg_timeout <= o.max_msg_timeout / kMillisecond) {
    msg_timeout_ = d.msg_timeout * kMillisecond;
  } else {
    return send_error("E_BAD_BODY", "IDENTIFY msg timeout (" + num(d.msg_timeout) + ") is invalid", true);
  }

  if (!identified_) {
    // Only the first IDENTIFY reaches nsqd's message pump.
    identified_ = true;
    pump_heartbeat_interval_ = heartbeat_interval_;
    pump_output_buffer_timeout_ = output_buffer_timeout_;
    pump_sample_rate_ = sample_rate_;
    pump_msg_timeout_ = msg_timeout_;
    arm_heartbeat();
  }
  arm_read_deadline();

  if (!d.feature_negotiation) {
    send_response(kOK);
    return true;
  }
  // nsqd grants TLS when it has a certificate (startup fails with only one of cert and key).
  const bool tls_v1 = (!o.tls_cert.empty() || !o.tls_key.empty()) && d.tls_v1;
  const bool deflate = o.deflate && d.deflate;
  std::int64_t deflate_level = 6;
  if (deflate && d.deflate_level > 0) deflate_level = d.deflate_level;
  if (o.max_deflate_level < deflate_level) deflate_level = o.max_deflate_level;
  const bool snappy = o.snappy && d.snappy;
  if (deflate && snappy) {
    return send_error("E_IDENTIFY_FAILED", "cannot enable both deflate and snappy compression", true);
  }
  nlohmann::ordered_json resp;
  resp["max_rdy_count"] = o.max_rdy_count;
  resp["version"] = kVersion;
  resp["max_msg_timeout"] = o.max_msg_timeout / kMillisecond;
  resp["msg_timeout"] = msg_timeout_ / kMillisecond;
  resp["tls_v1"] = tls_v1;
  resp["deflate"] = deflate;
  resp["deflate_level"] = deflate_level;
  resp["max_deflate_level"] = o.max_deflate_level;
  resp["snappy"] = snappy;
  resp["sample_rate"] = sample_rate_;
  resp["auth_required"] = !o.auth_http_addresses.empty();
  resp["output_buffer_size"] = output_buffer_size_;
  resp["output_buffer_timeout"] = output_buffer_timeout_ / kMillisecond;
  send_response(resp.dump());
  if (!tls_v1 && !snappy && !deflate) return true;
  // nsqd replaces its reader at each upgrade: whatever the client pipelined behind IDENTIFY is lost.
  parser_.drop_buffered();
  const int level = static_cast<int>(deflate_level);
  if (!held_.empty()) {
    // --durable: the JSON waits behind a publish's fsync; the upgrade must follow it onto the wire.
    upgrading_ = true;
    after_held_ = [this, tls_v1, snappy, deflate, level] {
      upgrading_ = false;
      if (tls_v1) upgrade_tls_then_compression(snappy, deflate, level);
      else upgrade_compression(snappy, deflate, level);
    };
    return true;
  }
  if (tls_v1) return upgrade_tls_then_compression(snappy, deflate, level);
  return upgrade_compression(snappy, deflate, level);
}

bool Client::upgrade_tls_then_compression(bool snappy, bool deflate, int deflate_level) {
  nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() + "] upgrading connection to TLS");
  upgrading_ = true;
  flush();  // the IDENTIFY answer goes out in the clear before the handshake, not at the end of this read
  std::weak_ptr<bool> alive = alive_;
  const bool started = conn_->upgrade_tls([this, alive, snappy, deflate, deflate_level](std::string error) {
    if (alive.expired() || gone_) return;
    upgrading_ = false;
    if (!error.empty()) {
      // Written in the clear: the handshake failed, so the stream is still the raw socket (as nsqd).
      send_error("E_IDENTIFY_FAILED", "IDENTIFY failed " + error, true);
      return;
    }
    tls_ = true;
    send_response(kOK);
    if (upgrade_compression(snappy, deflate, deflate_level)) arm_read_deadline();
  });
  if (!started) {
    upgrading_ = false;
    return send_error("E_IDENTIFY_FAILED", "IDENTIFY failed TLS is not available on this connection", true);
  }
  return true;
}

bool Client::upgrade_compression(bool snappy, bool deflate, int deflate_level) {
  flush();  // everything answered so far (the IDENTIFY JSON or the TLS OK) goes out uncompressed
  if (snappy) {
    nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() + "] upgrading connection to snappy");
    if (!conn_->enable_snappy()) return send_error("E_IDENTIFY_FAILED", "IDENTIFY failed snappy unavailable", true);
    snappy_ = true;
    send_response(kOK);
  }
  if (deflate) {
    nsqd_.log(seam::LogLevel::info, "PROTOCOL(V2): [" + conn_->remote_address() +
                                        "] upgrading connection to deflate (level " + num(deflate_level) + ")");
    if (!conn_->enable_deflate(deflate_level)) {
      return send_error("E_IDENTIFY_FAILED", "IDENTIFY failed deflate unavailable", true);
    }
    deflate_ = true;
    send_response(kOK);
  }
  return true;
}

bool Client::cmd_sub(ParsedCommand& cmd) {
  if (state_ != kInit) return send_error("E_INVALID", "cannot SUB in current state", true);
  if (heartbeat_interval_ <= 0) return send_error("E_INVALID", "cannot SUB with heartbeats disabled", true);
  if (cmd.params.size() < 3) return send_error("E_INVALID", "SUB insufficient number of parameters", true);
  const std::string_view topic_name = cmd.params[1];
  if (!is_valid_topic_name(topic_name)) {
    return send_error("E_BAD_TOPIC", "SUB topic name " + go_quote(topic_name) + " is not valid", true);
  }
  const std::string_view channel_name = cmd.params[2];
  if (!is_valid_channel_name(channel_name)) {
    return send_error("E_BAD_CHANNEL", "SUB channel name " + go_quote(channel_name) + " is not valid", true);
  }
  if (AuthCheck a = check_auth("SUB", topic_name, channel_name, cmd, &Client::cmd_sub);
      a != AuthCheck::allowed) {
    return a == AuthCheck::pending;
  }
  if (nsqd_.exiting()) return send_error("E_SUB_FAILED", "SUB failed exiting", true);
  Channel& ch = nsqd_.get_topic(topic_name).get_channel(channel_name);
  if (std::string err = ch.add_client(this); !err.empty()) return send_error("E_SUB_FAILED", "SUB failed " + err, true);
  state_ = kSubscribed;
  channel_ = &ch;
  send_response(kOK);
  return true;
}

bool Client::cmd_rdy(ParsedCommand& cmd) {
  if (state_ == kClosing) return true;  // nsqd ignores RDY after CLS
  if (state_ != kSubscribed) return send_error("E_INVALID", "cannot RDY in current state", true);
  std::int64_t count = 1;
  if (cmd.params.size() > 1) {
    std::uint64_t v = 0;
    if (!wire::parse_base10(cmd.params[1], v)) {
      return send_error("E_INVALID", "RDY could not parse count " + str(cmd.params[1]), true);
    }
    count = static_cast<std::int64_t>(v);
  }
  if (count < 0 || count > nsqd_.options().max_rdy_count) {
    return send_error("E_INVALID",
                      "RDY count " + num(count) + " out of range 0-" + num(nsqd_.options().max_rdy_count), true);
  }
  ready_count_ = count;
  if (ready_for_messages()) {
    channel_->pump();
  } else {
    flush();
  }
  return true;
}

bool Client::cmd_fin(ParsedCommand& cmd) {
  if (state_ != kSubscribed && state_ != kClosing) return send_error("E_INVALID", "cannot FIN in current state", true);
  if (cmd.params.size() < 2) return send_error("E_INVALID", "FIN insufficient number of params", true);
  MessageID id;
  if (!parse_message_id(cmd.params[1], id)) return send_error("E_INVALID", "invalid message ID", true);
  if (channel_ == nullptr) return send_error("E_FIN_FAILED", "FIN " + str(id.view()) + " failed exiting", false);
  if (std::string err = channel_->finish(id_, id); !err.empty()) {
    return send_error("E_FIN_FAILED", "FIN " + str(id.view()) + " failed " + err, false);
  }
  ++finish_count_;
  if (in_flight_count_ > 0) --in_flight_count_;
  if (planted::bugs.fin_double_count && in_flight_count_ > 0) [[unlikely]] --in_flight_count_;
  if (channel_ != nullptr) channel_->pump();
  return true;
}

bool Client::cmd_req(ParsedCommand& cmd) {
  if (state_ != kSubscribed && state_ != kClosing) return send_error("E_INVALID", "cannot REQ in current state", true);
  if (cmd.params.size() < 3) return send_error("E_INVALID", "REQ insufficient number of params", true);
  MessageID id;
  if (!parse_message_id(cmd.params[1], id)) return send_error("E_INVALID", "invalid message ID", true);
  std::uint64_t ms = 0;
  if (!wire::parse_base10(cmd.params[2], ms)) {
    return send_error("E_INVALID", "REQ could not parse timeout " + str(cmd.params[2]), true);
  }
  // As nsqd: the duration wraps like Go's, negative becomes 0, above max-req-timeout is clamped (not an error).
  auto timeout = static_cast<std::int64_t>(ms * static_cast<std::uint64_t>(kMillisecond));
  if (timeout < 0) timeout = 0;
  if (timeout > nsqd_.options().max_req_timeout) {
    nsqd_.log(seam::LogLevel::info, "[" + conn_->remote_address() + "] REQ timeout clamped to max-req-timeout");
    timeout = nsqd_.options().max_req_timeout;
  }
  if (channel_ == nullptr) return send_error("E_REQ_FAILED", "REQ " + str(id.view()) + " failed exiting", false);
  if (std::string err = channel_->requeue(id_, id, timeout); !err.empty()) {
    return send_error("E_REQ_FAILED", "REQ " + str(id.view()) + " failed " + err, false);
  }
  ++requeue_count_;
  if (in_flight_count_ > 0) --in_flight_count_;
  if (channel_ != nullptr) channel_->pump();
  return true;
}

bool Client::cmd_touch(ParsedCommand& cmd) {
  if (state_ != kSubscribed && state_ != kClosing) {
    return send_error("E_INVALID", "cannot TOUCH in current state", true);
  }
  if (cmd.params.size() < 2) return send_error("E_INVALID", "TOUCH insufficient number of params", true);
  MessageID id;
  if (!parse_message_id(cmd.params[1], id)) return send_error("E_INVALID", "invalid message ID", true);
  if (channel_ == nullptr) return send_error("E_TOUCH_FAILED", "TOUCH " + str(id.view()) + " failed exiting", false);
  if (std::string err = channel_->touch(id_, id, msg_timeout_); !err.empty()) {
    return send_error("E_TOUCH_FAILED", "TOUCH " + str(id.view()) + " failed " + err, false);
  }
  return true;
}

bool Client::cmd_cls(ParsedCommand&) {
  if (state_ != kSubscribed) return send_error("E_INVALID", "cannot CLS in current state", true);
  ready_count_ = 0;
  state_ = kClosing;
  flush();
  send_response("CLOSE_WAIT");
  return true;
}

bool Client::cmd_pub(ParsedCommand& cmd) {
  if (AuthCheck a = check_auth("PUB", cmd.params[1], "", cmd, &Client::cmd_pub); a != AuthCheck::allowed) {
    return a == AuthCheck::pending;
  }
  if (nsqd_.exiting()) return send_error("E_PUB_FAILED", "PUB failed exiting", true);
  const std::string topic_name(cmd.params[1]);
  Topic& topic = nsqd_.get_topic(topic_name);
  if (std::string err = topic.put(topic.new_message(cmd.body)); !err.empty()) {
    return send_error("E_PUB_FAILED", "PUB failed " + err, true);
  }
  // Disk appends are batched: OK only once the message is written (page cache), as nsqd.
  if (std::string err = topic.flush_puts(); !err.empty()) return send_error("E_PUB_FAILED", "PUB failed " + err, true);
  published(topic_name, 1);
  if (topic.durable()) {
    reply_when_durable(topic, "E_PUB_FAILED", "PUB");
    return true;
  }
  send_response(kOK);
  return true;
}

bool Client::cmd_dpub(ParsedCommand& cmd) {
  if (AuthCheck a = check_auth("DPUB", cmd.params[1], "", cmd, &Client::cmd_dpub); a != AuthCheck::allowed) {
    return a == AuthCheck::pending;
  }
  if (nsqd_.exiting()) return send_error("E_DPUB_FAILED", "DPUB failed exiting", true);
  const std::string topic_name(cmd.params[1]);
  std::uint64_t ms = 0;
  wire::parse_base10(cmd.params[2], ms);  // validated in check_pub_header
  Topic& topic = nsqd_.get_topic(topic_name);
  if (std::string err = topic.put(topic.new_message(cmd.body, static_cast<std::int64_t>(ms) * kMillisecond));
      !err.empty()) {
    return send_error("E_DPUB_FAILED", "DPUB failed " + err, true);
  }
  if (std::string err = topic.flush_puts(); !err.empty()) {
    return send_error("E_DPUB_FAILED", "DPUB failed " + err, true);
  }
  published(topic_name, 1);
  if (topic.durable()) {
    reply_when_durable(topic, "E_DPUB_FAILED", "DPUB");
    return true;
  }
  send_response(kOK);
  return true;
}

bool Client::cmd_mpub(ParsedCommand& cmd) {
  if (nsqd_.exiting()) return send_error("E_MPUB_FAILED", "MPUB failed exiting", true);
  const std::string topic_name(cmd.params[1]);
  Topic& topic = nsqd_.get_topic(topic_name);
  for (std::string_view body : cmd.messages) {
    if (std::string err = topic.put(topic.new_message(body)); !err.empty()) {
      return send_error("E_MPUB_FAILED", "MPUB failed " + err, true);
    }
  }
  // One write for the whole batch (disk path); OK only once it is written.
  if (std::string err = topic.flush_puts(); !err.empty()) {
    return send_error("E_MPUB_FAILED", "MPUB failed " + err, true);
  }
  published(topic_name, cmd.messages.size());
  if (topic.durable()) {
    reply_when_durable(topic, "E_MPUB_FAILED", "MPUB");
    return true;
  }
  send_response(kOK);
  return true;
}

}  // namespace nsq
