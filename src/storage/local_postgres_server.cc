#include "halo/storage/local_postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/storage/postgres_database.h"

namespace halo::storage {
namespace {

constexpr int kPort = 5432;  // only names the socket file in the private directory
constexpr absl::string_view kSuperuser = "halo";

struct Account {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  return text;
}

// Starts `argv` with its output in `log`, as `account`, killed with SIGINT
// (PostgreSQL's fast shutdown) if the thread that started it ends.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log, const Account& account) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot create ", log));
  if (account.switch_user && fchown(log_fd, account.uid, account.gid) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("cannot hand ", log, " to the postgres user"));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (account.switch_user) {
      if (setgroups(0, nullptr) != 0 || setgid(account.gid) != 0 || setuid(account.uid) != 0) _exit(126);
    }
    // After setuid, which clears it.
    prctl(PR_SET_PDEATHSIG, SIGINT);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

absl::Status RunToEnd(const std::vector<std::string>& argv, const std::string& log, const Account& account) {
  ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log, account));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " failed; its output:\n", LogTail(log)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> LocalPostgresServer::FindBinaries() {
  auto usable = [](const std::filesystem::path& bin) {
    return access((bin / "initdb").c_str(), X_OK) == 0 && access((bin / "postgres").c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv("HALO_POSTGRES_BIN"); env != nullptr && *env != '\0') {
    if (!usable(env)) {
      return absl::NotFoundError(absl::StrCat("HALO_POSTGRES_BIN=", env, " holds no initdb and postgres"));
    }
    return std::string(env);
  }
  std::error_code error;
  int best_version = -1;
  std::string best;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    int version;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &version)) continue;
    if (version > best_version && usable(entry.path() / "bin")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) {
    return absl::NotFoundError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); scripts/setup installs postgresql-15");
  }
  return best;
}

absl::StatusOr<std::unique_ptr<LocalPostgresServer>> LocalPostgresServer::Start(Options options) {
  ASSIGN_OR_RETURN(std::string bin, FindBinaries());
  Account account;
  if (geteuid() == 0) {
    const passwd* postgres = getpwnam("postgres");
    if (postgres == nullptr) {
      return absl::FailedPreconditionError(
          "PostgreSQL refuses to run as root, and there is no postgres user to run it as "
          "(Debian's postgresql package creates one)");
    }
    account = {.switch_user = true, .uid = postgres->pw_uid, .gid = postgres->pw_gid};
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/halo-postgres-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError(absl::StrCat("cannot create ", pattern));
  std::unique_ptr<LocalPostgresServer> server(new LocalPostgresServer(pattern, std::string(kSuperuser)));
  if (account.switch_user && chown(pattern.c_str(), account.uid, account.gid) != 0) {
    return absl::InternalError(absl::StrCat("cannot hand ", pattern, " to the postgres user"));
  }
  const std::string data = pattern + "/data";
  RETURN_IF_ERROR(RunToEnd({bin + "/initdb", "-D", data, "-U", std::string(kSuperuser), "--auth=trust",
                            "--encoding=UTF8", "--locale=C", "--no-sync"},
                           pattern + "/initdb.log", account));
  server->switch_user_ = account.switch_user;
  server->uid_ = account.uid;
  server->gid_ = account.gid;
  std::vector<std::string>& argv = server->argv_;
  argv = {bin + "/postgres",
                                   "-D",
                                   data,
                                   "-k",
                                   pattern,
                                   "-p",
                                   absl::StrCat(kPort),
                                   "-c",
                                   "listen_addresses=",
                                   "-c",
                                   absl::StrCat("max_connections=", options.max_connections)};
  if (!options.durable) {
    for (const char* setting : {"fsync=off", "full_page_writes=off", "synchronous_commit=off"}) {
      argv.push_back("-c");
      argv.push_back(setting);
    }
  }
  RETURN_IF_ERROR(server->Run());
  return server;
}

absl::Status LocalPostgresServer::Run() {
  const std::string log = directory_ + "/postgres.log";
  ASSIGN_OR_RETURN(pid_, Spawn(argv_, log, Account{.switch_user = switch_user_, .uid = uid_, .gid = gid_}));
  const std::string conninfo = Conninfo("postgres");
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("postgres exited at start; its log:\n", LogTail(log)));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("postgres did not answer within 60 s; its log:\n", LogTail(log)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

void LocalPostgresServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int status;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
}

absl::Status LocalPostgresServer::Restart() {
  Stop();
  return Run();
}

LocalPostgresServer::~LocalPostgresServer() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string LocalPostgresServer::Conninfo(const std::string& database) const {
  return absl::StrCat("host=", directory_, " port=", kPort, " user=", user_, " dbname=", database);
}

absl::StatusOr<config::DatabaseConfig> LocalPostgresServer::NewDatabase(const std::string& name,
                                                                       const std::string& conninfo_file) {
  RETURN_IF_ERROR(CreateDatabase(name));
  RETURN_IF_ERROR(WriteFileAtomically(conninfo_file, Conninfo(name) + "\n", 0600));
  config::DatabaseConfig database;
  database.mutable_postgresql()->set_conninfo_file(conninfo_file);
  return database;
}

absl::Status LocalPostgresServer::CreateDatabase(const std::string& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresDatabase> admin,
                   PostgresDatabase::Open({.conninfo = Conninfo("postgres"), .connections = 1}));
  // Names come from halo's own code and tests: letters, digits, underscores.
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat("bad database name \"", name, "\""));
    }
  }
  return admin->Execute(absl::StrCat("CREATE DATABASE ", name));
}

}  // namespace halo::storage
