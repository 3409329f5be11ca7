// The nsqd binary: options → data-path lock → listeners → engine, all on one io_context.
//
// Threading: the engine is single-threaded by design. One thread runs the io_context, and every socket
// completion, HTTP request, timer and signal is handled on it, so no engine state needs a lock. The only other
// thread is PosixFileSystem's I/O thread, which runs fsyncs (and the atomic nsqd.dat/.meta rewrites) so that a
// slow disk never stalls the loop; it touches no engine state and posts its completions back to the loop.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/http_api.h"
#include "engine/nsqd.h"
#include "io_real/asio_clock.h"
#include "io_real/beast_http_client.h"
#include "io_real/data_dir_lock.h"
#include "io_real/http_server.h"
#include "io_real/options_parser.h"
#include "io_real/posix_file_system.h"
#include "io_real/os_random.h"
#include "io_real/process_info.h"
#include "io_real/spdlog_logger.h"
#include "io_real/tcp_listener.h"
#include "io_real/tls_context.h"
#include "io_real/udp_sender.h"
#include "io_real/tcp_dialer.h"
#include "engine/lookup_peer.h"
#include "engine/statsd.h"

namespace {

namespace asio = boost::asio;
using nsq::seam::LogLevel;

// After a signal, how long connections get to flush (TcpConnection lingers up to 1 s) before we stop anyway.
constexpr auto kShutdownBound = std::chrono::seconds(2);

std::string os_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

// Go's wording, e.g. "listen tcp 127.0.0.1:4150: address already in use" (no Boost source locations).
std::string listen_error(const std::string& address, const std::exception& e) {
  std::string text = e.what();
  if (const auto* system = dynamic_cast<const boost::system::system_error*>(&e)) text = system->code().message();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return "listen tcp " + address + ": " + text;
}

int fatal(nsq::io_real::SpdlogLogger& logger, const std::string& message) {
  logger.log(LogLevel::fatal, message);
  return 1;
}

int run(nsq::Options options) {
  const LogLevel level = nsq::io_real::parse_log_level(options.log_level).value_or(LogLevel::info);
  nsq::io_real::SpdlogLogger logger(options.log_prefix, level);
  logger.log(LogLevel::info, std::string("nsqd v") + nsq::kVersion + " (built w/nsqd-cpp)");
  logger.log(LogLevel::info, "ID: " + std::to_string(options.node_id));

  // An empty data-path means the working directory, as nsqd (Options keeps "" like nsqd's /config does).
  const std::string data_path =
      options.data_path.empty() ? std::filesystem::current_path().string() : options.data_path;
  nsq::io_real::DataDirLock dir_lock;
  if (const std::string error = dir_lock.lock(data_path); !error.empty()) {
    return fatal(logger, "failed to instantiate nsqd - failed to lock data-path: " + error);
  }

  // TLS: the server context IDENTIFY upgrades use, and the HTTPS listener's (nsqd.New builds it first).
  std::string tls_error;
  const std::shared_ptr<asio::ssl::context> tls = nsq::io_real::make_server_tls_context(options, tls_error);
  if (!tls_error.empty()) return fatal(logger, "failed to instantiate nsqd - failed to build TLS config - " + tls_error);

  asio::io_context io(1);  // concurrency hint 1: exactly one thread runs it
  nsq::io_real::AsioClock clock(io);
  nsq::io_real::OsRandom random;

  // Listeners open before the engine starts, as nsqd.New does; a bind failure is fatal.
  std::optional<nsq::io_real::TcpListener> tcp;
  try {
    tcp.emplace(io, options.tcp_address, logger);
    tcp->set_tls_context(tls);
  } catch (const std::exception& e) {
    return fatal(logger, "failed to instantiate nsqd - listen (" + options.tcp_address + ") failed - " +
                             listen_error(options.tcp_address, e));
  }

  // Declared before the engine so it outlives it: its destructor finishes queued syncs and joins the I/O thread.
  nsq::io_real::PosixFileSystem fs(io);
  // An empty data-path stays "" (as /config shows it) and the engine's files are relative to the working dir.
  nsq::io_real::LinuxProcessInfo process_info;
  nsq::io_real::UdpSender udp_sender(io);
  nsq::io_real::TcpDialer dialer(io);
  // lookupd /channels and auth requests; https ones verify against --tls-root-ca-file (else the system's CAs).
  std::optional<nsq::io_real::BeastHttpClient> http_client;
  try {
    http_client.emplace(io, nsq::io_real::HttpClientTls{options.tls_root_ca_file, options.tls_min_version});
  } catch (const std::exception& e) {
    return fatal(logger, std::string("failed to instantiate nsqd - failed to build client TLS config - ") + e.what());
  }
  nsq::NSQD nsqd(options,
                 nsq::Seams{clock, random, logger, &fs, &process_info, &udp_sender, &dialer, &*http_client});
  nsq::StatsdPusher statsd(nsqd);
  nsq::LookupPeers lookup_peers(nsqd);
  // nsqd.dat before serving: topics, channels and paused flags come back; a malformed file is fatal.
  if (const std::string error = nsqd.load_metadata(); !error.empty()) {
    return fatal(logger, "failed to load metadata - " + error);
  }
  // Then nsqd.dat is rewritten before serving, as nsqd's PersistMetadata at start: an unwritable data path
  // (read-only, permissions, full disk) stops start-up here with nsqd's message and exit status 1.
  {
    std::optional<nsq::seam::IoResult> persisted;
    nsqd.persist_metadata_now([&](const nsq::seam::IoResult& r) { persisted = r; });
    while (!persisted && io.run_one() > 0) {
    }
    if (!persisted || !persisted->ok()) {
      return fatal(logger, "failed to persist metadata - " + (persisted ? persisted->message : "not written"));
    }
  }
  nsq::HttpApi api(nsqd);
  std::optional<nsq::io_real::HttpServer> http;
  if (!options.http_address.empty()) {
    try {
      http.emplace(io, options.http_address, api, logger);
    } catch (const std::exception& e) {
      return fatal(logger, "failed to instantiate nsqd - listen (" + options.http_address + ") failed - " +
                               listen_error(options.http_address, e));
    }
  }
  std::optional<nsq::io_real::HttpServer> https;
  if (tls && !options.https_address.empty()) {
    try {
      https.emplace(io, options.https_address, api, logger, tls);
    } catch (const std::exception& e) {
      return fatal(logger, "failed to instantiate nsqd - listen (" + options.https_address + ") failed - " +
                               listen_error(options.https_address, e));
    }
  }
  nsqd.set_ports(tcp->local_port(), http ? http->local_port() : 0);
  nsqd.set_https_port(https ? https->local_port() : 0);

  // Integration tests read the bound ports from these two lines.
  logger.log(LogLevel::info, "TCP: listening on " + tcp->local_address());
  tcp->start([&nsqd](std::unique_ptr<nsq::seam::Connection> conn) { nsqd.accept(std::move(conn)); });
  if (http) {
    logger.log(LogLevel::info, "HTTP: listening on " + http->local_address());
    http->start();
  }
  if (https) {
    logger.log(LogLevel::info, "HTTPS: listening on " + https->local_address());
    https->start();
  }
  statsd.start();  // no-op without --statsd-address
  lookup_peers.start();  // one peer per --lookupd-tcp-address

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    logger.log(LogLevel::info, std::string("received signal ") + (signal == SIGINT ? "interrupt" : "terminated"));
    tcp->close();
    logger.log(LogLevel::info, "TCP: closing " + tcp->local_address());
    nsqd.shutdown();
    statsd.stop();
    lookup_peers.stop();
    if (http) {
      http->close();
      logger.log(LogLevel::info, "HTTP: closing " + http->local_address());
    }
    if (https) {
      https->close();
      logger.log(LogLevel::info, "HTTPS: closing " + https->local_address());
    }
    // Queues go to disk and are synced before we stop the loop; run() returns once that is done.
    nsqd.close([&] {
      logger.log(LogLevel::info, "NSQ: bye");
      io.stop();  // the drain below gives closing connections a bounded time to flush
    });
  });

  io.run();
  if (logger.enabled(LogLevel::debug)) {
    logger.log(LogLevel::debug, "shutdown: " + std::to_string(clock.pending()) + " engine timers still pending");
  }
  io.restart();
  io.run_for(kShutdownBound);  // returns early once nothing is left to do
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  nsq::io_real::ParseOutcome outcome = nsq::io_real::parse_options(args, os_hostname());
  if (!outcome.out.empty()) std::cout << outcome.out << std::flush;
  if (!outcome.err.empty()) std::cerr << outcome.err << std::flush;
  if (!outcome.options) return outcome.exit_code;
  try {
    return run(std::move(*outcome.options));
  } catch (const std::exception& e) {
    std::cerr << "nsqd: fatal: " << e.what() << "\n";
    return 1;
  }
}
