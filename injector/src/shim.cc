// libfaultline_inject.so: interposes libc calls (LD_PRELOAD) and applies the rules of a shared
// table to them.
//
// The fast path, taken whenever no rule names the call, is one relaxed load of the table's
// `armed` mask: no lock, no system call, no allocation, nothing that is not async-signal-safe.
// Only a call some rule names takes the slow path, which copies those rules under the
// table's seqlock, checks their filters, and acts: sleep, fail with an errno, shorten the
// transfer, park the thread until released, or skew the clock it read.
//
// Safety, from libfiu's and libfaketime's lessons:
//  - a per-thread guard: whatever the slow path calls runs unhooked;
//  - real functions are found with dlsym(RTLD_NEXT) in a constructor (or lazily, for calls
//    made before it runs); the shim does not wrap malloc, so dlsym cannot recurse into it;
//  - errno is saved on entry and restored before the real call; an injected failure sets
//    it last;
//  - anything that goes wrong inside the shim passes the call through and is counted;
//    nothing throws out of here and nothing aborts the host;
//  - exec and posix_spawn carry LD_PRELOAD and the table over even when the caller passes
//    an environment without them; fork shares the table (it is a shared mapping).

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "faultline/core/distribution.h"
#include "faultline/core/fault.h"
#include "faultline/core/random.h"
#include "table.h"

#define FL_EXPORT extern "C" __attribute__((visibility("default")))

namespace faultline::inject {
namespace {

// ---------------------------------------------------------------------------------------
// State

Table* g_table = nullptr;
// Initial-exec TLS: reading it never allocates (a preloaded library's TLS is static).
__thread int t_busy __attribute__((tls_model("initial-exec"))) = 0;

// What exec must carry over: "LD_PRELOAD=..." entries and the table or rules variable.
char* g_preload_entry = nullptr;  // "LD_PRELOAD=<this library>"
char* g_table_entry = nullptr;    // "FAULTLINE_INJECT_TABLE=..." or "FAULTLINE_INJECT_RULES=..."
char* g_seed_entry = nullptr;     // "FAULTLINE_INJECT_SEED=..." with env rules

struct Busy {
  Busy() { ++t_busy; }
  ~Busy() { --t_busy; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
};

void* Resolve(const char* name) { return ::dlsym(RTLD_NEXT, name); }

// The real function behind each wrapper, found once.
#define FL_REAL(name)                                           \
  ([]() {                                                       \
    static decltype(&::name) real = nullptr;                    \
    auto fn = __atomic_load_n(&real, __ATOMIC_RELAXED);         \
    if (__builtin_expect(fn == nullptr, 0)) {                   \
      fn = reinterpret_cast<decltype(&::name)>(Resolve(#name)); \
      __atomic_store_n(&real, fn, __ATOMIC_RELAXED);            \
    }                                                           \
    return fn;                                                  \
  }())

// For symbols the headers do not declare (fortify variants, *64 aliases on this ABI).
template <typename Fn>
Fn RealNamed(Fn* slot, const char* name) {
  Fn fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
  if (__builtin_expect(fn == nullptr, 0)) {
    fn = reinterpret_cast<Fn>(Resolve(name));
    __atomic_store_n(slot, fn, __ATOMIC_RELAXED);
  }
  return fn;
}

inline bool Armed(Call call) {
  const Table* table = __atomic_load_n(&g_table, __ATOMIC_RELAXED);
  return table != nullptr && ((table->armed.load(std::memory_order_relaxed) >> call) & 1) != 0 &&
         t_busy == 0;
}

constexpr std::int64_t ToNanoseconds(const timespec& ts) {
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

constexpr timespec ToTimespec(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000LL), static_cast<long>(ns % 1'000'000'000LL)};
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000L;
    --ts.tv_sec;
  }
  return ts;
}

std::int64_t Now(clockid_t clock) {
  timespec ts{};
  ::syscall(SYS_clock_gettime, clock, &ts);
  return ToNanoseconds(ts);
}

// vDSO-speed clock reads for the slow path, through the real function.
std::int64_t ReadClock(clockid_t clock) {
  timespec ts{};
  auto real = FL_REAL(clock_gettime);
  if (real == nullptr || real(clock, &ts) != 0) return Now(clock);
  return ToNanoseconds(ts);
}

void SleepUntil(std::int64_t deadline_mono_ns) {
  const timespec ts = ToTimespec(deadline_mono_ns);
  while (::syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0 &&
         errno == EINTR) {
  }
}

void Count(Call call, Outcome outcome) {
  g_table->outcomes[call][outcome].fetch_add(1, std::memory_order_relaxed);
}

// Logs what a rule did to this call in the table's decision ring, for the runner.
void Record(const SlotRule& rule, Call call, Outcome outcome, std::uint64_t hit,
            std::int64_t value) {
  DecisionRecord record;
  record.mono_ns = ReadClock(CLOCK_MONOTONIC);
  record.pid = static_cast<std::uint32_t>(::syscall(SYS_getpid));
  record.tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  record.hit = hit;
  record.value = value;
  record.call = call;
  record.outcome = outcome;
  std::memcpy(record.rule, rule.id, sizeof record.rule);
  std::memcpy(record.hold, rule.hold, sizeof record.hold);
  RecordDecision(*g_table, record);
}

// ---------------------------------------------------------------------------------------
// Matching

struct CallInfo {
  Call call;
  int fd = -1;
  const char* path = nullptr;
  const char* path2 = nullptr;  // rename's new name
  const sockaddr* peer = nullptr;
  socklen_t peer_length = 0;
  clockid_t clock = CLOCK_REALTIME;
  const char* point = nullptr;
};

// What the wrapper does after the slow path: the call goes on (possibly shortened or with
// its clock reading skewed) or fails.
struct Verdict {
  bool fail = false;
  int error = 0;
  std::uint64_t limit = UINT64_MAX;
  bool skew = false;
  std::int64_t skew_offset_ns = 0;
  double skew_rate = 1.0;
  std::int64_t skew_pivot_ns = 0;
};

// Facts about the call looked up only when a rule asks, at most once per call.
class Facts {
 public:
  explicit Facts(const CallInfo& info) : info_(info) {}

  core::FdKind fd_kind() {
    if (!fd_kind_known_) {
      fd_kind_known_ = true;
      struct stat st {};
      if (info_.fd >= 0 && ::syscall(SYS_fstat, info_.fd, &st) == 0) {
        if (S_ISSOCK(st.st_mode)) {
          fd_kind_ = core::FdKind::kSocket;
        } else if (S_ISFIFO(st.st_mode)) {
          fd_kind_ = core::FdKind::kPipe;
        } else {
          fd_kind_ = core::FdKind::kFile;
        }
      }
    }
    return fd_kind_;
  }

  // The path the call names, or the file its descriptor refers to.
  const char* fd_path() {
    if (!fd_path_known_) {
      fd_path_known_ = true;
      if (info_.fd >= 0) {
        char link[32];
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", info_.fd);
        const long n = ::syscall(SYS_readlinkat, AT_FDCWD, link, fd_path_, sizeof fd_path_ - 1);
        if (n > 0) {
          fd_path_[n] = '\0';
        } else {
          fd_path_[0] = '\0';
        }
      }
    }
    return fd_path_;
  }

  // The peer's address: the call's own (connect, sendto) or the connected socket's.
  const sockaddr_storage* peer() {
    if (!peer_known_) {
      peer_known_ = true;
      if (info_.peer != nullptr && info_.peer_length > 0) {
        std::memcpy(&peer_, info_.peer, std::min<std::size_t>(info_.peer_length, sizeof peer_));
        has_peer_ = true;
      } else if (info_.fd >= 0) {
        socklen_t length = sizeof peer_;
        has_peer_ = ::getpeername(info_.fd, reinterpret_cast<sockaddr*>(&peer_), &length) == 0;
      }
    }
    return has_peer_ ? &peer_ : nullptr;
  }

  const char* thread_name() {
    if (!thread_known_) {
      thread_known_ = true;
      if (::prctl(PR_GET_NAME, thread_, 0, 0, 0) != 0) thread_[0] = '\0';
    }
    return thread_;
  }

 private:
  const CallInfo& info_;
  bool fd_kind_known_ = false;
  core::FdKind fd_kind_ = core::FdKind::kAny;
  bool fd_path_known_ = false;
  char fd_path_[512];
  bool peer_known_ = false;
  bool has_peer_ = false;
  sockaddr_storage peer_{};
  bool thread_known_ = false;
  char thread_[17] = {};
};

bool IsRealtime(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}
bool IsMonotonic(clockid_t clock) {
  return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW ||
         clock == CLOCK_MONOTONIC_COARSE || clock == CLOCK_BOOTTIME;
}

bool PeerMatches(const SlotRule& rule, const sockaddr_storage& peer) {
  std::uint16_t port = 0;
  const void* address = nullptr;
  std::size_t address_size = 0;
  int family = peer.ss_family;
  if (family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    port = ntohs(in.sin_port);
    address = &in.sin_addr;
    address_size = 4;
  } else if (family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    port = ntohs(in6.sin6_port);
    address = &in6.sin6_addr;
    address_size = 16;
    // An IPv4 rule also matches the same peer seen through a v4-mapped v6 socket.
    if (rule.peer_family == AF_INET && IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      family = AF_INET;
      address = reinterpret_cast<const std::uint8_t*>(&in6.sin6_addr) + 12;
      address_size = 4;
    }
  } else {
    return false;
  }
  if (rule.peer_port != 0 && rule.peer_port != port) return false;
  if (rule.peer_family == 0) return true;
  return rule.peer_family == family && std::memcmp(rule.peer_address, address, address_size) == 0;
}

bool Matches(const SlotRule& rule, const CallInfo& info, Facts& facts) {
  if (info.call == kPoint && std::strcmp(rule.point, info.point) != 0) return false;
  if (info.call == kClockGettime || info.call == kGettimeofday || info.call == kTime) {
    const auto wanted = static_cast<core::ClockKind>(rule.clock);
    const bool realtime = IsRealtime(info.clock);
    const bool monotonic = IsMonotonic(info.clock);
    if (wanted == core::ClockKind::kRealtime && !realtime) return false;
    if (wanted == core::ClockKind::kMonotonic && !monotonic) return false;
    if (wanted == core::ClockKind::kAll && !realtime && !monotonic) return false;
  }
  if (rule.fd_kind != static_cast<std::uint8_t>(core::FdKind::kAny) &&
      static_cast<std::uint8_t>(facts.fd_kind()) != rule.fd_kind) {
    return false;
  }
  if (rule.path[0] != '\0') {
    const bool named = (info.path != nullptr && core::GlobMatch(rule.path, info.path)) ||
                       (info.path2 != nullptr && core::GlobMatch(rule.path, info.path2));
    if (!named && (info.path != nullptr || !core::GlobMatch(rule.path, facts.fd_path()))) {
      return false;
    }
  }
  if (rule.peer_family != 0 || rule.peer_port != 0) {
    const sockaddr_storage* peer = facts.peer();
    if (peer == nullptr || !PeerMatches(rule, *peer)) return false;
  }
  if (rule.thread[0] != '\0' && !core::GlobMatch(rule.thread, facts.thread_name())) {
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Actions

core::Duration SampleDelay(const SlotRule& rule, std::uint64_t hit) {
  core::Rng rng(core::Mix64(rule.stream ^ core::Mix64(hit)));
  const core::Duration a(rule.dist_a_ns);
  const core::Duration b(rule.dist_b_ns);
  switch (static_cast<core::Distribution::Kind>(rule.dist_kind)) {
    case core::Distribution::Kind::kUniform:
      if (auto uniform = core::Distribution::Uniform(a, b)) return uniform->Sample(rng);
      return a;
    case core::Distribution::Kind::kNormal:
      return core::Distribution::Normal(a, b).Sample(rng);
    case core::Distribution::Kind::kConstant:
      break;
  }
  return a;
}

// Parks the thread until released or timed out; false if no slot was free.
bool Park(const SlotRule& rule, Call call, std::uint64_t hit) {
  HoldSlot* slot = nullptr;
  for (HoldSlot& candidate : g_table->holds) {
    std::uint32_t expected = HoldSlot::kFree;
    if (candidate.state.compare_exchange_strong(expected, HoldSlot::kClaimed,
                                                std::memory_order_acquire)) {
      slot = &candidate;
      break;
    }
  }
  if (slot == nullptr) return false;
  slot->pid = static_cast<std::uint32_t>(::syscall(SYS_getpid));
  slot->tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  slot->ticket = g_table->next_ticket.fetch_add(1, std::memory_order_relaxed);
  slot->since_ns = ReadClock(CLOCK_REALTIME);
  slot->call = call;
  std::memcpy(slot->name, rule.hold, sizeof slot->name);
  std::memcpy(slot->rule, rule.id, sizeof slot->rule);
  const auto ticket = static_cast<std::int64_t>(slot->ticket);
  Record(rule, call, kHeld, hit, ticket);
  slot->state.store(HoldSlot::kWaiting, std::memory_order_release);

  const std::int64_t deadline = ReadClock(CLOCK_MONOTONIC) + rule.timeout_ns;
  while (slot->state.load(std::memory_order_acquire) == HoldSlot::kWaiting) {
    const std::int64_t left = deadline - ReadClock(CLOCK_MONOTONIC);
    if (left <= 0) break;
    const timespec wait = ToTimespec(left);
    // Shared futex: the releasing CLI is another process mapping the same table.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&slot->state), FUTEX_WAIT,
              HoldSlot::kWaiting, &wait, nullptr, 0);
  }
  std::uint32_t expected = HoldSlot::kWaiting;
  if (slot->state.compare_exchange_strong(expected, HoldSlot::kFree, std::memory_order_acq_rel)) {
    Record(rule, call, kTimedOut, hit, ticket);
  } else {
    slot->state.store(HoldSlot::kFree, std::memory_order_release);  // it was released
  }
  return true;
}

constexpr std::size_t kMaxRulesPerCall = 8;

// The slow path: copies the call's rules under the seqlock, finds the first that matches and
// fires, and acts. Runs with the guard held, so nothing in here is intercepted.
Verdict Decide(const CallInfo& info) {
  Verdict verdict;
  Table* table = g_table;
  SlotRule rules[kMaxRulesPerCall];
  std::uint32_t slots[kMaxRulesPerCall];
  std::size_t count = 0;
  for (int attempt = 0;; ++attempt) {
    const std::uint32_t before = table->seq.load(std::memory_order_acquire);
    if ((before & 1) != 0) {
      if (attempt > 1000) return verdict;  // a writer died mid-write: pass through
      ::syscall(SYS_sched_yield);
      continue;
    }
    count = 0;
    const std::uint32_t total = std::min<std::uint32_t>(table->rule_count, kMaxRules);
    for (std::uint32_t i = 0; i < total && count < kMaxRulesPerCall; ++i) {
      if (((table->rules[i].calls >> info.call) & 1) == 0) continue;
      std::memcpy(&rules[count], &table->rules[i], sizeof(SlotRule));
      slots[count++] = i;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (table->seq.load(std::memory_order_relaxed) == before) break;
  }

  Facts facts(info);
  std::int64_t now_mono = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const SlotRule& rule = rules[i];
    if (rule.expires_mono_ns != 0) {
      if (now_mono == 0) now_mono = ReadClock(CLOCK_MONOTONIC);
      if (now_mono >= rule.expires_mono_ns) continue;  // its lease ran out
    }
    if (!Matches(rule, info, facts)) continue;
    RuleCounters& counters = table->counters[slots[i]];
    const std::uint64_t hit = counters.hits.fetch_add(1, std::memory_order_relaxed) + 1;
    if (hit <= rule.after) continue;
    if (rule.ppm < core::Probability::kMillion &&
        core::Mix64(rule.stream ^ core::Mix64(hit ^ 0x5bd1e995)) % core::Probability::kMillion >=
            rule.ppm) {
      continue;
    }
    std::uint64_t fired = counters.fires.load(std::memory_order_relaxed);
    bool spent = false;
    do {
      spent = rule.times != 0 && fired >= rule.times;
    } while (!spent &&
             !counters.fires.compare_exchange_weak(fired, fired + 1, std::memory_order_relaxed));
    if (spent) continue;

    switch (static_cast<core::CallAction>(rule.action)) {
      case core::CallAction::kDelay: {
        const std::int64_t delay = SampleDelay(rule, hit).count();
        Record(rule, info.call, kDelayed, hit, delay);
        SleepUntil(ReadClock(CLOCK_MONOTONIC) + delay);
        Count(info.call, kDelayed);
        break;
      }
      case core::CallAction::kFail:
        verdict.fail = true;
        verdict.error = rule.error;
        Record(rule, info.call, kFailed, hit, rule.error);
        Count(info.call, kFailed);
        break;
      case core::CallAction::kShort:
        verdict.limit = rule.short_bytes;
        Record(rule, info.call, kShortened, hit, static_cast<std::int64_t>(rule.short_bytes));
        Count(info.call, kShortened);
        break;
      case core::CallAction::kHold:
        if (Park(rule, info.call, hit)) {
          Count(info.call, kHeld);
        } else {
          Count(info.call, kError);
          table->errors.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      case core::CallAction::kSkew:
        verdict.skew = true;
        verdict.skew_offset_ns = rule.skew_offset_ns;
        verdict.skew_rate = rule.skew_rate;
        verdict.skew_pivot_ns =
            IsMonotonic(info.clock) ? rule.skew_since_mono_ns : rule.skew_since_ns;
        // A skew is a state the clock is in, not a choice made per read: its first read is
        // the decision, and clock reads stay as cheap as the skew arithmetic.
        if (fired == 0) Record(rule, info.call, kSkewed, hit, rule.skew_offset_ns);
        Count(info.call, kSkewed);
        break;
    }
    return verdict;  // one action per call: the first rule that fires
  }
  return verdict;
}

// Runs the slow path with errno kept as the caller left it.
Verdict Slow(const CallInfo& info) {
  const int saved = errno;
  Verdict verdict;
  {
    Busy busy;
    verdict = Decide(info);
  }
  errno = saved;
  return verdict;
}

// The slow path for a call whose only fact is its descriptor.
Verdict SlowOnFd(Call call, int fd) {
  CallInfo info{call};
  info.fd = fd;
  return Slow(info);
}

template <typename T>
T Failed(const Verdict& verdict, T value = static_cast<T>(-1)) {
  errno = verdict.error;
  return value;
}

constexpr std::size_t Limit(std::size_t count, const Verdict& verdict) {
  return static_cast<std::size_t>(std::min<std::uint64_t>(count, verdict.limit));
}

// What the program reads at real time t under the verdict's skew...
std::int64_t Skewed(std::int64_t t, const Verdict& verdict) {
  if (verdict.skew_rate == 1.0) return t + verdict.skew_offset_ns;
  const double elapsed = static_cast<double>(t - verdict.skew_pivot_ns);
  return verdict.skew_pivot_ns + verdict.skew_offset_ns +
         static_cast<std::int64_t>(elapsed * verdict.skew_rate);
}

// ...and the real time at which it reads t (the rate is positive: the grammar insists).
std::int64_t Unskewed(std::int64_t t, const Verdict& verdict) {
  if (verdict.skew_rate == 1.0) return t - verdict.skew_offset_ns;
  const double elapsed = static_cast<double>(t - verdict.skew_pivot_ns - verdict.skew_offset_ns);
  return verdict.skew_pivot_ns + static_cast<std::int64_t>(elapsed / verdict.skew_rate);
}

// A copy of an iovec array holding at most `limit` bytes; returns its length.
int LimitIov(const iovec* iov, int count, std::uint64_t limit, iovec* out, int capacity) {
  int n = 0;
  for (int i = 0; i < count && n < capacity && limit > 0; ++i) {
    out[n] = iov[i];
    out[n].iov_len = std::min<std::uint64_t>(out[n].iov_len, limit);
    limit -= out[n].iov_len;
    ++n;
  }
  return n;
}
constexpr int kIovCopy = 64;

// readv and writev after the fast path: failed, or with at most the rule's bytes.
template <typename Real>
ssize_t VectorCall(Call call, Real real, int fd, const iovec* iov, int count) {
  const Verdict v = SlowOnFd(call, fd);
  if (v.fail) return Failed<ssize_t>(v);
  if (v.limit == UINT64_MAX || iov == nullptr || count <= 0) return real(fd, iov, count);
  iovec shorter[kIovCopy];
  return real(fd, shorter, LimitIov(iov, count, v.limit, shorter, kIovCopy));
}

// A copy of a message header whose buffers (copied into `iov`) hold at most `limit` bytes.
msghdr Shortened(const msghdr& message, std::uint64_t limit, iovec (&iov)[kIovCopy]) {
  msghdr shorter = message;
  shorter.msg_iov = iov;
  shorter.msg_iovlen = static_cast<std::size_t>(
      LimitIov(message.msg_iov, static_cast<int>(message.msg_iovlen), limit, iov, kIovCopy));
  return shorter;
}

// ---------------------------------------------------------------------------------------
// Exec and spawn: the environment carries the shim over.

bool HasEntry(char* const* envp, const char* entry) {
  const char* equals = std::strchr(entry, '=');
  const std::size_t key = static_cast<std::size_t>(equals - entry) + 1;
  for (char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, entry, key) == 0) {
      // LD_PRELOAD must name this library; the others only need to be present.
      return std::strncmp(entry, "LD_PRELOAD=", 11) != 0 || std::strstr(*e, entry + 11) != nullptr;
    }
  }
  return false;
}

// Fills `out` (capacity: the entries of envp plus 4) with envp, plus what is missing.
char** CarryEnvironment(char* const* envp, char** out, char* preload_buffer,
                        std::size_t preload_size) {
  std::size_t n = 0;
  const bool preload_ok = g_preload_entry == nullptr || HasEntry(envp, g_preload_entry);
  for (char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    if (!preload_ok && std::strncmp(*e, "LD_PRELOAD=", 11) == 0) {
      // Keep what the caller preloads, after this library.
      std::snprintf(preload_buffer, preload_size, "%s:%s", g_preload_entry, *e + 11);
      out[n++] = preload_buffer;
      continue;
    }
    out[n++] = *e;
  }
  if (!preload_ok && (preload_buffer[0] == '\0')) out[n++] = g_preload_entry;
  if (g_table_entry != nullptr && !HasEntry(envp, g_table_entry)) out[n++] = g_table_entry;
  if (g_seed_entry != nullptr && !HasEntry(envp, g_seed_entry)) out[n++] = g_seed_entry;
  out[n] = nullptr;
  return out;
}

std::size_t CountEntries(char* const* envp) {
  std::size_t n = 0;
  while (envp != nullptr && envp[n] != nullptr) ++n;
  return n;
}

// Calls an exec or spawn function with `envp` carrying the shim over: its other arguments
// first, the environment last. The copy lives on this frame (alloca: exec may follow a
// vfork, where the heap is not ours to use), so the call is made from here.
template <typename Real, typename... Before>
int CallWithCarriedEnv(Real real, char* const* envp, Before... before) {
  if (g_table_entry == nullptr && g_preload_entry == nullptr) return real(before..., envp);
  const std::size_t count = CountEntries(envp) + 4;
  char** array = static_cast<char**>(alloca(count * sizeof(char*)));
  const std::size_t preload_size =
      (g_preload_entry != nullptr ? std::strlen(g_preload_entry) : 0) + PATH_MAX * 4;
  char* preload = static_cast<char*>(alloca(preload_size));
  preload[0] = '\0';
  return real(before..., CarryEnvironment(envp, array, preload, preload_size));
}

// ---------------------------------------------------------------------------------------
// Start-up

void Complain(const char* message) {
  const std::size_t n = std::strlen(message);
  (void)!::syscall(SYS_write, 2, message, n);
}

char* Duplicate(const char* a, const char* b = "") {
  const std::size_t la = std::strlen(a), lb = std::strlen(b);
  char* out = static_cast<char*>(std::malloc(la + lb + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, a, la);
  std::memcpy(out + la, b, lb + 1);
  return out;
}

Table* MapTableFile(const char* path) {
  const int fd = static_cast<int>(::syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC));
  if (fd < 0) return nullptr;
  void* memory = ::mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::syscall(SYS_close, fd);
  if (memory == MAP_FAILED) return nullptr;
  auto* table = static_cast<Table*>(memory);
  if (!ValidTable(*table)) {
    ::munmap(memory, sizeof(Table));
    return nullptr;
  }
  return table;
}

// Rules straight from the environment: a table of this process tree's own, which forked
// children share; exec'd programs parse the same variable again.
Table* TableFromRules(const char* text, const char* seed_text) {
  void* memory =
      ::mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  auto* table = static_cast<Table*>(memory);
  std::uint64_t seed = seed_text != nullptr ? std::strtoull(seed_text, nullptr, 10) : 0;
  if (seed_text == nullptr) seed = core::RandomSeed();
  InitTable(*table, seed);
  try {
    // ';' separates rules on one line, as a newline does.
    std::string lines(text);
    std::replace(lines.begin(), lines.end(), ';', '\n');
    auto rules = core::ParseFaults(lines, core::CheckRule);
    if (!rules) {
      Complain(("faultline inject: FAULTLINE_INJECT_RULES: " + rules.message() + "\n").c_str());
      table->errors.fetch_add(1, std::memory_order_relaxed);
      return table;
    }
    std::vector<SlotRule> compiled;
    int number = 0;
    for (core::Fault& rule : *rules) {
      ++number;
      if (rule.id.empty()) rule.id = "r" + std::to_string(number);
      auto slot = CompileRule(rule, seed, Now(CLOCK_REALTIME), Now(CLOCK_MONOTONIC));
      if (!slot) {
        Complain(("faultline inject: " + slot.message() + "\n").c_str());
        continue;
      }
      compiled.push_back(*slot);
    }
    if (auto ok = InstallRules(*table, compiled.data(), compiled.size()); !ok) {
      Complain(("faultline inject: " + ok.message() + "\n").c_str());
    }
  } catch (...) {
    table->errors.fetch_add(1, std::memory_order_relaxed);
  }
  return table;
}

__attribute__((constructor(101))) void Start() {
  Busy busy;
  const int saved = errno;
  Dl_info self{};
  if (::dladdr(reinterpret_cast<void*>(&Start), &self) != 0 && self.dli_fname != nullptr) {
    g_preload_entry = Duplicate("LD_PRELOAD=", self.dli_fname);
  }
  Table* table = nullptr;
  if (const char* path = std::getenv("FAULTLINE_INJECT_TABLE"); path != nullptr && *path) {
    table = MapTableFile(path);
    if (table == nullptr) {
      Complain(
          "faultline inject: cannot map the rule table named by FAULTLINE_INJECT_TABLE; "
          "running without faults\n");
    }
    g_table_entry = Duplicate("FAULTLINE_INJECT_TABLE=", path);
  } else if (const char* rules = std::getenv("FAULTLINE_INJECT_RULES"); rules != nullptr) {
    const char* seed = std::getenv("FAULTLINE_INJECT_SEED");
    table = TableFromRules(rules, seed);
    g_table_entry = Duplicate("FAULTLINE_INJECT_RULES=", rules);
    if (table != nullptr) {
      g_seed_entry = Duplicate("FAULTLINE_INJECT_SEED=", std::to_string(table->seed).c_str());
    }
  }
  __atomic_store_n(&g_table, table, __ATOMIC_RELEASE);
  errno = saved;
}

}  // namespace
}  // namespace faultline::inject

// -----------------------------------------------------------------------------------------
// The wrappers. Each is the fast path (one load, one branch) and, when armed, the slow path.

using namespace faultline::inject;

// --- the uniform calls: one row each ------------------------------------------------------
//
// FL_WRAP(returns, name, call, (parameters), facts, (arguments)) defines `name` with the given
// parameters: the fast path hands `arguments` to the real function; the slow path first
// gathers `facts` for the rules' filters, fails with the rule's errno or goes on to the
// real function. In `arguments`, LIMIT(n) marks the byte count that short() cuts; on the
// fast path it is `n` unchanged (the pass verdict's limit is a compile-time maximum).
//
// facts: FD(fd)               the descriptor (fd kind, its file's path, its peer)
//        PEER(fd, addr, len)  the descriptor and the address the call names
//        PATH(p), PATHS(a, b) the path(s) the call names
//        NONE                 only the thread
//
// The calls with more to do (vectors, message headers, open's optional mode, clock
// readings) are written out below the table.

#define FL_FACTS_FD(descriptor) info.fd = (descriptor)
#define FL_FACTS_PEER(descriptor, address, address_length) \
  info.fd = (descriptor);                                  \
  info.peer = (address);                                   \
  info.peer_length = (address_length)
#define FL_FACTS_PATH(name) info.path = (name)
#define FL_FACTS_PATHS(name, new_name) \
  info.path = (name);                  \
  info.path2 = (new_name)
#define FL_FACTS_NONE (void)info
#define LIMIT(count) Limit((count), v)

#define FL_WRAP(returns, name, call, parameters, facts, arguments) \
  FL_EXPORT returns name parameters {                              \
    using Fn = returns(*) parameters;                              \
    static Fn slot = nullptr;                                      \
    const Fn real = RealNamed(&slot, #name);                       \
    if (__builtin_expect(!Armed(call), 1)) {                       \
      [[maybe_unused]] constexpr Verdict v;                        \
      return real arguments;                                       \
    }                                                              \
    CallInfo info{call};                                           \
    FL_FACTS_##facts;                                              \
    const Verdict v = Slow(info);                                  \
    if (v.fail) return Failed<returns>(v);                         \
    return real arguments;                                         \
  }

// clang-format off
// Sockets.
FL_WRAP(int,     connect,        kConnect,   (int fd, const sockaddr* address, socklen_t length),
        PEER(fd, address, length),           (fd, address, length))
FL_WRAP(int,     accept,         kAccept,    (int fd, sockaddr* address, socklen_t* length),
        FD(fd),                              (fd, address, length))
FL_WRAP(int,     accept4,        kAccept,    (int fd, sockaddr* address, socklen_t* length, int flags),
        FD(fd),                              (fd, address, length, flags))
FL_WRAP(ssize_t, send,           kSend,      (int fd, const void* data, size_t size, int flags),
        FD(fd),                              (fd, data, LIMIT(size), flags))
FL_WRAP(ssize_t, sendto,         kSendto,    (int fd, const void* data, size_t size, int flags, const sockaddr* to, socklen_t to_length),
        PEER(fd, to, to_length),             (fd, data, LIMIT(size), flags, to, to_length))
FL_WRAP(ssize_t, recv,           kRecv,      (int fd, void* buffer, size_t size, int flags),
        FD(fd),                              (fd, buffer, LIMIT(size), flags))
FL_WRAP(ssize_t, __recv_chk,     kRecv,      (int fd, void* buffer, size_t size, size_t buffer_size, int flags),
        FD(fd),                              (fd, buffer, LIMIT(size), buffer_size, flags))
FL_WRAP(ssize_t, recvfrom,       kRecvfrom,  (int fd, void* buffer, size_t size, int flags, sockaddr* from, socklen_t* from_length),
        FD(fd),                              (fd, buffer, LIMIT(size), flags, from, from_length))
FL_WRAP(ssize_t, __recvfrom_chk, kRecvfrom,  (int fd, void* buffer, size_t size, size_t buffer_size, int flags, sockaddr* from, socklen_t* from_length),
        FD(fd),                              (fd, buffer, LIMIT(size), buffer_size, flags, from, from_length))
// Reads and writes. off_t is 64-bit on this ABI, so the *64 names take the same arguments.
FL_WRAP(ssize_t, read,           kRead,      (int fd, void* buffer, size_t size),
        FD(fd),                              (fd, buffer, LIMIT(size)))
FL_WRAP(ssize_t, __read_chk,     kRead,      (int fd, void* buffer, size_t size, size_t buffer_size),
        FD(fd),                              (fd, buffer, LIMIT(size), buffer_size))
FL_WRAP(ssize_t, write,          kWrite,     (int fd, const void* data, size_t size),
        FD(fd),                              (fd, data, LIMIT(size)))
FL_WRAP(ssize_t, pread,          kPread,     (int fd, void* buffer, size_t size, off_t offset),
        FD(fd),                              (fd, buffer, LIMIT(size), offset))
FL_WRAP(ssize_t, pread64,        kPread,     (int fd, void* buffer, size_t size, off_t offset),
        FD(fd),                              (fd, buffer, LIMIT(size), offset))
FL_WRAP(ssize_t, __pread_chk,    kPread,     (int fd, void* buffer, size_t size, off_t offset, size_t buffer_size),
        FD(fd),                              (fd, buffer, LIMIT(size), offset, buffer_size))
FL_WRAP(ssize_t, __pread64_chk,  kPread,     (int fd, void* buffer, size_t size, off_t offset, size_t buffer_size),
        FD(fd),                              (fd, buffer, LIMIT(size), offset, buffer_size))
FL_WRAP(ssize_t, pwrite,         kPwrite,    (int fd, const void* data, size_t size, off_t offset),
        FD(fd),                              (fd, data, LIMIT(size), offset))
FL_WRAP(ssize_t, pwrite64,       kPwrite,    (int fd, const void* data, size_t size, off_t offset),
        FD(fd),                              (fd, data, LIMIT(size), offset))
// Files.
FL_WRAP(int,     close,          kClose,     (int fd),
        FD(fd),                              (fd))
FL_WRAP(int,     rename,         kRename,    (const char* from, const char* to) noexcept,
        PATHS(from, to),                     (from, to))
FL_WRAP(int,     renameat,       kRenameat,  (int from_dir, const char* from, int to_dir, const char* to) noexcept,
        PATHS(from, to),                     (from_dir, from, to_dir, to))
FL_WRAP(int,     unlink,         kUnlink,    (const char* path) noexcept,
        PATH(path),                          (path))
FL_WRAP(int,     unlinkat,       kUnlinkat,  (int dir, const char* path, int flags) noexcept,
        PATH(path),                          (dir, path, flags))
FL_WRAP(int,     fsync,          kFsync,     (int fd),
        FD(fd),                              (fd))
FL_WRAP(int,     fdatasync,      kFdatasync, (int fd),
        FD(fd),                              (fd))
// Sleeps.
FL_WRAP(int,     nanosleep,      kNanosleep, (const timespec* request, timespec* remaining),
        NONE,                                (request, remaining))
// clang-format on

#define FL_PASS_IF_DISARMED(call, real, ...) \
  if (__builtin_expect(!Armed(call), 1)) return real(__VA_ARGS__)

// --- vectors and message headers: short() cuts the buffers they point to ----------------

FL_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  auto real = FL_REAL(readv);
  FL_PASS_IF_DISARMED(kReadv, real, fd, iov, count);
  return VectorCall(kReadv, real, fd, iov, count);
}

FL_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  auto real = FL_REAL(writev);
  FL_PASS_IF_DISARMED(kWritev, real, fd, iov, count);
  return VectorCall(kWritev, real, fd, iov, count);
}

FL_EXPORT ssize_t sendmsg(int fd, const msghdr* message, int flags) {
  auto real = FL_REAL(sendmsg);
  FL_PASS_IF_DISARMED(kSendmsg, real, fd, message, flags);
  CallInfo info{kSendmsg};
  info.fd = fd;
  if (message != nullptr) {
    info.peer = static_cast<const sockaddr*>(message->msg_name);
    info.peer_length = message->msg_namelen;
  }
  const Verdict v = Slow(info);
  if (v.fail) return Failed<ssize_t>(v);
  if (v.limit == UINT64_MAX || message == nullptr) return real(fd, message, flags);
  iovec iov[kIovCopy];
  const msghdr shorter = Shortened(*message, v.limit, iov);
  return real(fd, &shorter, flags);
}

FL_EXPORT ssize_t recvmsg(int fd, msghdr* message, int flags) {
  auto real = FL_REAL(recvmsg);
  FL_PASS_IF_DISARMED(kRecvmsg, real, fd, message, flags);
  const Verdict v = SlowOnFd(kRecvmsg, fd);
  if (v.fail) return Failed<ssize_t>(v);
  if (v.limit == UINT64_MAX || message == nullptr) return real(fd, message, flags);
  iovec iov[kIovCopy];
  msghdr shorter = Shortened(*message, v.limit, iov);
  const ssize_t n = real(fd, &shorter, flags);
  // What the kernel reports back goes to the caller's header.
  message->msg_namelen = shorter.msg_namelen;
  message->msg_controllen = shorter.msg_controllen;
  message->msg_flags = shorter.msg_flags;
  return n;
}

// --- opens: the mode is optional, and all of them reach the kernel as openat -----------

namespace {

bool NeedsMode(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

template <typename Real>
int OpenCommon(Call call, Real real, int dirfd, const char* path, int flags, mode_t mode) {
  if (__builtin_expect(!Armed(call), 1)) return real(dirfd, path, flags, mode);
  CallInfo info{call};
  info.path = path;
  const Verdict v = Slow(info);
  if (v.fail) return Failed<int>(v);
  return real(dirfd, path, flags, mode);
}

int RealOpenat(int dirfd, const char* path, int flags, mode_t mode) {
  using Fn = int (*)(int, const char*, int, ...);
  static Fn slot = nullptr;
  return RealNamed(&slot, "openat")(dirfd, path, flags, mode);
}

}  // namespace

// open, open64 and the fortify __open_2 all reach the kernel the same way: openat.
#define FL_OPEN(name, call)                                           \
  FL_EXPORT int name(const char* path, int flags, ...) {              \
    mode_t mode = 0;                                                  \
    if (NeedsMode(flags)) {                                           \
      va_list args;                                                   \
      va_start(args, flags);                                          \
      mode = va_arg(args, mode_t);                                    \
      va_end(args);                                                   \
    }                                                                 \
    return OpenCommon(call, RealOpenat, AT_FDCWD, path, flags, mode); \
  }
FL_OPEN(open, kOpen)
FL_OPEN(open64, kOpen)

FL_EXPORT int __open_2(const char* path, int flags) {
  return OpenCommon(kOpen, RealOpenat, AT_FDCWD, path, flags, 0);
}
FL_EXPORT int __open64_2(const char* path, int flags) {
  return OpenCommon(kOpen, RealOpenat, AT_FDCWD, path, flags, 0);
}

#define FL_OPENAT(name)                                               \
  FL_EXPORT int name(int dirfd, const char* path, int flags, ...) {   \
    mode_t mode = 0;                                                  \
    if (NeedsMode(flags)) {                                           \
      va_list args;                                                   \
      va_start(args, flags);                                          \
      mode = va_arg(args, mode_t);                                    \
      va_end(args);                                                   \
    }                                                                 \
    return OpenCommon(kOpenat, RealOpenat, dirfd, path, flags, mode); \
  }
FL_OPENAT(openat)
FL_OPENAT(openat64)

FL_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  return OpenCommon(kOpenat, RealOpenat, dirfd, path, flags, 0);
}
FL_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return OpenCommon(kOpenat, RealOpenat, dirfd, path, flags, 0);
}

FL_EXPORT int creat(const char* path, mode_t mode) {
  return OpenCommon(kCreat, RealOpenat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
FL_EXPORT int creat64(const char* path, mode_t mode) {
  return OpenCommon(kCreat, RealOpenat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

// --- clocks: a skew changes what they read --------------------------------------------

FL_EXPORT int clock_gettime(clockid_t clock, timespec* ts) noexcept {
  auto real = FL_REAL(clock_gettime);
  FL_PASS_IF_DISARMED(kClockGettime, real, clock, ts);
  CallInfo info{kClockGettime};
  info.clock = clock;
  const Verdict v = Slow(info);
  if (v.fail) return Failed<int>(v);
  const int result = real(clock, ts);
  if (result == 0 && v.skew) *ts = ToTimespec(Skewed(ToNanoseconds(*ts), v));
  return result;
}

FL_EXPORT int gettimeofday(timeval* tv, void* tz) noexcept {
  using Fn = int (*)(timeval*, void*);
  static Fn slot = nullptr;
  auto real = RealNamed(&slot, "gettimeofday");
  FL_PASS_IF_DISARMED(kGettimeofday, real, tv, tz);
  CallInfo info{kGettimeofday};
  const Verdict v = Slow(info);
  if (v.fail) return Failed<int>(v);
  const int result = real(tv, tz);
  if (result == 0 && v.skew) {
    std::int64_t t = Skewed((tv->tv_sec * 1'000'000LL + tv->tv_usec) * 1000, v) / 1000;
    tv->tv_sec = static_cast<time_t>(t / 1'000'000LL);
    tv->tv_usec = static_cast<suseconds_t>(t % 1'000'000LL);
    if (tv->tv_usec < 0) {
      tv->tv_usec += 1'000'000;
      --tv->tv_sec;
    }
  }
  return result;
}

FL_EXPORT time_t time(time_t* out) noexcept {
  auto real = FL_REAL(time);
  FL_PASS_IF_DISARMED(kTime, real, out);
  CallInfo info{kTime};
  const Verdict v = Slow(info);
  if (v.fail) return Failed<time_t>(v);
  time_t now = real(nullptr);
  if (v.skew) {
    // Skew the full-resolution clock so rates apply smoothly, then truncate as time() does.
    now = static_cast<time_t>(Skewed(ReadClock(CLOCK_REALTIME), v) / 1'000'000'000LL);
  }
  if (out != nullptr) *out = now;
  return now;
}

// An absolute deadline was most likely computed from a reading of the same clock, skewed by
// the rule that covers it: the sleep ends when the program's clock reaches the deadline, at
// the real time the skew maps it to. (Looking up that rule counts as one reading.)
FL_EXPORT int clock_nanosleep(clockid_t clock, int flags, const timespec* request,
                              timespec* remaining) {
  auto real = FL_REAL(clock_nanosleep);
  const bool absolute = (flags & TIMER_ABSTIME) != 0 && request != nullptr;
  if (__builtin_expect(!Armed(kClockNanosleep) && !(absolute && Armed(kClockGettime)), 1)) {
    return real(clock, flags, request, remaining);
  }
  if (Armed(kClockNanosleep)) {
    CallInfo info{kClockNanosleep};
    info.clock = clock;
    // clock_nanosleep returns the error number rather than setting errno.
    if (const Verdict v = Slow(info); v.fail) return v.error;
  }
  if (absolute && Armed(kClockGettime)) {
    CallInfo reading{kClockGettime};
    reading.clock = clock;
    if (const Verdict skew = Slow(reading); skew.skew) {
      const timespec deadline = ToTimespec(Unskewed(ToNanoseconds(*request), skew));
      return real(clock, flags, &deadline, remaining);
    }
  }
  return real(clock, flags, request, remaining);
}

// --- named points ------------------------------------------------------------------------

FL_EXPORT int faultline_point(const char* name) {
  if (__builtin_expect(!Armed(kPoint), 1) || name == nullptr) return 0;
  CallInfo info{kPoint};
  info.point = name;
  const Verdict v = Slow(info);
  return v.fail ? v.error : 0;
}

// --- exec and spawn ----------------------------------------------------------------------

FL_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) noexcept {
  return CallWithCarriedEnv(FL_REAL(execve), envp, path, argv);
}

FL_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
  return CallWithCarriedEnv(FL_REAL(execvpe), envp, file, argv);
}

FL_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                          const posix_spawnattr_t* attributes, char* const argv[],
                          char* const envp[]) {
  return CallWithCarriedEnv(FL_REAL(posix_spawn), envp, pid, path, actions, attributes, argv);
}

FL_EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                           const posix_spawnattr_t* attributes, char* const argv[],
                           char* const envp[]) {
  return CallWithCarriedEnv(FL_REAL(posix_spawnp), envp, pid, file, actions, attributes, argv);
}
