#include "engine/nsqd.h"

#include "engine/backend_queue.h"
#include "engine/client.h"
#include "engine/disk_backend_queue.h"
#include "engine/metadata.h"
#include "engine/names.h"
#include "engine/planted_bugs.h"
#include "engine/queue_scanner.h"
#include "engine/topic.h"

namespace nsq {

NSQD::NSQD(Options options, Seams seams) : opts_(std::move(options)), seams_(seams) {
  scanner_ = std::make_unique<QueueScanner>(*this);
  id_lease_ = std::make_unique<IdLease>(seams_.fs, seams_.clock,
                                        id_lease_file_name(opts_.data_path.empty() ? "." : opts_.data_path),
                                        [this](seam::LogLevel level, const std::string& line) { log(level, line); });
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

void NSQD::end_output_batch() {
  if (--output_batch_ > 0) return;
  now_cache_ = -1;
  wall_cached_ = false;
  for (std::size_t i = 0; i < batch_dirty_.size(); ++i) {
    if (auto it = clients_.find(batch_dirty_[i]); it != clients_.end()) it->second->flush_batched();
  }
  batch_dirty_.clear();
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
  topology_changed();
  log(seam::LogLevel::info, "TOPIC(" + std::string(name) + "): created");
  announce(true, std::string(name));
  if (!ins->second->ephemeral()) persist_metadata();
  // nsqd's GetTopic: a topic created at run time (not from nsqd.dat) first gets the channels nsqlookupd knows.
  if (!loading_) {
    std::vector<std::string> addresses;
    if (lookupd_http_addresses) addresses = lookupd_http_addresses();
    if (!addresses.empty() && seams_.http_client != nullptr) {
      ins->second->precreate_channels(addresses);
    } else if (!opts_.lookupd_tcp_addresses.empty()) {
      log(seam::LogLevel::error,
          "no available nsqlookupd to query for channels to pre-create for topic " + std::string(name));
    }
  }
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
  topology_changed();
  log(seam::LogLevel::info, "TOPIC(" + t->name() + "): deleting");
  announce(false, t->name());  // then each channel's UNREGISTER as it is deleted
  std::vector<std::string> names;
  for (const auto& [n, ch] : t->channels()) names.push_back(n);
  for (const auto& n : names) t->delete_channel(n);
  t->remove_all();
  if (!t->ephemeral()) persist_metadata();
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
  begin_output_batch();  // deliveries to consumers go out when the publish is done
  std::string err;
  for (std::string_view body : bodies) {
    if (err = topic.put(topic.new_message(body, defer_ns)); !err.empty()) break;
  }
  if (err.empty()) err = topic.flush_puts();
  end_output_batch();
  return err;  // answered only once written (to the page cache), as a write-through queue
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

std::unique_ptr<BackendQueue> NSQD::make_backend(const std::string& queue_name, bool ephemeral,
                                                 bool retain_unwritten) {
  if (ephemeral) return std::make_unique<DiscardQueue>();
  if (seams_.fs == nullptr) return std::make_unique<OverflowMemoryQueue>();
  DiskQueueOptions o;
  o.data_path = opts_.data_path.empty() ? "." : opts_.data_path;
  o.max_bytes_per_file = opts_.max_bytes_per_file;
  o.min_msg_size = static_cast<std::int32_t>(kMessageHeaderSize);
  o.max_msg_size = static_cast<std::int32_t>(opts_.max_msg_size + static_cast<std::int64_t>(kMessageHeaderSize));
  o.sync_every = opts_.sync_every;
  o.sync_timeout_ns = opts_.sync_timeout;
  o.batch_writes = true;  // Topic and Channel flush once per event-loop turn, and before a publish is answered
  o.retain_unwritten = retain_unwritten;
  auto q = std::make_unique<DiskQueue>(queue_name, std::move(o), *seams_.fs, seams_.clock, seams_.logger);
  q->set_track_acks(opts_.durable);
  return std::make_unique<DiskBackendQueue>(std::move(q));
}

std::string NSQD::timing_path(const std::string& queue_name) const {
  return timing_file_name(opts_.data_path.empty() ? "." : opts_.data_path, queue_name);
}

TimingMap NSQD::take_timing(const std::string& queue_name) {
  if (seams_.fs == nullptr) return {};
  const std::string path = timing_file_name(opts_.data_path.empty() ? "." : opts_.data_path, queue_name);
  if (!seams_.fs->exists(path)) return {};
  std::string text;
  std::optional<TimingMap> m;
  if (seams_.fs->read_file(path, text).ok()) m = decode_timing(text);
  if (!m) log(seam::LogLevel::error, "ignoring unreadable timing file " + path);
  seams_.fs->remove(path);
  return m ? std::move(*m) : TimingMap{};
}

void NSQD::save_timing(const std::string& queue_name, const TimingMap& timing, std::function<void()> done) {
  if (seams_.fs == nullptr || planted::bugs.close_drops_timing) {
    done();
    return;
  }
  if (timing.empty()) {
    // Nothing to keep; a file left by durable mode's running writes would only hold stale deadlines.
    const std::string path = timing_path(queue_name);
    if (seams_.fs->exists(path)) seams_.fs->remove(path);
    done();
    return;
  }
  const std::string path = timing_file_name(opts_.data_path.empty() ? "." : opts_.data_path, queue_name);
  auto alive = std::weak_ptr<bool>(alive_);
  seams_.fs->write_file_atomic(path, encode_timing(timing), [this, alive, path, done](seam::IoResult r) {
    if (!alive.expired() && !r.ok()) log(seam::LogLevel::error, "failed to write " + path + " - " + r.message);
    done();
  });
}

std::string NSQD::metadata_path() const {
  return (opts_.data_path.empty() ? std::string(".") : opts_.data_path) + "/nsqd.dat";
}

std::string NSQD::load_metadata() {
  if (seams_.fs == nullptr) return {};
  // The ID floor first: topics restored below start their IDs above it.
  if (std::string err = id_lease_->load(); !err.empty()) return err;
  id_lease_->renew_now([](const seam::IoResult&) {});
  const std::string path = metadata_path();
  std::string text;
  if (seams_.fs->exists(path)) {
    if (seam::IoResult r = seams_.fs->read_file(path, text); !r.ok()) {
      return "failed to read metadata from " + path + " - " + r.message;
    }
  }
  if (!text.empty()) {
    std::string err;
    std::optional<Metadata> m = decode_metadata(text, err);
    if (!m) return "failed to parse metadata in " + path + " - " + err;
    // Channels first, then the topic starts: the backlog goes to every restored channel, not the first one.
    loading_ = true;
    std::vector<Topic*> loaded;
    for (const TopicMetadata& tm : m->topics) {
      if (!is_valid_topic_name(tm.name)) {
        log(seam::LogLevel::warn, "skipping creation of invalid topic " + tm.name);
        continue;
      }
      Topic& t = get_topic(tm.name);
      if (tm.paused) t.pause();
      for (const ChannelMetadata& cm : tm.channels) {
        if (!is_valid_channel_name(cm.name)) {
          log(seam::LogLevel::warn, "skipping creation of invalid channel " + cm.name);
          continue;
        }
        Channel& c = t.get_channel(cm.name);
        if (cm.paused) c.pause();
      }
      loaded.push_back(&t);
    }
    loading_ = false;
    for (Topic* t : loaded) t->start();
  }
  persist_metadata();
  return {};
}

void NSQD::persist_metadata() {
  if (seams_.fs == nullptr || loading_ || metadata_write_scheduled_) return;
  metadata_write_scheduled_ = true;
  defer([this] {
    metadata_write_scheduled_ = false;
    write_metadata_now({});
  });
}

void NSQD::persist_metadata_now(std::function<void(const seam::IoResult&)> done) {
  if (seams_.fs == nullptr) {
    done({});
    return;
  }
  // Both nsqd.dat and the ID lease: serving before the lease is on disk could hand out IDs a crash forgets.
  // nsqd.dat's failure is the one reported when both fail (it is nsqd's message).
  struct Results {
    seam::IoResult metadata, lease;
    int remaining = 2;
  };
  auto results = std::make_shared<Results>();
  auto finish = [results, done = std::move(done)] {
    if (--results->remaining == 0) done(results->metadata.ok() ? results->lease : results->metadata);
  };
  id_lease_->renew_now([results, finish](const seam::IoResult& r) {
    results->lease = r;
    finish();
  });
  write_metadata_now([this, results, finish] {
    results->metadata = metadata_result_;
    finish();
  });
}

void NSQD::write_metadata_now(std::function<void()> done) {
  if (done) metadata_waiters_.push_back(std::move(done));
  if (metadata_write_running_) {
    metadata_write_again_ = true;
    return;
  }
  metadata_write_running_ = true;
  metadata_write_again_ = false;
  Metadata m;
  for (const auto& [name, t] : topics_) {
    if (t->ephemeral()) continue;
    TopicMetadata tm{name, t->paused(), {}};
    for (const auto& [cname, ch] : t->channels()) {
      if (!ch->ephemeral()) tm.channels.push_back(ChannelMetadata{cname, ch->paused()});
    }
    m.topics.push_back(std::move(tm));
  }
  std::vector<std::function<void()>> waiters = std::move(metadata_waiters_);
  metadata_waiters_.clear();
  auto alive = std::weak_ptr<bool>(alive_);
  seams_.fs->write_file_atomic(metadata_path(), encode_metadata(m),
                               [this, alive, waiters = std::move(waiters)](seam::IoResult r) {
                                 if (alive.expired()) return;
                                 if (!r.ok()) log(seam::LogLevel::error, "failed to persist metadata - " + r.message);
                                 metadata_result_ = r;
                                 metadata_write_running_ = false;
                                 for (const auto& w : waiters) w();
                                 if (metadata_write_again_) write_metadata_now({});
                               });
}

void NSQD::close(std::function<void()> done) {
  auto remaining = std::make_shared<int>(1);
  auto one_done = [remaining, done = std::move(done)] {
    if (--*remaining == 0 && done) done();
  };
  if (seams_.fs != nullptr) {
    ++*remaining;
    write_metadata_now(one_done);
  }
  for (auto& [name, t] : topics_) {
    ++*remaining;
    t->close(one_done);
  }
  one_done();
}

}  // namespace nsq
