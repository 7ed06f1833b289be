#include "testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <stdexcept>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace halo::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The test runner may block signals in its threads; the child must not.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int ExitCodeOf(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

void Drain(int fd, std::string& into) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) into.append(buf, n);
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, absl::Duration timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = Spawn(argv, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
  ProcessResult result;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  bool done = false;
  while (!done) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    poll(fds, 2, 50);
    Drain(out_pipe[0], result.out);
    Drain(err_pipe[0], result.err);
    if (waitpid(pid, &status, WNOHANG) == pid) {
      done = true;
      result.exit_code = ExitCodeOf(status);
    } else if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      done = true;
    }
  }
  Drain(out_pipe[0], result.out);
  Drain(err_pipe[0], result.err);
  close(out_pipe[0]);
  close(err_pipe[0]);
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = Spawn(argv, devnull, err_pipe[1]);
  close(devnull);
  close(err_pipe[1]);
  err_fd_ = err_pipe[0];
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(err_fd_);
}

void ChildProcess::ReadAvailable(absl::Duration wait) {
  pollfd fd = {err_fd_, POLLIN, 0};
  poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(wait)));
  Drain(err_fd_, err_);
}

bool ChildProcess::WaitForStderr(const std::string& text, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    ReadAvailable(absl::Milliseconds(50));
    if (err_.find(text) != std::string::npos) return true;
    int status;
    if (!exited_ && waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = ExitCodeOf(status);
    }
    if (exited_) {
      Drain(err_fd_, err_);
      return err_.find(text) != std::string::npos;
    }
  }
  return false;
}

void ChildProcess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!exited_) {
    ReadAvailable(absl::Milliseconds(50));
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = ExitCodeOf(status);
    } else if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      exited_ = true;
      exit_code_ = -1;
    }
  }
  Drain(err_fd_, err_);
  return exit_code_;
}

namespace {

// Whether 127.0.0.1:`port` can be bound now.
bool Bindable(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return bound;
}

// The lowest port the kernel hands out by itself (to bind(0) and to
// outgoing connections).
int LowestEphemeralPort() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  range >> low;
  return low;
}

}  // namespace

int FreeLoopbackPort() {
  // Below the kernel's ephemeral range, so that no outgoing connection and
  // no other test's bind(0) takes the port between now and the child's
  // bind; the tests that hand ports to children hold one ctest lock, and
  // within a process no port is handed out twice.
  static absl::Mutex mu;
  static auto* handed_out = new absl::flat_hash_set<int>();
  static std::mt19937 random(static_cast<uint32_t>(getpid()) * 2654435761u ^ static_cast<uint32_t>(time(nullptr)));
  const int high = LowestEphemeralPort() - 1;
  constexpr int kLow = 20000;
  absl::MutexLock lock(&mu);
  for (int attempt = 0; high > kLow && attempt < 1000; ++attempt) {
    const int port = kLow + static_cast<int>(random() % static_cast<uint32_t>(high - kLow + 1));
    if (handed_out->contains(port) || !Bindable(port)) continue;
    handed_out->insert(port);
    return port;
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace halo::testing
