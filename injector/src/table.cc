#include "table.h"

#include <arpa/inet.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "faultline/core/random.h"

namespace faultline::inject {
namespace {

#define FAULTLINE_CALL_NAME(Enum, name, facts) #name,
constexpr const char* kCallNames[kCallCount] = {FAULTLINE_CALLS(FAULTLINE_CALL_NAME) "point"};
#undef FAULTLINE_CALL_NAME

constexpr const char* kOutcomeNames[kDecisionOutcomeCount] = {
    "delay", "fail", "short", "hold", "skew", "error", "release", "timeout"};

template <std::size_t N>
bool CopyText(char (&field)[N], const std::string& text) {
  if (text.size() >= N) return false;
  std::memcpy(field, text.data(), text.size());
  field[text.size()] = '\0';
  return true;
}

void BeginWrite(Table& table) {
  // Odd already: a writer died mid-change. This change rewrites what it left and ends the
  // write it began, so readers never see an even count over half-written rules.
  if ((table.seq.load(std::memory_order_relaxed) & 1) == 0) {
    table.seq.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_release);
}

void EndWrite(Table& table) {
  std::uint64_t armed = 0;
  for (std::uint32_t i = 0; i < table.rule_count; ++i) armed |= table.rules[i].calls;
  table.armed.store(armed, std::memory_order_relaxed);
  table.seq.fetch_add(1, std::memory_order_release);
}

void Wake(std::atomic<std::uint32_t>& word) {
  // Shared (not FUTEX_PRIVATE): the waiter may be another process mapping the same file.
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr,
            nullptr, 0);
}

template <std::size_t Words, std::size_t N>
void StoreText(std::atomic<std::uint64_t> (&words)[Words], const char (&text)[N]) {
  static_assert(Words * 8 == N);
  for (std::size_t i = 0; i < Words; ++i) {
    std::uint64_t word = 0;
    std::memcpy(&word, text + i * 8, 8);
    words[i].store(word, std::memory_order_relaxed);
  }
}

template <std::size_t Words, std::size_t N>
void LoadText(const std::atomic<std::uint64_t> (&words)[Words], char (&text)[N]) {
  static_assert(Words * 8 == N);
  for (std::size_t i = 0; i < Words; ++i) {
    const std::uint64_t word = words[i].load(std::memory_order_relaxed);
    std::memcpy(text + i * 8, &word, 8);
  }
  text[N - 1] = '\0';
}

// A held thread let go: the decision is the releaser's, in the order it released. Taken
// while the slot is still waiting (its owner does not change it then), recorded once the
// release won.
DecisionRecord ReleaseRecord(const HoldSlot& slot, std::int64_t now_mono_ns) {
  DecisionRecord record;
  record.mono_ns = now_mono_ns;
  record.pid = slot.pid;
  record.tid = slot.tid;
  record.value = static_cast<std::int64_t>(slot.ticket);
  record.call = slot.call;
  record.outcome = kReleased;
  std::memcpy(record.rule, slot.rule, sizeof record.rule);
  std::memcpy(record.hold, slot.name, sizeof record.hold);
  return record;
}

}  // namespace

const char* CallName(Call call) { return call < kCallCount ? kCallNames[call] : "?"; }
const char* OutcomeName(Outcome outcome) {
  return outcome < kDecisionOutcomeCount ? kOutcomeNames[outcome] : "?";
}

void RecordDecision(Table& table, const DecisionRecord& record) {
  const std::uint64_t n = table.decisions_next.fetch_add(1, std::memory_order_relaxed);
  DecisionSlot& slot = table.decisions[n % kDecisionRing];
  slot.seq.store(2 * n + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.mono_ns.store(record.mono_ns, std::memory_order_relaxed);
  slot.who.store(std::uint64_t{record.pid} << 32 | record.tid, std::memory_order_relaxed);
  slot.hit.store(record.hit, std::memory_order_relaxed);
  slot.value.store(record.value, std::memory_order_relaxed);
  slot.kind.store(std::uint64_t{record.call} << 8 | record.outcome, std::memory_order_relaxed);
  StoreText(slot.rule, record.rule);
  StoreText(slot.hold, record.hold);
  slot.seq.store(2 * n + 2, std::memory_order_release);
}

ReadOutcome ReadDecision(const Table& table, std::uint64_t n, DecisionRecord& record) {
  const DecisionSlot& slot = table.decisions[n % kDecisionRing];
  const std::uint64_t before = slot.seq.load(std::memory_order_acquire);
  if (before > 2 * n + 2) return ReadOutcome::kLost;
  if (before != 2 * n + 2) return ReadOutcome::kPending;
  record.mono_ns = slot.mono_ns.load(std::memory_order_relaxed);
  const std::uint64_t who = slot.who.load(std::memory_order_relaxed);
  record.pid = static_cast<std::uint32_t>(who >> 32);
  record.tid = static_cast<std::uint32_t>(who);
  record.hit = slot.hit.load(std::memory_order_relaxed);
  record.value = slot.value.load(std::memory_order_relaxed);
  const std::uint64_t kind = slot.kind.load(std::memory_order_relaxed);
  record.call = static_cast<std::uint8_t>(kind >> 8);
  record.outcome = static_cast<std::uint8_t>(kind);
  LoadText(slot.rule, record.rule);
  LoadText(slot.hold, record.hold);
  std::atomic_thread_fence(std::memory_order_acquire);
  return slot.seq.load(std::memory_order_relaxed) == before ? ReadOutcome::kRead
                                                            : ReadOutcome::kLost;
}

void InitTable(Table& table, std::uint64_t seed) {
  table.magic = kTableMagic;
  table.version = kTableVersion;
  table.size = sizeof(Table);
  table.seed = seed;
}

bool ValidTable(const Table& table) {
  return table.magic == kTableMagic && table.version == kTableVersion &&
         table.size == sizeof(Table);
}

core::Result<SlotRule> CompileRule(const core::Fault& rule, std::uint64_t seed,
                                   std::int64_t now_realtime_ns, std::int64_t now_mono_ns) {
  SlotRule slot{};
  if (auto ok = core::CheckRule(rule); !ok) return ok.error();
  const std::string text = core::FormatFault(rule);
  if (rule.id.empty()) return core::MakeError("rule '" + text + "' has no id");
  if (!CopyText(slot.id, rule.id))
    return core::MakeError("rule id '" + rule.id + "' is too long (at most 31 characters)");
  if (!CopyText(slot.text, text)) {
    return core::MakeError("rule '" + text + "' is too long for the table (at most " +
                           std::to_string(kRuleTextSize - 1) + " characters)");
  }
  if (!CopyText(slot.point, rule.where.point))
    return core::MakeError("point name '" + rule.where.point +
                           "' is too long (at most 63 characters)");
  if (!CopyText(slot.path, rule.where.path))
    return core::MakeError("path glob '" + rule.where.path +
                           "' is too long (at most 127 characters)");
  if (!CopyText(slot.thread, rule.where.thread))
    return core::MakeError("thread glob '" + rule.where.thread +
                           "' is too long (at most 15 characters)");
  if (!CopyText(slot.hold, rule.action.hold))
    return core::MakeError("hold name '" + rule.action.hold +
                           "' is too long (at most 47 characters)");

  if (rule.where.point.empty()) {
    const auto known = core::KnownCalls();
    for (const std::string& call : rule.where.calls) {
      for (std::size_t i = 0; i < known.size(); ++i) {
        if (known[i] == call) slot.calls |= std::uint64_t{1} << i;
      }
    }
  } else {
    slot.calls = std::uint64_t{1} << kPoint;
  }
  if (!rule.where.peer_address.empty()) {
    if (::inet_pton(AF_INET, rule.where.peer_address.c_str(), slot.peer_address) == 1) {
      slot.peer_family = AF_INET;
    } else if (::inet_pton(AF_INET6, rule.where.peer_address.c_str(), slot.peer_address) == 1) {
      slot.peer_family = AF_INET6;
    } else {
      return core::MakeError("peer address '" + rule.where.peer_address + "' is not an IP address");
    }
  }
  slot.peer_port = rule.where.peer_port;
  slot.fd_kind = static_cast<std::uint8_t>(rule.where.fd);
  slot.clock = static_cast<std::uint8_t>(rule.where.clock);
  slot.action = static_cast<std::uint8_t>(rule.action.on_call);
  slot.dist_kind = static_cast<std::uint8_t>(rule.action.delay.kind());
  slot.dist_a_ns = rule.action.delay.a().count();
  slot.dist_b_ns = rule.action.delay.b().count();
  slot.error = rule.action.error;
  slot.short_bytes = rule.action.short_bytes;
  slot.skew_offset_ns = rule.action.skew_offset.count();
  slot.skew_rate = rule.action.skew_rate;
  slot.skew_since_ns = now_realtime_ns;
  slot.skew_since_mono_ns = now_mono_ns;
  slot.ppm = rule.gate.probability.ppm();
  slot.after = rule.gate.after;
  slot.times = rule.gate.times;
  slot.expires_mono_ns = rule.gate.lease ? now_mono_ns + rule.gate.lease->count() : 0;
  slot.timeout_ns = rule.action.timeout.count();
  slot.stream = core::DeriveSeed(seed, {"inject", rule.id});
  return slot;
}

core::Status InstallRules(Table& table, const SlotRule* rules, std::size_t count) {
  std::size_t added = 0;
  for (std::size_t i = 0; i < count; ++i) {
    bool found = false;
    for (std::uint32_t j = 0; j < table.rule_count; ++j) {
      found = found || std::strcmp(table.rules[j].id, rules[i].id) == 0;
    }
    if (!found) ++added;
  }
  if (table.rule_count + added > kMaxRules) {
    return core::MakeError("too many rules: a process takes at most " + std::to_string(kMaxRules));
  }
  BeginWrite(table);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t at = 0;
    while (at < table.rule_count && std::strcmp(table.rules[at].id, rules[i].id) != 0) ++at;
    if (at == table.rule_count) ++table.rule_count;
    table.rules[at] = rules[i];
    table.counters[at].hits.store(0, std::memory_order_relaxed);
    table.counters[at].fires.store(0, std::memory_order_relaxed);
  }
  EndWrite(table);
  return core::Ok();
}

std::size_t RemoveRules(Table& table, const char* const* ids, std::size_t count,
                        std::int64_t now_mono_ns) {
  BeginWrite(table);
  std::uint32_t kept = 0;
  std::size_t removed = 0;
  for (std::uint32_t i = 0; i < table.rule_count; ++i) {
    bool remove = count == 0;
    for (std::size_t k = 0; k < count && !remove; ++k) {
      remove = std::strcmp(table.rules[i].id, ids[k]) == 0;
    }
    if (remove) {
      ++removed;
      continue;
    }
    if (kept != i) {
      table.rules[kept] = table.rules[i];
      table.counters[kept].hits.store(table.counters[i].hits.load(std::memory_order_relaxed),
                                      std::memory_order_relaxed);
      table.counters[kept].fires.store(table.counters[i].fires.load(std::memory_order_relaxed),
                                       std::memory_order_relaxed);
    }
    ++kept;
  }
  table.rule_count = kept;
  EndWrite(table);
  // A removed hold lets its threads go, as a removed hold toxic does.
  for (HoldSlot& slot : table.holds) {
    if (slot.state.load(std::memory_order_acquire) != HoldSlot::kWaiting) continue;
    bool listed = false;
    for (std::uint32_t i = 0; i < table.rule_count && !listed; ++i) {
      listed = std::strcmp(table.rules[i].id, slot.rule) == 0;
    }
    if (listed) continue;
    const DecisionRecord release = ReleaseRecord(slot, now_mono_ns);
    std::uint32_t expected = HoldSlot::kWaiting;
    if (slot.state.compare_exchange_strong(expected, HoldSlot::kReleased,
                                           std::memory_order_acq_rel)) {
      RecordDecision(table, release);
      Wake(slot.state);
    }
  }
  return removed;
}

std::size_t ReleaseHolds(Table& table, const char* hold, bool all, std::int64_t now_mono_ns) {
  std::size_t released = 0;
  while (true) {
    HoldSlot* oldest = nullptr;
    for (HoldSlot& slot : table.holds) {
      if (slot.state.load(std::memory_order_acquire) != HoldSlot::kWaiting) continue;
      if (hold != nullptr && std::strcmp(slot.name, hold) != 0) continue;
      if (oldest == nullptr || slot.ticket < oldest->ticket) oldest = &slot;
    }
    if (oldest == nullptr) return released;
    const DecisionRecord release = ReleaseRecord(*oldest, now_mono_ns);
    std::uint32_t expected = HoldSlot::kWaiting;
    if (oldest->state.compare_exchange_strong(expected, HoldSlot::kReleased,
                                              std::memory_order_acq_rel)) {
      RecordDecision(table, release);
      Wake(oldest->state);
      ++released;
      if (!all) return released;
    }
  }
}

}  // namespace faultline::inject
