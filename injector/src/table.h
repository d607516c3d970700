#pragma once
// Private: the rule table the shim reads and `faultline inject` writes. It lives in a shared
// file mapping (or an anonymous shared mapping when rules come only from the environment), so
// every process of a tree started under the shim, and the controlling CLI, see the same rules,
// counters and holds. Plain data and lock-free atomics only: the shim reads it on the data
// path with no lock and no allocation.
//
// Writers (one at a time, under flock on the file) bump `seq` to odd, change rules, and bump
// it back to even; readers copy the rules they need and retry if `seq` moved (a seqlock).
// Counters and holds are atomics outside the seqlock.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "faultline/core/result.h"
#include "faultline/core/rule.h"

namespace faultline::inject {

// One per name in core::KnownCalls(), in its order, then the named point.
enum Call : std::uint8_t {
  kConnect,
  kAccept,
  kSend,
  kSendto,
  kSendmsg,
  kRecv,
  kRecvfrom,
  kRecvmsg,
  kRead,
  kWrite,
  kReadv,
  kWritev,
  kPread,
  kPwrite,
  kOpen,
  kOpenat,
  kCreat,
  kClose,
  kRename,
  kRenameat,
  kUnlink,
  kUnlinkat,
  kFsync,
  kFdatasync,
  kClockGettime,
  kGettimeofday,
  kTime,
  kNanosleep,
  kClockNanosleep,
  kPoint,
  kCallCount
};

// What a matching call got; `kError` counts calls the shim passed through because something
// inside it failed (no free hold slot, say).
enum Outcome : std::uint8_t {
  kDelayed,
  kFailed,
  kShortened,
  kHeld,
  kSkewed,
  kError,
  kOutcomeCount
};

const char* CallName(Call call);
const char* OutcomeName(Outcome outcome);

inline constexpr std::uint64_t kTableMagic = 0x31656e696c746c66ULL;  // "fltline1"
inline constexpr std::uint32_t kTableVersion = 1;
inline constexpr std::size_t kMaxRules = 32;
inline constexpr std::size_t kMaxHolds = 64;
inline constexpr std::size_t kRuleTextSize = 256;

// A compiled rule: everything the shim needs, in fixed-size fields.
struct SlotRule {
  std::uint64_t calls;   // bit per Call
  std::uint64_t stream;  // seed of this rule's decisions: DeriveSeed(table seed, id)
  char id[32];
  char text[kRuleTextSize];  // canonical line, for status
  char point[64];
  char path[128];
  char thread[16];
  char hold[48];
  std::uint8_t peer_family;  // 0 any, AF_INET, AF_INET6
  std::uint8_t peer_address[16];
  std::uint16_t peer_port;  // host order; 0 any
  std::uint8_t fd_kind;     // core::FdKind
  std::uint8_t clock;       // core::ClockKind
  std::uint8_t action;      // core::ActionKind
  std::uint8_t dist_kind;   // core::Distribution::Kind
  std::int32_t error;
  std::int64_t dist_a_ns;
  std::int64_t dist_b_ns;
  std::uint64_t short_bytes;
  std::int64_t skew_offset_ns;
  double skew_rate;
  std::int64_t skew_since_ns;  // CLOCK_REALTIME/MONOTONIC reading when installed (rate pivot)
  std::int64_t skew_since_mono_ns;
  std::uint32_t ppm;
  std::uint64_t after;
  std::uint64_t times;           // 0: no limit
  std::int64_t expires_mono_ns;  // 0: no lease
  std::int64_t timeout_ns;       // hold
};

struct alignas(64) RuleCounters {
  std::atomic<std::uint64_t> hits;   // matching calls
  std::atomic<std::uint64_t> fires;  // calls it acted on
};

// A thread parked by hold(): state goes free -> claimed -> waiting -> released -> free.
struct HoldSlot {
  enum State : std::uint32_t { kFree, kClaimed, kWaiting, kReleased };
  std::atomic<std::uint32_t> state;  // the futex word
  std::uint32_t pid;
  std::uint32_t tid;
  std::uint64_t ticket;   // arrival order, across the table
  std::int64_t since_ns;  // CLOCK_REALTIME
  char name[48];
  char rule[32];
};

struct Table {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t size;
  std::uint64_t seed;
  std::atomic<std::uint32_t> seq;
  std::uint32_t rule_count;
  std::atomic<std::uint64_t> armed;  // bit per Call with at least one rule
  std::atomic<std::uint64_t> next_ticket;
  std::atomic<std::uint64_t> errors;
  SlotRule rules[kMaxRules];
  RuleCounters counters[kMaxRules];
  std::atomic<std::uint64_t> outcomes[kCallCount][kOutcomeCount];
  HoldSlot holds[kMaxHolds];
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// Makes an empty table in zeroed memory.
void InitTable(Table& table, std::uint64_t seed);
bool ValidTable(const Table& table);

// Compiles a parsed rule; `id` must be set. Fails on what core cannot check (an address
// that does not parse, text too long for the table).
core::Result<SlotRule> CompileRule(const core::Rule& rule, std::uint64_t seed,
                                   std::int64_t now_realtime_ns, std::int64_t now_mono_ns);

// Writer side; the caller serialises writers (flock). Rules with an existing id are
// replaced in place (their counters restart); new ones are appended.
core::Status InstallRules(Table& table, const SlotRule* rules, std::size_t count);
// Removes the rules with these ids (all when none given); returns how many went.
std::size_t RemoveRules(Table& table, const char* const* ids, std::size_t count);
// Wakes the oldest thread held at `hold` (all of them with `all`); returns how many.
std::size_t ReleaseHolds(Table& table, const char* hold, bool all);

}  // namespace faultline::inject
