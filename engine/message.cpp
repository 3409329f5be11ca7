#include "engine/message.h"

#include "engine/wire.h"

namespace nsq {

void append_message_payload(std::string& out, const Message& msg) {
  wire::append_u64(out, static_cast<std::uint64_t>(msg.timestamp));
  wire::append_u16(out, msg.attempts);
  out.append(msg.id.view());
  out.append(msg.body.view());
}

}  // namespace nsq
