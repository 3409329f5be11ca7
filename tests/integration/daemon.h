// Test fixture support: runs the real `nsqd` binary as a child process.
//
// Daemon starts NSQD_BINARY with a fresh temporary --data-path, TCP and HTTP on 127.0.0.1:0 and the given
// extra flags, reads its combined stdout/stderr on a background thread, learns the listening ports from the
// `TCP: listening on 127.0.0.1:PORT` / `HTTP: listening on 127.0.0.1:PORT` log lines (with a timeout), and
// stops it in the destructor (SIGTERM, wait, SIGKILL fallback). The child also gets PR_SET_PDEATHSIG so
// that a crashed test process never leaves a daemon behind.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace nsqit {

// Path of the nsqd binary under test (compile definition NSQD_BINARY).
std::string nsqd_binary();

// A private temporary directory, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process with its stdout and stderr merged into one pipe that a background thread drains.
class Process {
 public:
  // argv[0] is the program path. Throws std::runtime_error if it cannot be started.
  explicit Process(const std::vector<std::string>& argv);
  ~Process();  // SIGKILLs the child if it is still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Everything the child wrote so far.
  std::string output() const;
  // Waits until `pred(output)` is true or the timeout expires; returns whether it became true.
  template <class Pred>
  bool wait_output(Pred pred, std::chrono::milliseconds timeout) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return pred(out_) || eof_; }) && pred(out_);
  }
  // Sends a signal (no-op if already reaped).
  void signal(int sig);
  // Waits for exit; returns the raw wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Exit code if exited normally, 128+sig if killed by a signal, -1 if still running/unknown.
  std::optional<int> exit_code() const;

 private:
  void reader_loop(int fd);

  pid_t pid_ = -1;
  std::optional<int> status_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string out_;
  bool eof_ = false;
  std::thread reader_;
};

// Runs a command to completion (with a timeout, then SIGKILL). Returns exit code (128+sig if signalled,
// -1 on timeout) and the combined output.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::string& cwd = "");

class Daemon {
 public:
  struct Config {
    std::vector<std::string> extra_flags;
    bool with_http = true;                 // pass --http-address=127.0.0.1:0 and wait for its log line
    std::optional<std::string> data_path;  // default: a fresh temp dir owned by the Daemon
    std::chrono::milliseconds start_timeout{15000};
    // Runs nsqd through this command prefix (e.g. {"setpriv", "--reuid=65534", ...}); empty = directly.
    std::vector<std::string> wrapper;
  };

  // Starts nsqd and waits for its listen lines. Throws std::runtime_error (with the daemon's output) on
  // failure or timeout.
  explicit Daemon(Config cfg);
  explicit Daemon(std::vector<std::string> extra_flags = {});
  ~Daemon();  // stop()
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int tcp_port() const { return tcp_port_; }
  int http_port() const { return http_port_; }
  const std::string& data_path() const { return data_path_; }
  std::string output() const { return proc_ ? proc_->output() : std::string(); }
  Process& process() { return *proc_; }

  // Sends `sig`, waits up to `timeout` for exit, SIGKILLs after that. Returns the exit code (128+sig if
  // killed by a signal). Idempotent: later calls return the first result.
  int stop(int sig = 15 /*SIGTERM*/, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

 private:
  std::optional<TempDir> tmp_;
  std::string data_path_;
  std::unique_ptr<Process> proc_;
  int tcp_port_ = -1;
  int http_port_ = -1;
  std::optional<int> stopped_code_;
};

}  // namespace nsqit
