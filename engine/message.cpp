#include "engine/message.h"

#include "engine/wire.h"

namespace nsq {

void append_message_payload(std::string& out, const Message& msg) {
  wire::append_u64(out, static_cast<std::uint64_t>(msg.timestamp));
  wire::append_u16(out, msg.attempts);
  out.append(msg.id.view());
  out.append(msg.body.view());
}

MessagePtr decode_message_payload(std::string_view payload) {
  if (payload.size() < kMessageHeaderSize) return nullptr;
  auto m = std::make_unique<Message>();
  m->timestamp = static_cast<std::int64_t>(wire::read_u64(payload.data()));
  m->attempts = wire::read_u16(payload.data() + 8);
  m->id = MessageID::from(payload.substr(10, MessageID::kSize));
  m->body = BodyRef(payload.substr(kMessageHeaderSize));
  return m;
}

}  // namespace nsq
