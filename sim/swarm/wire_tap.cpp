#include "sim/swarm/wire_tap.h"

namespace nsq::sim::swarm {

std::optional<Command> CommandStream::next() {
  if (corrupt_) return std::nullopt;
  if (!magic_) {
    if (buf_.size() - pos_ < 4) return std::nullopt;
    if (buf_.compare(pos_, 4, wire::kMagicV2) != 0) {
      corrupt_ = true;
      return std::nullopt;
    }
    pos_ += 4;
    magic_ = true;
  }
  const auto nl = buf_.find('\n', pos_);
  if (nl == std::string::npos) return std::nullopt;
  Command c;
  {
    std::string_view line(buf_.data() + pos_, nl - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t start = 0;
    bool first = true;
    while (start <= line.size()) {
      auto sp = line.find(' ', start);
      std::string_view word = line.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start);
      if (first) {
        c.name = std::string(word);
        first = false;
      } else {
        c.params.emplace_back(word);
      }
      if (sp == std::string_view::npos) break;
      start = sp + 1;
    }
  }
  std::size_t p = nl + 1;
  const bool sized = c.name == "PUB" || c.name == "DPUB" || c.name == "IDENTIFY" || c.name == "AUTH";
  if (sized || c.name == "MPUB") {
    if (buf_.size() - p < 4) return std::nullopt;
    const auto size = static_cast<std::size_t>(wire::get_be(buf_, p, 4));
    if (buf_.size() - p - 4 < size) return std::nullopt;
    std::string_view body(buf_.data() + p + 4, size);
    if (sized) {
      c.body = std::string(body);
    } else {
      if (body.size() < 4) {
        corrupt_ = true;
        return std::nullopt;
      }
      const auto count = wire::get_be(body, 0, 4);
      std::size_t q = 4;
      for (std::uint64_t i = 0; i < count; ++i) {
        if (body.size() - q < 4) {
          corrupt_ = true;
          return std::nullopt;
        }
        const auto len = static_cast<std::size_t>(wire::get_be(body, q, 4));
        if (body.size() - q - 4 < len) {
          corrupt_ = true;
          return std::nullopt;
        }
        c.bodies.emplace_back(body.substr(q + 4, len));
        q += 4 + len;
      }
    }
    p += 4 + size;
  }
  pos_ = p;
  if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return c;
}

}  // namespace nsq::sim::swarm
