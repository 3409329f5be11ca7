// Incremental V2 command framing: turns a byte stream (in any chunking) into commands, the way nsqd's
// bufio reader does. A command is a '\n'-terminated line (one trailing '\r' stripped, split on every single
// space) of at most 16384 bytes including the '\n'; IDENTIFY, AUTH, PUB and DPUB are followed by
// [int32 size][body]; MPUB by [int32 size][int32 count]([int32 size][body]) x count.
// The handler validates each stage before the next is read, so errors come in nsqd's order (e.g. a bad topic
// name is answered without waiting for the body).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nsq {

inline constexpr std::size_t kMaxLineSize = 16384;

struct ParsedCommand {
  std::vector<std::string_view> params;    // params[0] is the command word (views valid during callbacks)
  std::int32_t body_size = 0;              // declared [int32 size] (IDENTIFY, AUTH, PUB, DPUB, MPUB)
  std::string_view body;                   // IDENTIFY, AUTH, PUB, DPUB
  std::vector<std::string_view> messages;  // MPUB
  std::string_view name() const { return params.empty() ? std::string_view{} : params[0]; }
};

enum class BodyPlan { none, sized, mpub, stop };

class CommandHandler {
 public:
  virtual ~CommandHandler() = default;
  // A line arrived. Return none to run it now (on_command follows), sized/mpub to read a body first, or
  // stop if the handler answered with a fatal error.
  virtual BodyPlan on_line(ParsedCommand& cmd) = 0;
  // Validation hooks; return false to stop (the handler has answered with a fatal error).
  virtual bool on_body_size(ParsedCommand& cmd, std::int32_t size) = 0;
  virtual bool on_mpub_count(ParsedCommand& cmd, std::int32_t count) = 0;
  virtual bool on_mpub_message_size(ParsedCommand& cmd, std::int32_t index, std::int32_t size) = 0;
  // The whole command is here. Return false to stop parsing (connection closing).
  virtual bool on_command(ParsedCommand& cmd) = 0;
  // No '\n' within kMaxLineSize bytes: nsqd closes without an error frame.
  virtual void on_line_too_long() = 0;
};

class CommandParser {
 public:
  // Body plan for a command word when the handler accepts the line (IDENTIFY/AUTH/PUB/DPUB sized, MPUB mpub).
  static BodyPlan body_plan_for(std::string_view word);

  // Feeds bytes; calls the handler for every stage completed. Returns false once parsing stopped for good.
  bool feed(CommandHandler& h, const std::uint8_t* data, std::size_t size);
  bool stopped() const { return stage_ == Stage::stopped; }
  // Holds the commands after the current one (bytes keep being buffered) until resume(), e.g. while an AUTH
  // waits for the auth server. resume() parses what was buffered; returns false once parsing stopped for good.
  void pause() { paused_ = true; }
  bool paused() const { return paused_; }
  bool resume(CommandHandler& h) {
    paused_ = false;
    while (step(h)) {
    }
    return stage_ != Stage::stopped;
  }
  // When the stream ends (EOF, read deadline) in the middle of a command's body: the error nsqd answers with
  // (its io.ReadFull failing), e.g. {"E_BAD_MESSAGE", "PUB failed to read message body"}. False otherwise.
  bool pending_read_error(std::string& code, std::string& desc) const;
  std::size_t buffered() const { return buf_.size() - pos_; }
  // From a handler callback: stop after the current command and forget every byte already received (IDENTIFY
  // upgraded the stream; nsqd replaces its reader, so bytes a client pipelined behind IDENTIFY are lost).
  void drop_buffered() { drop_ = true; }

 private:
  enum class Stage { line, body_size, body, mpub_count, mpub_size, mpub_body, stopped };
  bool step(CommandHandler& h);  // one stage; false when more bytes are needed or stopped
  bool take(std::size_t n, std::string_view& out);
  void finish_command();

  std::string buf_;
  std::size_t pos_ = 0;
  Stage stage_ = Stage::line;
  bool paused_ = false;
  ParsedCommand cmd_;
  std::int32_t mpub_count_ = 0;
  std::int32_t mpub_next_size_ = 0;
  // Offsets into buf_ of the pending command's pieces; turned into views when the command completes, because
  // buf_ may grow (and move) while the body arrives.
  struct Span {
    std::size_t off, len;
  };
  std::vector<Span> param_spans_;
  Span body_span_{0, 0};
  std::vector<Span> message_spans_;
  std::size_t scan_from_ = 0;  // where to resume the search for '\n'
  bool drop_ = false;
};

}  // namespace nsq
