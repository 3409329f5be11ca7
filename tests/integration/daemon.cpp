#include "daemon.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <regex>
#include <stdexcept>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSQD_BINARY
#error "NSQD_BINARY must be defined by the build"
#endif

namespace nsqit {

std::string nsqd_binary() {
  if (const char* env = std::getenv("NSQD_BINARY_OVERRIDE"); env && *env) return env;
  return NSQD_BINARY;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nsqd-it-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // child: die with the test process, own process group, output into the pipe
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    // restore default signal dispositions/mask for the daemon
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(cargv[0], cargv.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  pid_ = pid;
  reader_ = std::thread([this, fd = fds[0]] { reader_loop(fd); });
}

void Process::reader_loop(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lk(mu_);
    out_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lk(mu_);
  eof_ = true;
  cv_.notify_all();
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
  }
  if (reader_.joinable()) reader_.join();
}

std::string Process::output() const {
  std::lock_guard lk(mu_);
  return out_;
}

void Process::signal(int sig) {
  if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

bool Process::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    if (!running()) break;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

std::optional<int> Process::exit_code() const {
  if (!status_) return std::nullopt;
  if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  if (WIFSIGNALED(*status_)) return 128 + WTERMSIG(*status_);
  return -1;
}

RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::string& cwd) {
  RunResult rr;
  std::vector<std::string> args = argv;
  if (!cwd.empty()) {
    // run through env -C so we do not chdir the test process
    args.insert(args.begin(), {"/usr/bin/env", "-C", cwd});
  }
  Process p(args);
  if (!p.wait(timeout)) {
    p.signal(SIGKILL);
    p.wait(std::chrono::milliseconds(5000));
    rr.exit_code = -1;
  } else {
    rr.exit_code = p.exit_code().value_or(-1);
  }
  // let the reader drain what is left
  p.wait_output([](const std::string&) { return false; }, std::chrono::milliseconds(2000));
  rr.output = p.output();
  return rr;
}

Daemon::Daemon(std::vector<std::string> extra_flags) : Daemon(Config{std::move(extra_flags)}) {}

Daemon::Daemon(Config cfg) {
  if (cfg.data_path) {
    data_path_ = *cfg.data_path;
  } else {
    tmp_.emplace();
    data_path_ = tmp_->path().string();
  }
  std::vector<std::string> argv = cfg.wrapper;
  argv.push_back(nsqd_binary());
  argv.push_back("--tcp-address=127.0.0.1:0");
  // (HTTPS needs --tls-cert/--tls-key, so it is never opened here and needs no flag.)
  argv.push_back(cfg.with_http ? "--http-address=127.0.0.1:0" : "--http-address=");
  argv.push_back("--data-path=" + data_path_);
  for (auto& f : cfg.extra_flags) argv.push_back(f);
  proc_ = std::make_unique<Process>(argv);

  static const std::regex tcp_re(R"(TCP: listening on 127\.0\.0\.1:(\d+))");
  static const std::regex http_re(R"(HTTP: listening on 127\.0\.0\.1:(\d+))");
  const bool want_http = cfg.with_http;
  bool ok = proc_->wait_output(
      [&](const std::string& out) {
        return std::regex_search(out, tcp_re) && (!want_http || std::regex_search(out, http_re));
      },
      cfg.start_timeout);
  std::string out = proc_->output();
  if (!ok) {
    proc_->signal(SIGKILL);
    proc_->wait(std::chrono::milliseconds(5000));
    throw std::runtime_error("nsqd (" + nsqd_binary() + ") did not report its listeners within " +
                             std::to_string(cfg.start_timeout.count()) + " ms; output:\n" + out);
  }
  std::smatch m;
  if (std::regex_search(out, m, tcp_re)) tcp_port_ = std::stoi(m[1]);
  if (want_http && std::regex_search(out, m, http_re)) http_port_ = std::stoi(m[1]);
}

int Daemon::stop(int sig, std::chrono::milliseconds timeout) {
  if (stopped_code_) return *stopped_code_;
  if (!proc_) return -1;
  proc_->signal(sig);
  if (!proc_->wait(timeout)) {
    proc_->signal(SIGKILL);
    proc_->wait(std::chrono::milliseconds(5000));
  }
  stopped_code_ = proc_->exit_code().value_or(-1);
  return *stopped_code_;
}

Daemon::~Daemon() {
  try {
    stop();
  } catch (...) {
  }
  proc_.reset();  // joins the reader before the temp dir goes away
}

}  // namespace nsqit
