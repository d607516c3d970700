#include "faultline/core/rule.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <utility>

#include "faultline/core/suggest.h"

namespace faultline::core {
namespace {

struct CallRow {
  std::string_view name;
  unsigned facts;
};
#define FAULTLINE_CALL_ROW(Enum, name, facts) {#name, facts},
constexpr CallRow kCallRows[] = {FAULTLINE_CALLS(FAULTLINE_CALL_ROW)};
#undef FAULTLINE_CALL_ROW
#define FAULTLINE_CALL_NAME(Enum, name, facts) #name,
constexpr std::string_view kCalls[] = {FAULTLINE_CALLS(FAULTLINE_CALL_NAME)};
#undef FAULTLINE_CALL_NAME

struct ErrnoEntry {
  std::string_view name;
  int value;
};
constexpr ErrnoEntry kErrnos[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"EINTR", EINTR},
    {"EIO", EIO},
    {"ENXIO", ENXIO},
    {"EBADF", EBADF},
    {"EAGAIN", EAGAIN},
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EFAULT", EFAULT},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"EXDEV", EXDEV},
    {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR},
    {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},
    {"EMFILE", EMFILE},
    {"EFBIG", EFBIG},
    {"ENOSPC", ENOSPC},
    {"EROFS", EROFS},
    {"EPIPE", EPIPE},
    {"ENAMETOOLONG", ENAMETOOLONG},
    {"ENOSYS", ENOSYS},
    {"ENOTEMPTY", ENOTEMPTY},
    {"ENOTSOCK", ENOTSOCK},
    {"EMSGSIZE", EMSGSIZE},
    {"EADDRINUSE", EADDRINUSE},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"ENETDOWN", ENETDOWN},
    {"ENETUNREACH", ENETUNREACH},
    {"ECONNABORTED", ECONNABORTED},
    {"ECONNRESET", ECONNRESET},
    {"ENOBUFS", ENOBUFS},
    {"ENOTCONN", ENOTCONN},
    {"ETIMEDOUT", ETIMEDOUT},
    {"ECONNREFUSED", ECONNREFUSED},
    {"EHOSTUNREACH", EHOSTUNREACH},
    {"EALREADY", EALREADY},
    {"EINPROGRESS", EINPROGRESS},
    {"EDQUOT", EDQUOT},
    {"ECANCELED", ECANCELED},
    {"EOVERFLOW", EOVERFLOW},
    {"ELOOP", ELOOP},
};

bool Contains(std::span<const std::string_view> list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string_view Trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto begin = text.find_first_not_of(" \t", at);
    if (begin == std::string_view::npos) break;
    auto end = text.find_first_of(" \t", begin);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(begin, end - begin));
    at = end;
  }
  return words;
}

std::vector<std::string_view> SplitOn(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t at = 0;
  while (true) {
    const auto end = text.find(separator, at);
    parts.push_back(Trim(text.substr(at, end == std::string_view::npos ? end : end - at)));
    if (end == std::string_view::npos) return parts;
    at = end + 1;
  }
}

bool IsName(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '/';
  });
}

Result<std::uint64_t> ParseCount(std::string_view key, std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return MakeError(std::string(key) + "=" + std::string(text) + ": expected a whole number");
  }
  return value;
}

bool IsAddressLiteral(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':';
  });
}

// ADDR, ADDR:PORT, [V6]:PORT, V6.
Status ParsePeer(std::string_view text, Rule& rule) {
  std::string_view address = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return MakeError("peer=" + std::string(text) + ": missing ']'");
    address = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':')
        return MakeError("peer=" + std::string(text) + ": expected ':' after ']'");
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    address = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  if (address != "*" && !IsAddressLiteral(address)) {
    return MakeError("peer=" + std::string(text) +
                     ": expected an IP address, optionally with :PORT (names are not resolved)");
  }
  rule.peer_address = address == "*" ? "" : std::string(address);
  if (!port.empty()) {
    auto value = ParseCount("peer port", port);
    if (!value || *value == 0 || *value > 65535) {
      return MakeError("peer=" + std::string(text) + ": port must be 1 to 65535");
    }
    rule.peer_port = static_cast<std::uint16_t>(*value);
  }
  return Ok();
}

Result<Duration> ParseSignedDuration(std::string_view text, bool& negative) {
  negative = false;
  if (text.starts_with('+')) {
    text.remove_prefix(1);
  } else if (text.starts_with('-')) {
    negative = true;
    text.remove_prefix(1);
  }
  return ParseDuration(text);
}

Status ParseAction(std::string_view name, std::string_view args, Rule& rule) {
  RuleAction& action = rule.action;
  const std::string shown = std::string(name) + "(" + std::string(args) + ")";
  if (name == "delay") {
    auto dist = Distribution::Parse(args);
    if (!dist) return MakeError(shown + ": " + dist.message());
    action.kind = ActionKind::kDelay;
    action.delay = *dist;
    return Ok();
  }
  if (name == "fail") {
    auto error = ErrnoFromName(args);
    if (!error || *error <= 0) {
      return MakeError(shown + ": unknown errno " + Quote(args) + " (expected a name like EIO)");
    }
    action.kind = ActionKind::kFail;
    action.error = *error;
    return Ok();
  }
  if (name == "short") {
    auto bytes = ParseCount("short", args);
    if (!bytes) return MakeError(shown + ": expected a byte count");
    if (*bytes == 0) return MakeError(shown + ": a short transfer moves at least 1 byte");
    action.kind = ActionKind::kShort;
    action.short_bytes = *bytes;
    return Ok();
  }
  if (name == "hold") {
    if (!IsName(args)) {
      return MakeError(shown + ": a hold needs a name (letters, digits, _ - . /)");
    }
    action.kind = ActionKind::kHold;
    action.hold = std::string(args);
    return Ok();
  }
  if (name == "skew") {
    const std::vector<std::string_view> parts = SplitOn(args, ',');
    if (parts.empty() || parts.size() > 2 || parts[0].empty()) {
      return MakeError(shown + ": expected skew(OFFSET) or skew(OFFSET, RATE), e.g. skew(+1h)");
    }
    bool negative = false;
    auto offset = ParseSignedDuration(parts[0], negative);
    if (!offset) return MakeError(shown + ": " + offset.message());
    action.kind = ActionKind::kSkew;
    action.skew_offset = negative ? -*offset : *offset;
    if (parts.size() == 2) {
      std::string_view rate_text = parts[1];
      if (rate_text.starts_with('x')) rate_text.remove_prefix(1);
      double rate = 0;
      auto [end, ec] = std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
      if (rate_text.empty() || ec != std::errc() || end != rate_text.data() + rate_text.size() ||
          !std::isfinite(rate) || rate <= 0 || rate > 1000) {
        return MakeError(shown + ": rate must be a number above 0 and at most 1000");
      }
      action.skew_rate = rate;
    }
    return Ok();
  }
  static constexpr std::array<std::string_view, 5> kActions = {"delay", "fail", "short", "hold",
                                                               "skew"};
  return MakeError("unknown action " + Quote(name) + Suggest(name, kActions) +
                   "; expected delay, fail, short, hold or skew");
}

Status ParseFilter(std::string_view key, std::string_view value, Rule& rule) {
  if (key == "fd") {
    if (value == "socket") {
      rule.fd = FdKind::kSocket;
    } else if (value == "file") {
      rule.fd = FdKind::kFile;
    } else if (value == "pipe") {
      rule.fd = FdKind::kPipe;
    } else {
      return MakeError("fd=" + std::string(value) + ": expected socket, file or pipe");
    }
    return Ok();
  }
  if (key == "path") {
    if (value.empty()) return MakeError("path= needs a glob, e.g. path=/var/lib/app/*");
    rule.path = std::string(value);
    return Ok();
  }
  if (key == "peer") return ParsePeer(value, rule);
  if (key == "port") {
    auto port = ParseCount("port", value);
    if (!port || *port == 0 || *port > 65535) {
      return MakeError("port=" + std::string(value) + ": expected 1 to 65535");
    }
    rule.peer_port = static_cast<std::uint16_t>(*port);
    return Ok();
  }
  if (key == "thread") {
    if (value.empty() || value.size() > 15) {
      return MakeError("thread=" + std::string(value) +
                       ": expected a glob on a thread name (at most 15 characters)");
    }
    rule.thread = std::string(value);
    return Ok();
  }
  if (key == "clock") {
    if (value == "realtime") {
      rule.clock = ClockKind::kRealtime;
    } else if (value == "monotonic") {
      rule.clock = ClockKind::kMonotonic;
    } else if (value == "all") {
      rule.clock = ClockKind::kAll;
    } else {
      return MakeError("clock=" + std::string(value) + ": expected realtime, monotonic or all");
    }
    return Ok();
  }
  static constexpr std::array<std::string_view, 6> kFilters = {"fd",   "path",   "peer",
                                                               "port", "thread", "clock"};
  return MakeError("unknown filter " + Quote(key) + Suggest(key, kFilters) +
                   "; expected fd, path, peer, port, thread or clock");
}

Status ParseOption(std::string_view key, std::string_view value, Rule& rule) {
  if (key == "after" || key == "times") {
    auto count = ParseCount(key, value);
    if (!count) return count.error();
    (key == "after" ? rule.after : rule.times) = *count;
    if (key == "times" && *count == 0) return MakeError("times=0 would never act; leave it out");
    return Ok();
  }
  if (key == "lease" || key == "timeout") {
    auto duration = ParseDuration(value);
    if (!duration)
      return MakeError(std::string(key) + "=" + std::string(value) + ": " + duration.message());
    if (duration->count() <= 0) return MakeError(std::string(key) + " must be above zero");
    if (key == "lease") {
      rule.lease = *duration;
    } else {
      rule.timeout = *duration;
    }
    return Ok();
  }
  if (key == "until") {
    const auto slash = value.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == value.size() ||
        !IsName(value)) {
      return MakeError("until=" + std::string(value) +
                       ": expected OWNER/POINT, a proxy's hold or point toxic (PROXY/TOXIC) or "
                       "a service's rule or hold (SERVICE/RULE, SERVICE/HOLD)");
    }
    rule.until = std::string(value);
    return Ok();
  }
  static constexpr std::array<std::string_view, 5> kOptions = {"after", "times", "lease", "timeout",
                                                               "until"};
  return MakeError("unknown option " + Quote(key) + Suggest(key, kOptions) +
                   "; expected after, times, lease, timeout or until");
}

// Filters that name something a call does not have are mistakes, not no-ops.
Status CheckApplies(const Rule& rule) {
  // Whether every call of the rule has one of `facts`, and the first that has none.
  auto all = [&](unsigned facts) {
    return std::all_of(rule.calls.begin(), rule.calls.end(),
                       [&](const std::string& c) { return (CallFacts(c) & facts) != 0; });
  };
  auto first_not = [&](unsigned facts) {
    for (const std::string& c : rule.calls) {
      if ((CallFacts(c) & facts) == 0) return c;
    }
    return std::string();
  };
  const bool point = !rule.point.empty();
  if (rule.fd != FdKind::kAny && (point || !all(kKnowsFd))) {
    return MakeError("fd= does not apply to " + (point ? "a point" : first_not(kKnowsFd)));
  }
  if (!rule.path.empty() && (point || !all(kKnowsFd | kKnowsPath))) {
    return MakeError("path= does not apply to " +
                     (point ? "a point" : first_not(kKnowsFd | kKnowsPath)));
  }
  if ((!rule.peer_address.empty() || rule.peer_port != 0) && (point || !all(kKnowsPeer))) {
    return MakeError("peer= and port= do not apply to " +
                     (point ? "a point" : first_not(kKnowsPeer)) +
                     " (they apply to connect, send* and recv*)");
  }
  if (rule.clock != ClockKind::kRealtime && (point || !all(kReadsClock))) {
    return MakeError("clock= does not apply to " + (point ? "a point" : first_not(kReadsClock)));
  }
  if (rule.action.kind == ActionKind::kShort && (point || !all(kMovesBytes))) {
    return MakeError("short() does not apply to " + (point ? "a point" : first_not(kMovesBytes)) +
                     " (it applies to calls that move bytes)");
  }
  if (rule.action.kind == ActionKind::kSkew && (point || !all(kReadsClock))) {
    return MakeError("skew() does not apply to " + (point ? "a point" : first_not(kReadsClock)) +
                     " (it applies to clock_gettime, gettimeofday and time)");
  }
  if (rule.timeout != kDefaultHoldTimeout && rule.action.kind != ActionKind::kHold) {
    return MakeError("timeout= applies only to hold()");
  }
  if (!rule.until.empty() && rule.action.kind != ActionKind::kHold) {
    return MakeError("until= applies only to hold()");
  }
  return Ok();
}

std::string FormatRate(double rate) {
  std::array<char, 32> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), rate);
  return std::string(buffer.data(), end);
}

}  // namespace

std::span<const std::string_view> KnownCalls() { return kCalls; }
unsigned CallFacts(std::string_view call) {
  for (const CallRow& row : kCallRows) {
    if (row.name == call) return row.facts;
  }
  return 0;
}

std::optional<int> ErrnoFromName(std::string_view name) {
  for (const ErrnoEntry& entry : kErrnos) {
    if (entry.name == name) return entry.value;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (!name.empty() && ec == std::errc() && end == name.data() + name.size() && value > 0 &&
      value < 4096) {
    return value;
  }
  return std::nullopt;
}

std::string ErrnoName(int error) {
  for (const ErrnoEntry& entry : kErrnos) {
    if (entry.value == error) return std::string(entry.name);
  }
  return std::to_string(error);
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point: linear in practice, never exponential.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<Rule> ParseRule(std::string_view line) {
  Rule rule;
  std::string_view text = Trim(line);
  const std::string shown = "rule " + Quote(text);
  auto fail = [&](const std::string& why) -> Result<Rule> { return MakeError(shown + ": " + why); };

  const auto arrow = text.find("->");
  if (arrow == std::string_view::npos) {
    return fail("expected 'CALLS [FILTERS] -> ACTION(...)', e.g. 'fsync -> delay(50ms)'");
  }
  std::string_view where = Trim(text.substr(0, arrow));
  std::string_view what = Trim(text.substr(arrow + 2));

  if (where.starts_with("rule ")) {
    where.remove_prefix(5);
    const auto colon = where.find(':');
    const std::string_view id = Trim(where.substr(0, colon));
    if (colon == std::string_view::npos || !IsName(id) || id.find('/') != std::string_view::npos) {
      return fail("expected 'rule ID: ...' with an ID of letters, digits, _ - .");
    }
    rule.id = std::string(id);
    where = Trim(where.substr(colon + 1));
  }

  const std::vector<std::string_view> where_words = Words(where);
  if (where_words.empty()) return fail("no call before '->'");
  const std::string_view calls = where_words[0];
  if (calls.starts_with("point:")) {
    const std::string_view name = calls.substr(6);
    if (!IsName(name)) return fail("point:NAME needs a name (letters, digits, _ - . /)");
    rule.point = std::string(name);
  } else {
    for (std::string_view call : SplitOn(calls, ',')) {
      if (!Contains(kCalls, call)) {
        return fail("unknown call " + Quote(call) + Suggest(call, kCalls) +
                    "; see 'faultline inject --help' for the list, or use point:NAME");
      }
      if (std::find(rule.calls.begin(), rule.calls.end(), call) == rule.calls.end()) {
        rule.calls.emplace_back(call);
      }
    }
  }
  for (std::size_t i = 1; i < where_words.size(); ++i) {
    const std::string_view word = where_words[i];
    const auto equals = word.find('=');
    if (equals == std::string_view::npos) {
      return fail("expected a filter KEY=VALUE, got " + Quote(word));
    }
    const std::string_view key = word.substr(0, equals);
    const std::string_view value = word.substr(equals + 1);
    // Options may stand on either side of the arrow, filters only before it.
    const bool option =
        key == "after" || key == "times" || key == "lease" || key == "timeout" || key == "until";
    if (auto ok = option ? ParseOption(key, value, rule) : ParseFilter(key, value, rule); !ok) {
      return fail(ok.message());
    }
  }

  // [P%]NAME(ARGS) OPTIONS...
  const auto open = what.find('(');
  const auto close = what.find(')', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) {
    return fail("expected an action after '->', e.g. delay(10ms), fail(EIO), hold(h1)");
  }
  std::string_view head = Trim(what.substr(0, open));
  if (const auto percent = head.find('%'); percent != std::string_view::npos) {
    auto probability = Probability::Parse(head.substr(0, percent + 1));
    if (!probability) return fail(probability.message());
    rule.probability = *probability;
    head = Trim(head.substr(percent + 1));
  }
  if (auto ok = ParseAction(head, Trim(what.substr(open + 1, close - open - 1)), rule); !ok) {
    return fail(ok.message());
  }
  for (std::string_view word : Words(what.substr(close + 1))) {
    const auto equals = word.find('=');
    if (equals == std::string_view::npos) {
      return fail("expected an option KEY=VALUE after the action, got " + Quote(word));
    }
    if (auto ok = ParseOption(word.substr(0, equals), word.substr(equals + 1), rule); !ok) {
      return fail(ok.message());
    }
  }
  if (auto ok = CheckApplies(rule); !ok) return fail(ok.message());
  return rule;
}

Result<std::vector<Rule>> ParseRules(std::string_view text) {
  std::vector<Rule> rules;
  std::size_t number = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    const std::string_view line = Trim(text.substr(at, end - at));
    at = end + 1;
    if (line.empty() || line.starts_with('#')) continue;
    auto rule = ParseRule(line);
    if (!rule) return MakeError("line " + std::to_string(number) + ": " + rule.message());
    rules.push_back(std::move(*rule));
  }
  return rules;
}

std::string FormatRule(const Rule& rule) {
  std::string out;
  if (!rule.id.empty()) out += "rule " + rule.id + ": ";
  if (!rule.point.empty()) {
    out += "point:" + rule.point;
  } else {
    for (std::size_t i = 0; i < rule.calls.size(); ++i) {
      if (i > 0) out += ",";
      out += rule.calls[i];
    }
  }
  switch (rule.fd) {
    case FdKind::kAny:
      break;
    case FdKind::kSocket:
      out += " fd=socket";
      break;
    case FdKind::kFile:
      out += " fd=file";
      break;
    case FdKind::kPipe:
      out += " fd=pipe";
      break;
  }
  if (!rule.path.empty()) out += " path=" + rule.path;
  if (!rule.peer_address.empty()) {
    const bool v6 = rule.peer_address.find(':') != std::string::npos;
    if (rule.peer_port != 0) {
      out += " peer=" + (v6 ? "[" + rule.peer_address + "]" : rule.peer_address) + ":" +
             std::to_string(rule.peer_port);
    } else {
      out += " peer=" + rule.peer_address;
    }
  } else if (rule.peer_port != 0) {
    out += " port=" + std::to_string(rule.peer_port);
  }
  if (!rule.thread.empty()) out += " thread=" + rule.thread;
  if (rule.clock == ClockKind::kMonotonic) out += " clock=monotonic";
  if (rule.clock == ClockKind::kAll) out += " clock=all";
  if (rule.after != 0) out += " after=" + std::to_string(rule.after);
  if (rule.times != 0) out += " times=" + std::to_string(rule.times);
  out += " -> ";
  if (!rule.probability.always()) out += rule.probability.Format();
  const RuleAction& action = rule.action;
  switch (action.kind) {
    case ActionKind::kDelay:
      out += "delay(" + action.delay.ToString() + ")";
      break;
    case ActionKind::kFail:
      out += "fail(" + ErrnoName(action.error) + ")";
      break;
    case ActionKind::kShort:
      out += "short(" + std::to_string(action.short_bytes) + ")";
      break;
    case ActionKind::kHold:
      out += "hold(" + action.hold + ")";
      break;
    case ActionKind::kSkew: {
      const bool negative = action.skew_offset.count() < 0;
      out += "skew(" + std::string(negative ? "-" : "+") +
             FormatDuration(negative ? -action.skew_offset : action.skew_offset);
      if (action.skew_rate != 1.0) out += ", " + FormatRate(action.skew_rate);
      out += ")";
      break;
    }
  }
  if (rule.lease) out += " lease=" + FormatDuration(*rule.lease);
  if (rule.action.kind == ActionKind::kHold && rule.timeout != kDefaultHoldTimeout) {
    out += " timeout=" + FormatDuration(rule.timeout);
  }
  if (!rule.until.empty()) out += " until=" + rule.until;
  return out;
}

}  // namespace faultline::core
