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

#include "faultline/core/calls.h"
#include "faultline/core/fault.h"
#include "faultline/core/result.h"

namespace faultline::inject {

// One per row of core/calls.h, in its order, then the named point.
#define FAULTLINE_CALL_ENUM(Enum, name, facts) k##Enum,
enum Call : std::uint8_t { FAULTLINE_CALLS(FAULTLINE_CALL_ENUM) kPoint, kCallCount };
#undef FAULTLINE_CALL_ENUM

// What a matching call got; `kError` counts calls the shim passed through because something
// inside it failed (no free hold slot, say). The counters cover these; the decision ring also
// says what became of a held call (released, or its hold timed out).
enum Outcome : std::uint8_t {
  kDelayed,
  kFailed,
  kShortened,
  kHeld,
  kSkewed,
  kError,
  kOutcomeCount,
  kReleased = kOutcomeCount,
  kTimedOut,
  kDecisionOutcomeCount
};

const char* CallName(Call call);
const char* OutcomeName(Outcome outcome);

inline constexpr std::uint64_t kTableMagic = 0x31656e696c746c66ULL;  // "fltline1"
inline constexpr std::uint32_t kTableVersion = 2;
inline constexpr std::size_t kMaxRules = 32;
inline constexpr std::size_t kMaxHolds = 64;
inline constexpr std::size_t kRuleTextSize = 256;
inline constexpr std::size_t kDecisionRing = 4096;
inline constexpr std::size_t kRuleIdSize = 32;
inline constexpr std::size_t kHoldNameSize = 48;

// A compiled rule: everything the shim needs, in fixed-size fields.
struct SlotRule {
  std::uint64_t calls;   // bit per Call
  std::uint64_t stream;  // seed of this rule's decisions: DeriveSeed(table seed, id)
  char id[kRuleIdSize];
  char text[kRuleTextSize];  // canonical line, for status
  char point[64];
  char path[128];
  char thread[16];
  char hold[kHoldNameSize];
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
  std::uint8_t call;      // Call
  char name[kHoldNameSize];
  char rule[kRuleIdSize];
};

// What one decision says, as RecordDecision takes it and ReadDecision gives it back.
struct DecisionRecord {
  std::int64_t mono_ns = 0;  // CLOCK_MONOTONIC when it was made
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::uint64_t hit = 0;     // the rule's match count at this call; 0 for a release
  std::int64_t value = 0;    // delay: ns; fail: errno; short: bytes; skew: offset ns;
                             // hold, release, timeout: the hold's ticket
  std::uint8_t call = 0;     // Call
  std::uint8_t outcome = 0;  // Outcome
  char rule[kRuleIdSize] = {};
  char hold[kHoldNameSize] = {};
};

// One slot of the decision ring, its own seqlock: `seq` is 2n+1 while decision n is written
// into it and 2n+2 once it is whole. Every field is a relaxed atomic, so a reader racing a
// writer copies a torn slot it then discards, never undefined behaviour.
struct DecisionSlot {
  std::atomic<std::uint64_t> seq;
  std::atomic<std::int64_t> mono_ns;
  std::atomic<std::uint64_t> who;  // pid << 32 | tid
  std::atomic<std::uint64_t> hit;
  std::atomic<std::int64_t> value;
  std::atomic<std::uint64_t> kind;  // call << 8 | outcome
  std::atomic<std::uint64_t> rule[kRuleIdSize / 8];
  std::atomic<std::uint64_t> hold[kHoldNameSize / 8];
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
  // The decisions, newest overwriting oldest: decision n is in decisions[n % kDecisionRing].
  std::atomic<std::uint64_t> decisions_next;
  DecisionSlot decisions[kDecisionRing];
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// Makes an empty table in zeroed memory.
void InitTable(Table& table, std::uint64_t seed);
bool ValidTable(const Table& table);

// Compiles a parsed rule; `id` must be set. Fails on what core cannot check (an address
// that does not parse, text too long for the table).
core::Result<SlotRule> CompileRule(const core::Fault& rule, std::uint64_t seed,
                                   std::int64_t now_realtime_ns, std::int64_t now_mono_ns);

// Writer side; the caller serialises writers (flock). Rules with an existing id are
// replaced in place (their counters restart); new ones are appended.
core::Status InstallRules(Table& table, const SlotRule* rules, std::size_t count);
// Removes the rules with these ids (all when none given); returns how many went. Threads a
// removed hold parked go on, each release recorded at `now_mono_ns`.
std::size_t RemoveRules(Table& table, const char* const* ids, std::size_t count,
                        std::int64_t now_mono_ns);
// Wakes the oldest thread held at `hold` (all of them with `all`), recording each release
// at `now_mono_ns`; returns how many.
std::size_t ReleaseHolds(Table& table, const char* hold, bool all, std::int64_t now_mono_ns);

// Appends a decision to the ring: lock-free, no allocation, safe from any process mapping
// the table.
void RecordDecision(Table& table, const DecisionRecord& record);
enum class ReadOutcome { kRead, kPending, kLost };
// Decision n: kPending while it is being written (or not yet claimed), kLost once a newer
// decision took its slot.
ReadOutcome ReadDecision(const Table& table, std::uint64_t n, DecisionRecord& record);

}  // namespace faultline::inject
