#include "engine/command_parser.h"

#include <cstring>

#include "engine/wire.h"

namespace nsq {

BodyPlan CommandParser::body_plan_for(std::string_view word) {
  if (word == "PUB" || word == "DPUB" || word == "IDENTIFY" || word == "AUTH") return BodyPlan::sized;
  if (word == "MPUB") return BodyPlan::mpub;
  return BodyPlan::none;
}

bool CommandParser::pending_read_error(std::string& code, std::string& desc) const {
  if (param_spans_.empty() || stage_ == Stage::line || stage_ == Stage::stopped) return false;
  const std::string word = buf_.substr(param_spans_[0].off, param_spans_[0].len);
  const bool is_mpub = word == "MPUB";
  const bool is_pub = word == "PUB" || word == "DPUB";
  switch (stage_) {
    case Stage::body_size:
      code = is_pub ? "E_BAD_MESSAGE" : "E_BAD_BODY";
      desc = word + (is_pub ? " failed to read message body size" : " failed to read body size");
      return true;
    case Stage::body:
      code = is_pub ? "E_BAD_MESSAGE" : "E_BAD_BODY";
      desc = word + (is_pub ? " failed to read message body" : " failed to read body");
      return true;
    case Stage::mpub_count:
      code = "E_BAD_BODY";
      desc = "MPUB failed to read message count";
      return is_mpub;
    case Stage::mpub_size:
      code = "E_BAD_MESSAGE";
      desc = "MPUB failed to read message(" + std::to_string(message_spans_.size()) + ") body size";
      return is_mpub;
    case Stage::mpub_body:
      code = "E_BAD_MESSAGE";
      desc = "MPUB failed to read message body";
      return is_mpub;
    default:
      return false;
  }
}

bool CommandParser::feed(CommandHandler& h, const std::uint8_t* data, std::size_t size) {
  if (stage_ == Stage::stopped) return false;
  // Drop bytes already consumed before appending, so the buffer holds at most one pending command.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 64 * 1024)) {
    const std::size_t start = stage_ == Stage::line ? pos_ : param_spans_.empty() ? pos_ : param_spans_[0].off;
    const std::size_t cut = start < pos_ ? start : pos_;
    if (cut > 0) {
      buf_.erase(0, cut);
      pos_ -= cut;
      scan_from_ = scan_from_ > cut ? scan_from_ - cut : 0;
      for (auto& s : param_spans_) s.off -= cut;
      for (auto& s : message_spans_) s.off -= cut;
      if (body_span_.len > 0) body_span_.off -= cut;
    }
  }
  buf_.append(reinterpret_cast<const char*>(data), size);
  while (!drop_ && step(h)) {
  }
  if (drop_) {
    drop_ = false;
    buf_.clear();
    pos_ = 0;
    scan_from_ = 0;
  }
  return stage_ != Stage::stopped;
}

bool CommandParser::take(std::size_t n, std::string_view& out) {
  if (buf_.size() - pos_ < n) return false;
  out = std::string_view(buf_).substr(pos_, n);
  pos_ += n;
  return true;
}

void CommandParser::finish_command() {
  stage_ = Stage::line;
  param_spans_.clear();
  message_spans_.clear();
  body_span_ = {0, 0};
  cmd_.params.clear();
  cmd_.messages.clear();
  cmd_.body = {};
  cmd_.body_size = 0;
  scan_from_ = pos_;
}

bool CommandParser::step(CommandHandler& h) {
  auto rebuild_params = [&] {
    cmd_.params.clear();
    for (const auto& s : param_spans_) cmd_.params.emplace_back(buf_.data() + s.off, s.len);
  };
  std::string_view v;
  if (paused_) return false;
  switch (stage_) {
    case Stage::stopped:
      return false;
    case Stage::line: {
      const std::size_t from = scan_from_ > pos_ ? scan_from_ : pos_;
      const void* nl = from < buf_.size() ? std::memchr(buf_.data() + from, '\n', buf_.size() - from) : nullptr;
      if (nl == nullptr) {
        if (buf_.size() - pos_ >= kMaxLineSize) {
          stage_ = Stage::stopped;
          h.on_line_too_long();
          return false;
        }
        scan_from_ = buf_.size();
        return false;
      }
      const auto idx = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      if (idx - pos_ + 1 > kMaxLineSize) {
        stage_ = Stage::stopped;
        h.on_line_too_long();
        return false;
      }
      std::size_t end = idx;
      if (end > pos_ && buf_[end - 1] == '\r') --end;
      param_spans_.clear();
      std::size_t start = pos_;
      for (std::size_t i = pos_; i <= end; ++i) {
        if (i == end || buf_[i] == ' ') {
          param_spans_.push_back({start, i - start});
          start = i + 1;
        }
      }
      pos_ = idx + 1;
      rebuild_params();
      switch (h.on_line(cmd_)) {
        case BodyPlan::none:
          if (!h.on_command(cmd_)) {
            stage_ = Stage::stopped;
            return false;
          }
          finish_command();
          return true;
        case BodyPlan::stop:
          stage_ = Stage::stopped;
          return false;
        case BodyPlan::sized:
          stage_ = Stage::body_size;
          mpub_count_ = -1;
          return true;
        case BodyPlan::mpub:
          stage_ = Stage::body_size;
          mpub_count_ = 0;
          return true;
      }
      return false;
    }
    case Stage::body_size: {
      if (!take(4, v)) return false;
      cmd_.body_size = static_cast<std::int32_t>(wire::read_u32(v.data()));
      rebuild_params();
      if (!h.on_body_size(cmd_, cmd_.body_size)) {
        stage_ = Stage::stopped;
        return false;
      }
      stage_ = mpub_count_ < 0 ? Stage::body : Stage::mpub_count;
      return true;
    }
    case Stage::body: {
      if (!take(static_cast<std::size_t>(cmd_.body_size), v)) return false;
      body_span_ = {static_cast<std::size_t>(v.data() - buf_.data()), v.size()};
      rebuild_params();
      cmd_.body = v;
      if (!h.on_command(cmd_)) {
        stage_ = Stage::stopped;
        return false;
      }
      finish_command();
      return true;
    }
    case Stage::mpub_count: {
      if (!take(4, v)) return false;
      mpub_count_ = static_cast<std::int32_t>(wire::read_u32(v.data()));
      rebuild_params();
      if (!h.on_mpub_count(cmd_, mpub_count_)) {
        stage_ = Stage::stopped;
        return false;
      }
      message_spans_.clear();
      message_spans_.reserve(static_cast<std::size_t>(mpub_count_) < 4096 ? static_cast<std::size_t>(mpub_count_)
                                                                            : 4096);
      stage_ = Stage::mpub_size;
      return true;
    }
    case Stage::mpub_size: {
      if (!take(4, v)) return false;
      mpub_next_size_ = static_cast<std::int32_t>(wire::read_u32(v.data()));
      rebuild_params();
      if (!h.on_mpub_message_size(cmd_, static_cast<std::int32_t>(message_spans_.size()), mpub_next_size_)) {
        stage_ = Stage::stopped;
        return false;
      }
      stage_ = Stage::mpub_body;
      return true;
    }
    case Stage::mpub_body: {
      if (!take(static_cast<std::size_t>(mpub_next_size_), v)) return false;
      message_spans_.push_back({static_cast<std::size_t>(v.data() - buf_.data()), v.size()});
      if (static_cast<std::int32_t>(message_spans_.size()) < mpub_count_) {
        stage_ = Stage::mpub_size;
        return true;
      }
      rebuild_params();
      cmd_.messages.clear();
      for (const auto& s : message_spans_) cmd_.messages.emplace_back(buf_.data() + s.off, s.len);
      if (!h.on_command(cmd_)) {
        stage_ = Stage::stopped;
        return false;
      }
      finish_command();
      return true;
    }
  }
  return false;
}

}  // namespace nsq
