#include "engine/nsqd.h"

#include "engine/client.h"
#include "engine/names.h"
#include "engine/queue_scanner.h"
#include "engine/topic.h"

namespace nsq {

NSQD::NSQD(Options options, Seams seams) : opts_(std::move(options)), seams_(seams) {
  scanner_ = std::make_unique<QueueScanner>(*this);
  start_time_s_ = seams_.clock.wall_ns() / kSecond;
}

NSQD::~NSQD() {
  shutdown();
  for (seam::TimerId t : deferred_tasks_) seams_.clock.cancel(t);
  deferred_tasks_.clear();
  // Clients first (they point into channels), then topics; the scanner outlives both.
  clients_.clear();
  dead_clients_.clear();
  topics_.clear();
}

void NSQD::log(seam::LogLevel level, std::string_view line) {
  if (seams_.logger.enabled(level)) seams_.logger.log(level, line);
}

void NSQD::defer(std::function<void()> fn) {
  auto id = std::make_shared<seam::TimerId>(seam::kNoTimer);
  *id = seams_.clock.post([this, id, fn = std::move(fn)] {
    deferred_tasks_.erase(*id);
    fn();
  });
  deferred_tasks_.insert(*id);
}

void NSQD::accept(std::unique_ptr<seam::Connection> conn) {
  if (exiting_) {
    conn->close();
    return;
  }
  const std::uint64_t id = next_client_id();
  log(seam::LogLevel::info, "TCP: new client(" + conn->remote_address() + ")");
  auto client = std::make_unique<Client>(*this, std::move(conn), id);
  Client* raw = client.get();
  clients_.emplace(id, std::move(client));
  raw->start();
}

void NSQD::remove_client(Client* client) {
  auto it = clients_.find(client->id());
  if (it == clients_.end()) return;
  // The client may be on the call stack (we are inside one of its callbacks): destroy it later.
  dead_clients_.push_back(std::move(it->second));
  clients_.erase(it);
  if (!reap_scheduled_) {
    reap_scheduled_ = true;
    defer([this] {
      reap_scheduled_ = false;
      dead_clients_.clear();
    });
  }
}

Topic& NSQD::get_topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return *it->second;
  auto [ins, _] = topics_.emplace(std::string(name), std::make_unique<Topic>(*this, std::string(name)));
  log(seam::LogLevel::info, "TOPIC(" + std::string(name) + "): created");
  return *ins->second;
}

Topic* NSQD::find_topic(std::string_view name) {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

void NSQD::delete_topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  std::unique_ptr<Topic> t = std::move(it->second);
  topics_.erase(it);
  log(seam::LogLevel::info, "TOPIC(" + t->name() + "): deleting");
  std::vector<std::string> names;
  for (const auto& [n, ch] : t->channels()) names.push_back(n);
  for (const auto& n : names) t->delete_channel(n);
  t->empty();
}

void NSQD::maybe_delete_ephemeral_topic(Topic* topic) {
  std::string name = topic->name();
  defer([this, name] {
    Topic* t = find_topic(name);
    if (t != nullptr && t->ephemeral() && t->channel_count() == 0) delete_topic(name);
  });
}

std::string NSQD::publish(std::string_view topic_name, std::span<const std::string_view> bodies,
                          std::int64_t defer_ns) {
  if (exiting_) return "exiting";
  Topic& topic = get_topic(topic_name);
  for (std::string_view body : bodies) {
    if (std::string err = topic.put(topic.new_message(body, defer_ns)); !err.empty()) return err;
  }
  return {};
}

std::vector<TopicStats> NSQD::stats(std::string_view topic_filter, std::string_view channel_filter,
                                    bool include_clients) const {
  std::vector<TopicStats> out;
  for (const auto& [name, t] : topics_) {
    if (!topic_filter.empty() && name != topic_filter) continue;
    out.push_back(t->stats(channel_filter, include_clients));
  }
  return out;
}

void NSQD::shutdown() {
  if (exiting_) return;
  exiting_ = true;
  log(seam::LogLevel::info, "NSQ: closing topics");
  std::vector<Client*> live;
  for (auto& [id, c] : clients_) live.push_back(c.get());
  for (Client* c : live) c->force_close("shutdown");
  scanner_->stop();
}

}  // namespace nsq
