#include "sim/swarm/fake_lookupd.h"

#include <vector>

namespace nsq::sim::swarm {

namespace {
std::string framed(const std::string& data) {
  std::string out(4, '\0');
  const auto n = static_cast<std::uint32_t>(data.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out + data;
}
}  // namespace

struct FakeLookupd::Conn final : seam::ConnectionHandler {
  FakeLookupd* owner = nullptr;
  std::uint64_t id = 0;
  std::unique_ptr<seam::Connection> conn;
  std::string in;
  bool magic = false;
  std::set<std::pair<std::string, std::string>> regs;

  void on_read(const std::uint8_t* data, std::size_t size) override {
    in.append(reinterpret_cast<const char*>(data), size);
    if (!magic) {
      if (in.size() < 4) return;
      if (in.compare(0, 4, "  V1") != 0) return close_now();
      in.erase(0, 4);
      magic = true;
    }
    for (;;) {
      const auto nl = in.find('\n');
      if (nl == std::string::npos) return;
      std::string line = in.substr(0, nl);
      std::vector<std::string> words;
      for (std::size_t start = 0; start <= line.size();) {
        const auto sp = line.find(' ', start);
        words.push_back(line.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
        if (sp == std::string::npos) break;
        start = sp + 1;
      }
      std::size_t used = nl + 1;
      if (words[0] == "IDENTIFY") {
        if (in.size() < used + 4) return;
        const std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[used])) << 24) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(in[used + 1])) << 16) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(in[used + 2])) << 8) |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(in[used + 3]));
        if (in.size() < used + 4 + n) return;
        used += 4 + n;
        conn->write(framed(R"({"tcp_port":4160,"http_port":4161,"version":"1.3.0","broadcast_address":"sim-lookupd","hostname":"sim-lookupd"})"));
      } else if (words[0] == "REGISTER" && words.size() >= 2) {
        regs.emplace(words[1], "");
        if (words.size() >= 3) regs.emplace(words[1], words[2]);
        conn->write(framed("OK"));
      } else if (words[0] == "UNREGISTER" && words.size() >= 2) {
        if (words.size() >= 3) {
          regs.erase({words[1], words[2]});
        } else {
          for (auto it = regs.begin(); it != regs.end();) it = it->first == words[1] ? regs.erase(it) : std::next(it);
        }
        conn->write(framed("OK"));
      } else if (words[0] == "PING") {
        conn->write(framed("OK"));
      } else {
        conn->write(framed("E_INVALID"));
      }
      ++owner->commands_;
      in.erase(0, used);
    }
  }
  void on_drained() override {}
  void on_closed(std::string_view) override { owner->on_closed(id); }
  void close_now() {
    conn->close();
    owner->on_closed(id);
  }
};

FakeLookupd::FakeLookupd(io_sim::SimNetwork& net, std::string address, std::function<void(std::uint64_t)> on_conn)
    : net_(net), address_(std::move(address)), on_conn_(std::move(on_conn)) {
  listener_ = net_.listen(address_);
  listener_->start([this](std::unique_ptr<seam::Connection> c) {
    if (partitioned_) {
      c->close();  // unreachable: nsqd's dial gets nothing back
      return;
    }
    auto* sc = dynamic_cast<io_sim::SimConnection*>(c.get());
    auto conn = std::make_unique<Conn>();
    conn->owner = this;
    conn->id = sc != nullptr ? sc->id() : 0;
    if (on_conn_) on_conn_(conn->id);
    conn->conn = std::move(c);
    Conn* raw = conn.get();
    conns_[raw->id] = std::move(conn);
    raw->conn->start(raw);
  });
}

FakeLookupd::~FakeLookupd() {
  for (auto& [id, c] : conns_) c->conn->close();
  conns_.clear();
  listener_.reset();
}

void FakeLookupd::on_closed(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> dead = std::move(it->second);
  conns_.erase(it);
  dead->conn->close();
  // Destroyed later: this may be running inside its handler.
  net_.clock().post([d = std::shared_ptr<Conn>(dead.release())] {});
}

void FakeLookupd::set_partitioned(bool on) {
  partitioned_ = on;
  for (auto& [id, c] : conns_) net_.set_stalled(id, on);
}

std::set<std::pair<std::string, std::string>> FakeLookupd::registrations() const {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [id, c] : conns_) out.insert(c->regs.begin(), c->regs.end());
  return out;
}

}  // namespace nsq::sim::swarm
