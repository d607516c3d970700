#include "faultline/core/fault.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <utility>

#include "faultline/core/suggest.h"
#include "faultline/core/text.h"

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

// A point's, a hold's or an until= name: a name, or OWNER/POINT.
bool IsPointName(std::string_view text) {
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
Status ParsePeer(std::string_view text, FaultSelector& where) {
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
  where.peer_address = address == "*" ? "" : std::string(address);
  if (!port.empty()) {
    auto value = ParseCount("peer port", port);
    if (!value || *value == 0 || *value > 65535) {
      return MakeError("peer=" + std::string(text) + ": port must be 1 to 65535");
    }
    where.peer_port = static_cast<std::uint16_t>(*value);
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

Status ParseCallAction(std::string_view name, std::string_view args, FaultAction& action) {
  const std::string shown = std::string(name) + "(" + std::string(args) + ")";
  if (name == "delay") {
    auto dist = Distribution::Parse(args);
    if (!dist) return MakeError(shown + ": " + dist.message());
    action.on_call = CallAction::kDelay;
    action.delay = *dist;
    return Ok();
  }
  if (name == "fail") {
    auto error = ErrnoFromName(args);
    if (!error || *error <= 0) {
      return MakeError(shown + ": unknown errno " + Quote(args) + " (expected a name like EIO)");
    }
    action.on_call = CallAction::kFail;
    action.error = *error;
    return Ok();
  }
  if (name == "short") {
    auto bytes = ParseCount("short", args);
    if (!bytes) return MakeError(shown + ": expected a byte count");
    if (*bytes == 0) return MakeError(shown + ": a short transfer moves at least 1 byte");
    action.on_call = CallAction::kShort;
    action.short_bytes = *bytes;
    return Ok();
  }
  if (name == "hold") {
    if (!IsPointName(args)) {
      return MakeError(shown + ": a hold needs a name (letters, digits, _ - . /)");
    }
    action.on_call = CallAction::kHold;
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
    action.on_call = CallAction::kSkew;
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

Status ParseFilter(std::string_view key, std::string_view value, FaultSelector& where) {
  if (key == "fd") {
    if (value == "socket") {
      where.fd = FdKind::kSocket;
    } else if (value == "file") {
      where.fd = FdKind::kFile;
    } else if (value == "pipe") {
      where.fd = FdKind::kPipe;
    } else {
      return MakeError("fd=" + std::string(value) + ": expected socket, file or pipe");
    }
    return Ok();
  }
  if (key == "path") {
    if (value.empty()) return MakeError("path= needs a glob, e.g. path=/var/lib/app/*");
    where.path = std::string(value);
    return Ok();
  }
  if (key == "peer") return ParsePeer(value, where);
  if (key == "port") {
    auto port = ParseCount("port", value);
    if (!port || *port == 0 || *port > 65535) {
      return MakeError("port=" + std::string(value) + ": expected 1 to 65535");
    }
    where.peer_port = static_cast<std::uint16_t>(*port);
    return Ok();
  }
  if (key == "thread") {
    if (value.empty() || value.size() > 15) {
      return MakeError("thread=" + std::string(value) +
                       ": expected a glob on a thread name (at most 15 characters)");
    }
    where.thread = std::string(value);
    return Ok();
  }
  if (key == "clock") {
    if (value == "realtime") {
      where.clock = ClockKind::kRealtime;
    } else if (value == "monotonic") {
      where.clock = ClockKind::kMonotonic;
    } else if (value == "all") {
      where.clock = ClockKind::kAll;
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

namespace {

// Gate words, and a hold's own (timeout, until); they may stand on either side of the arrow.
bool IsGateKey(std::string_view key) {
  return key == "after" || key == "times" || key == "lease" || key == "timeout" || key == "until";
}

Status ParseGate(std::string_view key, std::string_view value, Fault& fault) {
  if (key == "after" || key == "times") {
    auto count = ParseCount(key, value);
    if (!count) return count.error();
    (key == "after" ? fault.gate.after : fault.gate.times) = *count;
    if (key == "times" && *count == 0) return MakeError("times=0 would never act; leave it out");
    return Ok();
  }
  if (key == "lease" || key == "timeout") {
    auto duration = ParseDuration(value);
    if (!duration)
      return MakeError(std::string(key) + "=" + std::string(value) + ": " + duration.message());
    if (duration->count() <= 0) return MakeError(std::string(key) + " must be above zero");
    if (key == "lease") {
      fault.gate.lease = *duration;
    } else {
      fault.action.timeout = *duration;
    }
    return Ok();
  }
  if (key == "until") {
    const auto slash = value.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == value.size() ||
        !IsPointName(value)) {
      return MakeError("until=" + std::string(value) +
                       ": expected OWNER/POINT, a proxy's hold or point toxic (PROXY/TOXIC) or "
                       "a service's rule or hold (SERVICE/RULE, SERVICE/HOLD)");
    }
    fault.action.until = std::string(value);
    return Ok();
  }
  static constexpr std::array<std::string_view, 5> kOptions = {"after", "times", "lease", "timeout",
                                                               "until"};
  return MakeError("unknown option " + Quote(key) + Suggest(key, kOptions) +
                   "; expected after, times, lease, timeout or until");
}

// A proxy's connection selectors: conn=K every=N client=IP.
bool IsConnectionKey(std::string_view key) {
  return key == "conn" || key == "every" || key == "client";
}

Status ParseConnection(std::string_view key, std::string_view value, Connections& connections) {
  if (key == "client") {
    if (!IsAddressLiteral(value)) {
      return MakeError("client=" + std::string(value) + ": expected an IP address");
    }
    connections.client = std::string(value);
    return Ok();
  }
  auto count = ParseCount(key, value);
  if (!count) return count.error();
  if (*count == 0) return MakeError(std::string(key) + "=0 would match no connection");
  (key == "conn" ? connections.connection : connections.every) = *count;
  return Ok();
}

// What the fault's family takes: after=, times=, timeout= and until= only on calls, a chance
// not on a process; on calls, filters and actions that name something a call does not have
// are mistakes, not no-ops.
Status CheckApplies(const Fault& fault) {
  const FaultSelector& where = fault.where;
  const FaultAction& action = fault.action;
  const Family family = action.kind->family;
  if (family != Family::kShim) {
    if (fault.gate.after != 0 || fault.gate.times != 0) {
      return MakeError(std::string(fault.gate.after != 0 ? "after=" : "times=") +
                       " applies only to calls");
    }
    if (action.timeout != kDefaultHoldTimeout || !action.until.empty()) {
      return MakeError(std::string(action.until.empty() ? "timeout=" : "until=") +
                       " applies only to hold() on calls (a proxy's hold takes timeout and "
                       "release_on)");
    }
    if (family == Family::kProcess && !fault.gate.probability.always()) {
      return MakeError("a chance does not apply to " + std::string(action.kind->name) +
                       ": it acts on its target once");
    }
    return Ok();
  }
  // Whether every call of the fault has one of `facts`, and the first that has none.
  auto all = [&](unsigned facts) {
    return std::all_of(where.calls.begin(), where.calls.end(),
                       [&](const std::string& c) { return (CallFacts(c) & facts) != 0; });
  };
  auto first_not = [&](unsigned facts) {
    for (const std::string& c : where.calls) {
      if ((CallFacts(c) & facts) == 0) return c;
    }
    return std::string();
  };
  const bool point = !where.point.empty();
  if (where.fd != FdKind::kAny && (point || !all(kKnowsFd))) {
    return MakeError("fd= does not apply to " + (point ? "a point" : first_not(kKnowsFd)));
  }
  if (!where.path.empty() && (point || !all(kKnowsFd | kKnowsPath))) {
    return MakeError("path= does not apply to " +
                     (point ? "a point" : first_not(kKnowsFd | kKnowsPath)));
  }
  if ((!where.peer_address.empty() || where.peer_port != 0) && (point || !all(kKnowsPeer))) {
    return MakeError("peer= and port= do not apply to " +
                     (point ? "a point" : first_not(kKnowsPeer)) +
                     " (they apply to connect, send* and recv*)");
  }
  if (where.clock != ClockKind::kRealtime && (point || !all(kReadsClock))) {
    return MakeError("clock= does not apply to " + (point ? "a point" : first_not(kReadsClock)));
  }
  if (action.on_call == CallAction::kShort && (point || !all(kMovesBytes))) {
    return MakeError("short() does not apply to " + (point ? "a point" : first_not(kMovesBytes)) +
                     " (it applies to calls that move bytes)");
  }
  if (action.on_call == CallAction::kSkew && (point || !all(kReadsClock))) {
    return MakeError("skew() does not apply to " + (point ? "a point" : first_not(kReadsClock)) +
                     " (it applies to clock_gettime, gettimeofday and time)");
  }
  if (action.timeout != kDefaultHoldTimeout && action.on_call != CallAction::kHold) {
    return MakeError("timeout= applies only to hold()");
  }
  if (!action.until.empty() && action.on_call != CallAction::kHold) {
    return MakeError("until= applies only to hold()");
  }
  return Ok();
}

// A setting's value: as it is, or in double quotes (\" and \\ escaped) when it holds what
// would end it (a comma, a parenthesis, a quote, spaces at its ends). Returns where it ends.
Result<std::size_t> ReadSettingValue(std::string_view text, std::size_t at, std::string& value) {
  value.clear();
  if (at < text.size() && text[at] == '"') {
    for (std::size_t i = at + 1; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        value += text[++i];
      } else if (text[i] == '"') {
        return i + 1;
      } else {
        value += text[i];
      }
    }
    return MakeError("a quoted value has no closing '\"'");
  }
  // Unquoted, it runs to the next comma that starts another NAME=VALUE, or to the end.
  std::size_t end = at;
  while (end < text.size()) {
    if (text[end] == ',') {
      std::size_t next = end + 1;
      while (next < text.size() && text[next] == ' ') ++next;
      std::size_t name_end = next;
      while (name_end < text.size() &&
             ((text[name_end] >= 'a' && text[name_end] <= 'z') || text[name_end] == '_')) {
        ++name_end;
      }
      if (name_end > next && name_end < text.size() && text[name_end] == '=') break;
    }
    ++end;
  }
  value = std::string(Trim(text.substr(at, end - at)));
  return end;
}

std::string QuoteSettingValue(const std::string& value) {
  const bool plain = !value.empty() && value.front() != '"' && value.front() != ' ' &&
                     value.back() != ' ' && value.find_first_of(",()") == std::string::npos;
  if (plain) return value;
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

Result<Attributes> ReadSettings(const KindInfo& kind, std::string_view args) {
  const std::string what = std::string(kind.name);
  Attributes settings;
  std::size_t at = 0;
  while (true) {
    while (at < args.size() && args[at] == ' ') ++at;
    if (at >= args.size()) break;
    const auto equals = args.find('=', at);
    if (equals == std::string_view::npos) {
      if (kind.attributes.empty()) return MakeError(what + " takes no settings");
      return MakeError(what + "(" + std::string(args) + "): expected NAME=VALUE, e.g. " +
                       std::string(kind.attributes.front().name) + "=...");
    }
    const std::string_view name = Trim(args.substr(at, equals - at));
    const AttributeInfo* info = FindAttribute(kind.attributes, name);
    if (info == nullptr) {
      std::vector<std::string_view> known;
      for (const AttributeInfo& a : kind.attributes) known.push_back(a.name);
      return MakeError("unknown attribute " + Quote(name) + " for " + what + Suggest(name, known) +
                       (known.empty() ? " (it takes none)"
                                      : " (known: " + AttributeNames(kind.attributes) + ")"));
    }
    if (settings.contains(name)) return MakeError(Quote(name) + " is given twice");
    std::string text;
    auto end = ReadSettingValue(args, equals + 1, text);
    if (!end) return MakeError(std::string(name) + ": " + end.message());
    bool bare = false;
    auto value = ReadWrittenAttribute(*info, text, bare);
    if (!value) return value.error();
    if (bare) {
      return MakeError(std::string(name) + "=" + text + ": a duration takes its unit, e.g. " +
                       std::string(name) + "=" + text + std::string(info->unit));
    }
    settings.emplace(std::string(name), std::move(*value));
    at = *end;
    while (at < args.size() && args[at] == ' ') ++at;
    if (at < args.size()) {
      if (args[at] != ',') return MakeError("expected ',' between settings in " + what + "(...)");
      ++at;
    }
  }
  Attributes checked = settings;  // the defaults are filled in a copy: a fault keeps its own
  if (auto ok = ValidateAttributes(kind.attributes, what, checked); !ok) return ok.error();
  return settings;
}

bool Restarts(const Fault& kill) {
  return IntegerAttribute(kill.action.settings, "restart") != 0 ||
         kill.action.settings.contains("restart_after");
}

Duration RestartAfter(const Fault& kill) {
  return std::chrono::milliseconds(IntegerAttribute(kill.action.settings, "restart_after"));
}

namespace {

std::string FormatSettings(const KindInfo& kind, const Attributes& settings) {
  std::string out;
  for (const auto& [name, value] : settings) {
    const AttributeInfo* info = FindAttribute(kind.attributes, name);
    const std::string text = info ? FormatWrittenAttribute(*info, value) : "";
    out += (out.empty() ? "" : ", ") + name + "=" + QuoteSettingValue(text);
  }
  return out;
}

// The calls of a selector: CALLS or point:NAME.
Status ParseCalls(std::string_view calls, FaultSelector& where) {
  if (calls.starts_with("point:")) {
    const std::string_view name = calls.substr(6);
    if (!IsPointName(name)) return MakeError("point:NAME needs a name (letters, digits, _ - . /)");
    where.point = std::string(name);
    return Ok();
  }
  for (std::string_view call : SplitOn(calls, ',')) {
    if (!Contains(kCalls, call)) {
      return MakeError("unknown call " + Quote(call) + Suggest(call, kCalls) +
                       "; see 'faultline inject --help' for the list, or use point:NAME");
    }
    if (std::find(where.calls.begin(), where.calls.end(), call) == where.calls.end()) {
      where.calls.emplace_back(call);
    }
  }
  return Ok();
}

// The kinds a target takes, for messages and suggestions.
std::vector<std::string_view> KindNames(Family family) {
  std::vector<std::string_view> names;
  for (const KindInfo& kind : Kinds()) {
    if (kind.family == family) names.push_back(kind.name);
  }
  return names;
}

// [P%]NAME[(ARGS)]: the action, as the target takes it.
Status ParseAction(std::string_view head, std::string_view args, bool has_args, Fault& fault) {
  if (const auto percent = head.find('%'); percent != std::string_view::npos) {
    auto probability = Probability::Parse(head.substr(0, percent + 1));
    if (!probability) return probability.error();
    fault.gate.probability = *probability;
    head = Trim(head.substr(percent + 1));
  }
  FaultAction& action = fault.action;
  if (fault.where.on_calls()) {
    if (!has_args) {
      return MakeError("expected an action after '->', e.g. delay(10ms), fail(EIO), hold(h1)");
    }
    if (auto ok = ParseCallAction(head, args, action); !ok) return ok;
    action.kind = FindKind(action.on_call == CallAction::kSkew ? "skew" : "rule");
    return Ok();
  }
  const bool proxy = fault.where.target_kind == TargetKind::kProxy;
  const Family family = proxy ? Family::kProxy : Family::kProcess;
  const KindInfo* kind = FindKind(head);
  if (kind == nullptr || kind->family != family) {
    const std::vector<std::string_view> known = KindNames(family);
    std::string list;
    for (const std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return MakeError("unknown action " + Quote(head) + " on a " + (proxy ? "proxy" : "process") +
                     Suggest(head, known) + "; expected " + list +
                     (proxy ? "" : ", or calls before '->' for a rule"));
  }
  action.kind = kind;
  auto settings = ReadSettings(*kind, args);
  if (!settings) return settings.error();
  action.settings = std::move(*settings);
  if (fault.where.target_kind == TargetKind::kClients && Restarts(fault)) {
    return MakeError("clients are not restarted; restart applies to a service");
  }
  return Ok();
}

}  // namespace

std::string_view StreamName(Stream stream) {
  return stream == Stream::kUpstream ? "upstream" : "downstream";
}

std::optional<Stream> ParseStream(std::string_view text) {
  if (text == "upstream") return Stream::kUpstream;
  if (text == "downstream") return Stream::kDownstream;
  return std::nullopt;
}

bool Connections::Matches(std::uint64_t connection_index, std::string_view client_ip) const {
  if (connection != 0 && connection_index != connection) return false;
  if (every != 0 && connection_index % every != 0) return false;
  return client.empty() || client == client_ip;
}

Result<Fault> ParseFault(std::string_view line) {
  Fault fault;
  std::string_view text = Trim(line);
  const std::string shown = "rule " + Quote(text);
  auto fail = [&](const std::string& why) -> Result<Fault> {
    return MakeError(shown + ": " + why);
  };

  const auto arrow = text.find("->");
  if (arrow == std::string_view::npos) {
    return fail(
        "expected '[TARGET] [CALLS FILTERS] -> ACTION', e.g. 'fsync -> delay(50ms)' or 'proxy db "
        "-> latency(latency=100ms)'");
  }
  std::string_view where = Trim(text.substr(0, arrow));
  std::string_view what = Trim(text.substr(arrow + 2));

  if (where.starts_with("rule ")) {
    where.remove_prefix(5);
    const auto colon = where.find(':');
    const std::string_view id = Trim(where.substr(0, colon));
    if (colon == std::string_view::npos || !IsPointName(id) ||
        id.find('/') != std::string_view::npos) {
      return fail("expected 'rule ID: ...' with an ID of letters, digits, _ - .");
    }
    fault.id = std::string(id);
    where = Trim(where.substr(colon + 1));
  }

  const std::vector<std::string_view> words = SplitWords(where);
  std::size_t next = 0;
  FaultSelector& selector = fault.where;
  if (!words.empty() && (words[0] == "proxy" || words[0] == "service" || words[0] == "clients")) {
    selector.target_kind = words[0] == "proxy"     ? TargetKind::kProxy
                           : words[0] == "service" ? TargetKind::kService
                                                   : TargetKind::kClients;
    if (words.size() < 2 || !IsName(words[1])) {
      return fail(std::string(words[0]) + " needs a name: letters, digits, '_', '.' and '-'");
    }
    selector.target = std::string(words[1]);
    next = 2;
    if (selector.target_kind == TargetKind::kProxy && next < words.size()) {
      if (auto stream = ParseStream(words[next])) {
        selector.stream = *stream;
        ++next;
      }
    }
  }
  const bool proxy = selector.target_kind == TargetKind::kProxy;
  const bool calls_allowed =
      selector.target_kind == TargetKind::kSelf || selector.target_kind == TargetKind::kService;
  if (next < words.size() && words[next].find('=') == std::string_view::npos) {
    if (!calls_allowed) {
      return fail("unexpected " + Quote(words[next]) + " after " +
                  (proxy ? "the proxy (its direction is upstream or downstream)"
                         : "the clients (they take pause or kill)"));
    }
    if (auto ok = ParseCalls(words[next], selector); !ok) return fail(ok.message());
    ++next;
  } else if (selector.target_kind == TargetKind::kSelf) {
    return fail(words.empty() ? "no call before '->'"
                              : "expected calls or a target (proxy, service, clients) before " +
                                    Quote(words[next]));
  }
  for (; next < words.size(); ++next) {
    const std::string_view word = words[next];
    const auto equals = word.find('=');
    if (equals == std::string_view::npos) {
      return fail("expected a filter KEY=VALUE, got " + Quote(word));
    }
    const std::string_view key = word.substr(0, equals);
    const std::string_view value = word.substr(equals + 1);
    Status ok = Ok();
    if (IsGateKey(key)) {
      ok = ParseGate(key, value, fault);
    } else if (proxy) {
      ok = IsConnectionKey(key) ? ParseConnection(key, value, selector.connections)
                                : MakeError("unknown selector " + Quote(key) +
                                            " on a proxy; expected conn, every or client");
    } else if (selector.on_calls()) {
      ok = ParseFilter(key, value, selector);
    } else {
      ok = MakeError("filter " + Quote(key) + " needs calls before it (e.g. 'service " +
                     selector.target + " send " + std::string(word) + "')");
    }
    if (!ok) return fail(ok.message());
  }

  // [P%]NAME[(ARGS)] GATE...
  const auto open = what.find('(');
  const auto close = what.rfind(')');
  const bool has_args = open != std::string_view::npos;
  if (has_args && (close == std::string_view::npos || close < open)) {
    return fail("missing ')' after the action's arguments");
  }
  std::string_view head;
  std::string_view args;
  std::string_view rest;
  if (has_args) {
    head = Trim(what.substr(0, open));
    args = Trim(what.substr(open + 1, close - open - 1));
    rest = what.substr(close + 1);
  } else {
    const auto space = what.find_first_of(" \t");
    head = what.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : what.substr(space);
  }
  if (head.empty() || head.ends_with('%')) {
    return fail("expected an action after '->', e.g. delay(10ms), fail(EIO), hold(h1)");
  }
  if (auto ok = ParseAction(head, args, has_args, fault); !ok) return fail(ok.message());
  for (std::string_view word : SplitWords(rest)) {
    const auto equals = word.find('=');
    if (equals == std::string_view::npos) {
      return fail("expected an option KEY=VALUE after the action, got " + Quote(word));
    }
    if (auto ok = ParseGate(word.substr(0, equals), word.substr(equals + 1), fault); !ok) {
      return fail(ok.message());
    }
  }
  if (auto ok = CheckApplies(fault); !ok) return fail(ok.message());
  return fault;
}

Result<Fault> SkewFault(std::string_view offset, std::string_view rate) {
  Fault fault;
  fault.where.calls = {"clock_gettime", "gettimeofday", "time"};
  fault.where.clock = ClockKind::kAll;
  const std::string args = std::string(offset) + (rate.empty() ? "" : ", " + std::string(rate));
  if (auto ok = ParseCallAction("skew", args, fault.action); !ok) return ok.error();
  fault.action.kind = FindKind("skew");
  return fault;
}

Status CheckRule(const Fault& fault) {
  if (!fault.where.on_calls()) {
    return MakeError("rule '" + FormatFault(fault) + "' is a fault on a " +
                     (fault.where.target_kind == TargetKind::kProxy ? "proxy" : "process") +
                     ", not a rule: a rule acts on calls, e.g. 'fsync -> delay(50ms)'");
  }
  if (fault.where.target_kind != TargetKind::kSelf) {
    return MakeError("rule '" + FormatFault(fault) + "' names a target; a rule acts on the " +
                     "process it is given to, so leave out 'service " + fault.where.target + "'");
  }
  return Ok();
}

Result<std::vector<Fault>> ParseFaults(std::string_view text, Status (*check)(const Fault&)) {
  std::vector<Fault> faults;
  std::size_t number = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    const std::string_view line = Trim(text.substr(at, end - at));
    at = end + 1;
    if (line.empty() || line.starts_with('#')) continue;
    auto fault = ParseFault(line);
    if (!fault) return MakeError("line " + std::to_string(number) + ": " + fault.message());
    if (check != nullptr) {
      if (auto ok = check(*fault); !ok) {
        return MakeError("line " + std::to_string(number) + ": " + ok.message());
      }
    }
    faults.push_back(std::move(*fault));
  }
  return faults;
}

std::string FormatFault(const Fault& fault) {
  const FaultSelector& where = fault.where;
  std::string out;
  if (!fault.id.empty()) out += "rule " + fault.id + ": ";
  switch (where.target_kind) {
    case TargetKind::kSelf:
      break;
    case TargetKind::kProxy:
      out += "proxy " + where.target + " " + std::string(StreamName(where.stream));
      if (where.connections.connection != 0)
        out += " conn=" + std::to_string(where.connections.connection);
      if (where.connections.every != 0) out += " every=" + std::to_string(where.connections.every);
      if (!where.connections.client.empty()) out += " client=" + where.connections.client;
      break;
    case TargetKind::kService:
      out += "service " + where.target;
      break;
    case TargetKind::kClients:
      out += "clients " + where.target;
      break;
  }
  if (where.on_calls()) {
    if (!out.empty() && !out.ends_with(": ")) out += " ";
    if (!where.point.empty()) {
      out += "point:" + where.point;
    } else {
      for (std::size_t i = 0; i < where.calls.size(); ++i) {
        if (i > 0) out += ",";
        out += where.calls[i];
      }
    }
  }
  switch (where.fd) {
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
  if (!where.path.empty()) out += " path=" + where.path;
  if (!where.peer_address.empty()) {
    const bool v6 = where.peer_address.find(':') != std::string::npos;
    if (where.peer_port != 0) {
      out += " peer=" + (v6 ? "[" + where.peer_address + "]" : where.peer_address) + ":" +
             std::to_string(where.peer_port);
    } else {
      out += " peer=" + where.peer_address;
    }
  } else if (where.peer_port != 0) {
    out += " port=" + std::to_string(where.peer_port);
  }
  if (!where.thread.empty()) out += " thread=" + where.thread;
  if (where.clock == ClockKind::kMonotonic) out += " clock=monotonic";
  if (where.clock == ClockKind::kAll) out += " clock=all";
  if (fault.gate.after != 0) out += " after=" + std::to_string(fault.gate.after);
  if (fault.gate.times != 0) out += " times=" + std::to_string(fault.gate.times);
  out += " -> ";
  if (!fault.gate.probability.always()) out += fault.gate.probability.Format();
  const FaultAction& action = fault.action;
  if (!where.on_calls()) {
    out += std::string(action.kind->name);
    if (!action.settings.empty()) out += "(" + FormatSettings(*action.kind, action.settings) + ")";
  } else {
    switch (action.on_call) {
      case CallAction::kDelay:
        out += "delay(" + action.delay.ToString() + ")";
        break;
      case CallAction::kFail:
        out += "fail(" + ErrnoName(action.error) + ")";
        break;
      case CallAction::kShort:
        out += "short(" + std::to_string(action.short_bytes) + ")";
        break;
      case CallAction::kHold:
        out += "hold(" + action.hold + ")";
        break;
      case CallAction::kSkew: {
        const bool negative = action.skew_offset.count() < 0;
        out += "skew(" + std::string(negative ? "-" : "+") +
               FormatDuration(negative ? -action.skew_offset : action.skew_offset);
        if (action.skew_rate != 1.0) out += ", " + FormatRate(action.skew_rate);
        out += ")";
        break;
      }
    }
  }
  if (fault.gate.lease) out += " lease=" + FormatDuration(*fault.gate.lease);
  if (action.on_call == CallAction::kHold && action.timeout != kDefaultHoldTimeout) {
    out += " timeout=" + FormatDuration(action.timeout);
  }
  if (!action.until.empty()) out += " until=" + action.until;
  return out;
}

}  // namespace faultline::core
