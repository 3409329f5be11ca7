#include "engine/message.h"

#include "engine/wire.h"

namespace nsq {

namespace {
// Spare Message blocks, linked through their first bytes. Trivially destructible on purpose: a Message freed
// during static destruction still finds it valid (the spare blocks are simply left to the process's exit).
struct FreeList {
  void* head;
  std::size_t size;
};
thread_local FreeList free_list{nullptr, 0};
}  // namespace

void* Message::operator new(std::size_t size) {
  if (size == sizeof(Message) && free_list.head != nullptr) {
    void* p = free_list.head;
    free_list.head = *static_cast<void**>(p);
    --free_list.size;
    return p;
  }
  return ::operator new(size);
}

void Message::operator delete(void* p, std::size_t size) noexcept {
  if (size == sizeof(Message) && free_list.size < kMaxFree) {
    *static_cast<void**>(p) = free_list.head;
    free_list.head = p;
    ++free_list.size;
    return;
  }
  ::operator delete(p);
}

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
