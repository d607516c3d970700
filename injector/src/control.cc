#include "faultline/injector/control.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <string_view>

#include "faultline/core/random.h"
#include "table.h"

namespace faultline::inject {
namespace {

std::int64_t Now(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

core::Error SystemError(const std::string& what) {
  return core::MakeError(what + ": " + std::strerror(errno));
}

core::Result<Table*> Map(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return SystemError("cannot stat " + path);
  if (static_cast<std::size_t>(st.st_size) != sizeof(Table)) {
    return core::MakeError(path + " is not a faultline rule table (or is from another version)");
  }
  void* memory = ::mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) return SystemError("cannot map " + path);
  auto* table = static_cast<Table*>(memory);
  if (!ValidTable(*table)) {
    ::munmap(memory, sizeof(Table));
    return core::MakeError(path + " is not a faultline rule table (or is from another version)");
  }
  return table;
}

// Holds whose thread's process has gone are freed, so they neither show nor take a release.
void ForgetDeadHolders(Table& table) {
  for (HoldSlot& slot : table.holds) {
    if (slot.state.load(std::memory_order_acquire) != HoldSlot::kWaiting) continue;
    if (::kill(static_cast<pid_t>(slot.pid), 0) != 0 && errno == ESRCH) {
      std::uint32_t expected = HoldSlot::kWaiting;
      slot.state.compare_exchange_strong(expected, HoldSlot::kFree);
    }
  }
}

// The owner's claim on its table (see control.h): a write lock over the whole file, held by
// the open file description. Unlike a POSIX record lock, closing another descriptor of the
// file does not drop it; unlike flock(2), it leaves the writers' lock alone. False when it
// is taken (or the file system has no such locks).
bool LockOwner(int fd, bool wait) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

constexpr std::string_view kTablePrefix = "faultline-inject.";

// The creator's pid in a name DefaultPath made (faultline-inject.<pid>.<suffix>), else 0.
pid_t CreatorPid(std::string_view name) {
  if (!name.starts_with(kTablePrefix)) return 0;
  name.remove_prefix(kTablePrefix.size());
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return 0;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, pid);
  if (ec != std::errc() || end != name.data() + dot || pid <= 0) return 0;
  return pid;
}

bool ProcessAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::size_t ControlTable::RemoveStale(const std::string& dir) {
  DIR* entries = ::opendir(dir.empty() ? "." : dir.c_str());
  if (entries == nullptr) return 0;
  const int dir_fd = ::dirfd(entries);
  std::size_t removed = 0;
  while (const dirent* entry = ::readdir(entries)) {
    const pid_t creator = CreatorPid(entry->d_name);
    if (creator == 0) continue;
    // Another user's table does not open (0600), and is not ours to remove anyway.
    const int fd =
        ::openat(dir_fd, entry->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) continue;
    struct stat opened {};
    // A live owner holds the lock. A creator takes it before the file has its size, so a
    // file without one whose lock is free is either being created right now (its creator,
    // named in it, lives) or was left by a creator that died on the way.
    const bool stale =
        ::fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode) && LockOwner(fd, /*wait=*/false) &&
        ::fstat(fd, &opened) == 0 &&
        (static_cast<std::size_t>(opened.st_size) == sizeof(Table) || !ProcessAlive(creator));
    struct stat named {};
    // Still the file that was checked under that name.
    if (stale && ::fstatat(dir_fd, entry->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        named.st_dev == opened.st_dev && named.st_ino == opened.st_ino &&
        ::unlinkat(dir_fd, entry->d_name, 0) == 0) {
      ++removed;
    }
    ::close(fd);
  }
  ::closedir(entries);
  return removed;
}

std::string ControlTable::DefaultPath() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = runtime != nullptr && *runtime != '\0' ? runtime : "/dev/shm";
  if (::access(dir.c_str(), W_OK) != 0) dir = "/tmp";
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx",
                static_cast<unsigned long long>(core::RandomSeed()));
  return dir + "/" + std::string(kTablePrefix) + std::to_string(::getpid()) + "." + suffix;
}

core::Result<ControlTable> ControlTable::Create(const std::string& path, std::uint64_t seed) {
  const auto slash = path.rfind('/');
  RemoveStale(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("cannot create " + path);
  // Before the file has its size: see RemoveStale. A sweeper holds the lock only for a
  // moment, so wait for it. Without such locks (some network file systems) no sweeper can
  // take it either, and the table is simply never swept.
  LockOwner(fd, /*wait=*/true);
  if (::ftruncate(fd, sizeof(Table)) != 0) {
    const core::Error error = SystemError("cannot size " + path);
    ::close(fd);
    ::unlink(path.c_str());
    return error;
  }
  void* memory = ::mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) {
    const core::Error error = SystemError("cannot map " + path);
    ::close(fd);
    ::unlink(path.c_str());
    return error;
  }
  auto* table = static_cast<Table*>(memory);
  InitTable(*table, seed);
  return ControlTable(path, fd, table);
}

core::Result<ControlTable> ControlTable::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return SystemError("cannot open " + path);
  auto table = Map(fd, path);
  if (!table) {
    ::close(fd);
    return table.error();
  }
  return ControlTable(path, fd, *table);
}

core::Result<ControlTable> ControlTable::ForProcess(int pid) {
  const std::string maps = "/proc/" + std::to_string(pid) + "/maps";
  std::ifstream in(maps);
  if (!in) {
    return core::MakeError("no process " + std::to_string(pid) + " (or its " + maps +
                           " is not readable)");
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("/faultline-inject.");
    if (at == std::string::npos) continue;
    const auto start = line.rfind(' ', at);
    std::string path = line.substr(start + 1);
    if (path.ends_with(" (deleted)")) {
      return core::MakeError("process " + std::to_string(pid) +
                             "'s rule table was deleted; its launcher has ended");
    }
    return Open(path);
  }
  return core::MakeError("process " + std::to_string(pid) +
                         " has no faultline rule table: start it with 'faultline inject -- "
                         "CMD' (rules from FAULTLINE_INJECT_RULES alone cannot be changed)");
}

ControlTable::ControlTable(ControlTable&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), table_(other.table_) {
  other.fd_ = -1;
  other.table_ = nullptr;
}

ControlTable& ControlTable::operator=(ControlTable&& other) noexcept {
  if (this != &other) {
    this->~ControlTable();
    new (this) ControlTable(std::move(other));
  }
  return *this;
}

ControlTable::~ControlTable() {
  if (table_ != nullptr) ::munmap(table_, sizeof(Table));
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t ControlTable::seed() const { return table_->seed; }

void ControlTable::Unlink() { ::unlink(path_.c_str()); }

core::Status ControlTable::Locked(const std::function<core::Status()>& change) {
  // One writer at a time, across processes: the seqlock allows only one.
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) return SystemError("cannot lock " + path_);
  }
  core::Status result = change();
  ::flock(fd_, LOCK_UN);
  return result;
}

core::Status ControlTable::Set(std::span<const core::Fault> rules) {
  return Locked([&]() -> core::Status {
    std::set<std::string> taken;
    for (std::uint32_t i = 0; i < table_->rule_count; ++i) taken.insert(table_->rules[i].id);
    for (const core::Fault& rule : rules) {
      if (!rule.id.empty()) taken.insert(rule.id);
    }
    std::vector<SlotRule> compiled;
    int next = 1;
    std::set<std::string> seen;
    for (core::Fault rule : rules) {
      if (rule.id.empty()) {
        while (taken.count("r" + std::to_string(next)) != 0) ++next;
        rule.id = "r" + std::to_string(next);
        taken.insert(rule.id);
      }
      if (!seen.insert(rule.id).second) {
        return core::MakeError("rule id '" + rule.id + "' is given twice");
      }
      auto slot = CompileRule(rule, table_->seed, Now(CLOCK_REALTIME), Now(CLOCK_MONOTONIC));
      if (!slot) return slot.error();
      compiled.push_back(*slot);
    }
    return InstallRules(*table_, compiled.data(), compiled.size());
  });
}

core::Result<std::size_t> ControlTable::Clear(std::span<const std::string> ids) {
  std::size_t removed = 0;
  auto status = Locked([&]() -> core::Status {
    std::vector<const char*> names;
    for (const std::string& id : ids) {
      bool present = false;
      for (std::uint32_t i = 0; i < table_->rule_count; ++i) {
        present = present || id == table_->rules[i].id;
      }
      if (!present) return core::MakeError("no rule '" + id + "'");
      names.push_back(id.c_str());
    }
    removed = RemoveRules(*table_, names.data(), names.size(), Now(CLOCK_MONOTONIC));
    return core::Ok();
  });
  if (!status) return status.error();
  return removed;
}

std::size_t ControlTable::Release(const std::string& hold, bool all) {
  ForgetDeadHolders(*table_);
  return ReleaseHolds(*table_, hold.c_str(), all, Now(CLOCK_MONOTONIC));
}

Status ControlTable::Read() const {
  ForgetDeadHolders(*table_);
  Status status;
  status.seed = table_->seed;
  status.errors = table_->errors.load(std::memory_order_relaxed);
  const std::int64_t now_mono = Now(CLOCK_MONOTONIC);
  const std::int64_t now_real = Now(CLOCK_REALTIME);
  // Writers change rules under the exclusive file lock, so under a shared one the rules
  // hold still: no seqlock retries, and a writer that died mid-change cannot make this spin.
  while (::flock(fd_, LOCK_SH) != 0 && errno == EINTR) {
  }
  const std::uint32_t count = std::min<std::uint32_t>(table_->rule_count, kMaxRules);
  for (std::uint32_t i = 0; i < count; ++i) {
    const SlotRule& rule = table_->rules[i];
    RuleStatus entry;
    entry.id = std::string(rule.id, strnlen(rule.id, sizeof rule.id));
    entry.text = std::string(rule.text, strnlen(rule.text, sizeof rule.text));
    entry.hits = table_->counters[i].hits.load(std::memory_order_relaxed);
    entry.fires = table_->counters[i].fires.load(std::memory_order_relaxed);
    entry.expired = rule.expires_mono_ns != 0 && now_mono >= rule.expires_mono_ns;
    status.rules.push_back(std::move(entry));
  }
  ::flock(fd_, LOCK_UN);
  for (const HoldSlot& slot : table_->holds) {
    if (slot.state.load(std::memory_order_acquire) != HoldSlot::kWaiting) continue;
    HeldThread held;
    held.hold = std::string(slot.name, strnlen(slot.name, sizeof slot.name));
    held.rule = std::string(slot.rule, strnlen(slot.rule, sizeof slot.rule));
    held.pid = static_cast<int>(slot.pid);
    held.tid = static_cast<int>(slot.tid);
    held.order = slot.ticket;
    held.held_seconds = static_cast<double>(now_real - slot.since_ns) / 1e9;
    status.held.push_back(std::move(held));
  }
  std::sort(status.held.begin(), status.held.end(),
            [](const HeldThread& a, const HeldThread& b) { return a.order < b.order; });
  for (int call = 0; call < kCallCount; ++call) {
    for (int outcome = 0; outcome < kOutcomeCount; ++outcome) {
      const std::uint64_t n = table_->outcomes[call][outcome].load(std::memory_order_relaxed);
      if (n == 0) continue;
      status.calls.push_back(CallCount{CallName(static_cast<Call>(call)),
                                       OutcomeName(static_cast<Outcome>(outcome)), n});
    }
  }
  return status;
}

DecisionBatch ControlTable::Decisions(std::uint64_t since, bool settled) const {
  DecisionBatch batch;
  const std::uint64_t next = table_->decisions_next.load(std::memory_order_acquire);
  std::uint64_t n = since;
  if (next > kDecisionRing && n < next - kDecisionRing) {
    batch.lost += next - kDecisionRing - n;  // overwritten before this read
    n = next - kDecisionRing;
  }
  for (; n < next; ++n) {
    DecisionRecord record;
    const ReadOutcome outcome = ReadDecision(*table_, n, record);
    if (outcome == ReadOutcome::kPending && !settled) break;  // its writer is still at it
    if (outcome != ReadOutcome::kRead) {
      ++batch.lost;
      continue;
    }
    ShimDecision decision;
    decision.seq = n;
    decision.mono_ns = record.mono_ns;
    decision.pid = static_cast<int>(record.pid);
    decision.tid = static_cast<int>(record.tid);
    decision.call = CallName(static_cast<Call>(record.call));
    decision.action = OutcomeName(static_cast<Outcome>(record.outcome));
    decision.rule = std::string(record.rule, strnlen(record.rule, sizeof record.rule));
    decision.hold = std::string(record.hold, strnlen(record.hold, sizeof record.hold));
    decision.hit = record.hit;
    decision.value = record.value;
    batch.decisions.push_back(std::move(decision));
  }
  batch.next = n;
  return batch;
}

std::string PrometheusText(const Status& status) {
  prometheus::Registry registry;
  auto& calls = prometheus::BuildCounter()
                    .Name("faultline_inject_calls_total")
                    .Help("Intercepted calls a rule acted on, by call and action")
                    .Register(registry);
  for (const CallCount& count : status.calls) {
    calls.Add({{"call", count.call}, {"action", count.action}})
        .Increment(static_cast<double>(count.count));
  }
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace faultline::inject
