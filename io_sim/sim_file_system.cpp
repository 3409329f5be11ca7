#include "io_sim/sim_file_system.h"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace nsq::io_sim {

namespace {
// Go's wording: "write <path>: no space left on device" (lower-case errno text).
seam::IoResult fail(int err, const std::string& what) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return {err, what + ": " + text};
}
}  // namespace

class SimFile final : public seam::File {
 public:
  SimFile(SimFileSystem& fs, std::shared_ptr<SimFileSystem::Inode> node, std::string path)
      : fs_(fs), node_(std::move(node)), path_(std::move(path)) {}

  seam::IoResult write_at(std::uint64_t offset, std::string_view data) override {
    const std::uint64_t end = offset + data.size();
    const std::size_t grow = end > node_->data.size() ? static_cast<std::size_t>(end - node_->data.size()) : 0;
    if (fs_.write_error != 0) {
      const std::size_t part = std::min(fs_.short_write_bytes, data.size());
      if (part > 0) apply(offset, data.substr(0, part));
      return fail(fs_.write_error, "write " + path_);
    }
    if (seam::IoResult r = fs_.check_write(grow); !r.ok()) return fail(r.error, "write " + path_);
    apply(offset, data);
    return {};
  }

  seam::IoResult read_at(std::uint64_t offset, std::size_t size, std::string& out) override {
    out.clear();
    if (offset >= node_->data.size()) return {};
    out = node_->data.substr(static_cast<std::size_t>(offset), size);
    return {};
  }

  void sync(seam::IoCallback done) override {
    std::shared_ptr<SimFileSystem::Inode> node = node_;
    SimFileSystem* fs = &fs_;
    std::string path = path_;
    // The bytes made durable are the ones written before this call.
    std::string snapshot = node_->data;
    fs_.complete_later(
        [fs, node, path, snapshot = std::move(snapshot)]() -> seam::IoResult {
          if (fs->sync_error != 0) return fail(fs->sync_error, "sync " + path);
          // Later writes that already landed on top stay volatile; the snapshot's bytes are durable.
          std::string durable = node->data;
          if (durable.compare(0, snapshot.size(), snapshot) != 0 || durable.size() < snapshot.size()) {
            durable = snapshot;
          } else {
            durable.resize(snapshot.size());
          }
          node->durable = std::move(durable);
          ++fs->syncs_completed_;
          return {};
        },
        std::move(done));
  }

  std::uint64_t size() const override { return node_->data.size(); }

 private:
  void apply(std::uint64_t offset, std::string_view data) {
    const std::size_t off = static_cast<std::size_t>(offset);
    if (node_->data.size() < off + data.size()) node_->data.resize(off + data.size(), '\0');
    node_->data.replace(off, data.size(), data);
  }

  SimFileSystem& fs_;
  std::shared_ptr<SimFileSystem::Inode> node_;
  std::string path_;
};

seam::IoResult SimFileSystem::check_write(std::size_t grow) const {
  if (capacity && used_bytes() + grow > *capacity) return fail(ENOSPC, "write");
  return {};
}

void SimFileSystem::complete_later(std::function<seam::IoResult()> effect, seam::IoCallback done) {
  const std::uint64_t gen = generation_;
  clock_.schedule_after(sync_latency_ns, [this, gen, effect = std::move(effect), done = std::move(done)] {
    if (gen != generation_) return;  // a crash happened first: neither the effect nor the completion
    seam::IoResult r = effect();
    if (done) done(std::move(r));
  });
}

std::shared_ptr<seam::File> SimFileSystem::open(const std::string& path, bool create, seam::IoResult& result) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!create) {
      result = fail(ENOENT, "open " + path);
      return nullptr;
    }
    it = files_.emplace(path, std::make_shared<Inode>()).first;
  }
  result = {};
  return std::make_shared<SimFile>(*this, it->second, path);
}

seam::IoResult SimFileSystem::read_file(const std::string& path, std::string& out) {
  auto it = files_.find(path);
  if (it == files_.end()) return fail(ENOENT, "open " + path);
  out = it->second->data;
  return {};
}

void SimFileSystem::write_file_atomic(const std::string& path, std::string data, seam::IoCallback done) {
  complete_later(
      [this, path, data = std::move(data)]() -> seam::IoResult {
        if (sync_error != 0) return fail(sync_error, "sync " + path);
        if (write_error != 0) return fail(write_error, "write " + path);
        auto node = std::make_shared<Inode>();
        node->data = data;
        node->durable = data;
        files_[path] = std::move(node);
        return {};
      },
      std::move(done));
}

seam::IoResult SimFileSystem::rename(const std::string& from, const std::string& to) {
  auto it = files_.find(from);
  if (it == files_.end()) return fail(ENOENT, "rename " + from);
  std::shared_ptr<Inode> node = it->second;
  files_.erase(it);
  files_[to] = std::move(node);
  return {};
}

seam::IoResult SimFileSystem::remove(const std::string& path) {
  if (files_.erase(path) == 0) return fail(ENOENT, "remove " + path);
  return {};
}

std::int64_t SimFileSystem::file_size(const std::string& path) {
  auto it = files_.find(path);
  return it == files_.end() ? -1 : static_cast<std::int64_t>(it->second->data.size());
}

std::vector<std::string> SimFileSystem::list_dir(const std::string& dir) {
  std::vector<std::string> out;
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  for (const auto& [path, node] : files_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = path.substr(prefix.size());
    if (rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;
}

void SimFileSystem::crash(const std::function<std::size_t(std::size_t)>& tear) {
  ++generation_;
  for (auto& [path, node] : files_) {
    std::string& d = node->data;
    const std::string& dur = node->durable;
    const bool appended = d.size() > dur.size() && d.compare(0, dur.size(), dur) == 0;
    if (appended && tear) {
      const std::size_t extra = d.size() - dur.size();
      d.resize(dur.size() + std::min(extra, tear(extra)));
    } else {
      d = dur;
    }
  }
}

std::uint64_t SimFileSystem::used_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [path, node] : files_) n += node->data.size();
  return n;
}

std::shared_ptr<SimFileSystem::Inode> SimFileSystem::inode(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : it->second;
}

void SimFileSystem::put_durable(const std::string& path, std::string content) {
  auto node = std::make_shared<Inode>();
  node->data = content;
  node->durable = std::move(content);
  files_[path] = std::move(node);
}

}  // namespace nsq::io_sim
