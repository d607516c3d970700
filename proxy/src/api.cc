#include "faultline/proxy/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <boost/json/serialize.hpp>

#include "faultline/proxy/json.h"

namespace faultline::proxy {
namespace {

namespace bj = boost::json;

HttpResponse JsonResponse(int status, const bj::value& value) {
  return {status, bj::serialize(value), "application/json"};
}

HttpResponse NoContent() { return {204, "", ""}; }

HttpResponse FromError(const core::Error& error) {
  return ErrorResponse(error.code != 0 ? error.code : 500, error.message);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends `text` with its %XX escapes decoded (and, in a query, '+' as a space); false on a
// malformed escape.
bool Decode(std::string_view text, bool plus_is_space, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && text[i] == '+' ? ' ' : text[i]);
    }
  }
  return true;
}

// Splits "/proxies/a%20b/toxics" into decoded segments; false on a malformed escape. A
// leading and a trailing '/' make no segment; "//" makes an empty one.
bool SplitPath(std::string_view target, std::vector<std::string>& segments) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with('/')) target.remove_prefix(1);
  if (target.ends_with('/')) target.remove_suffix(1);
  if (target.empty()) return true;
  for (std::size_t start = 0;;) {
    const auto slash = target.find('/', start);
    std::string segment;
    if (!Decode(target.substr(start, slash - start), false, segment)) return false;
    segments.push_back(std::move(segment));
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// Decoded "?a=1&b=2"; false on a malformed escape. A key without '=' maps to "".
bool ParseQuery(std::string_view target, std::map<std::string, std::string>& query) {
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return true;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (!Decode(pair.substr(0, eq), true, key)) return false;
    if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), true, value)) return false;
    query[std::move(key)] = std::move(value);
  }
  return true;
}

// A non-negative whole number from the query, or an error naming the parameter.
core::Result<std::optional<std::uint64_t>> QueryCount(
    const std::map<std::string, std::string>& query, const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::optional<std::uint64_t>();
  std::uint64_t value = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return core::MakeError("query parameter '" + name + "' must be a non-negative whole number",
                           400);
  }
  return std::optional<std::uint64_t>(value);
}

bj::object HoldToJson(const HoldInfo& hold) {
  bj::object object;
  object["id"] = hold.id;
  object["proxy"] = hold.proxy;
  object["hold"] = hold.toxic;
  object["direction"] = hold.direction;
  object["connection"] = hold.connection;
  object["since_us"] = hold.since_us;
  object["release_on"] = hold.release_on;
  if (!hold.release_on.empty()) object["release_after"] = hold.release_after;
  return object;
}

bj::array HoldArray(const std::vector<HoldInfo>& holds) {
  bj::array array;
  for (const HoldInfo& hold : holds) array.push_back(HoldToJson(hold));
  return array;
}

bj::array ToxicArray(const std::vector<ToxicSpec>& toxics) {
  bj::array array;
  for (const ToxicSpec& t : toxics) array.push_back(json::ToJson(t));
  return array;
}

HttpResponse MethodNotAllowed(std::string_view method, std::string_view path) {
  return ErrorResponse(405,
                       "method " + std::string(method) + " is not allowed on " + std::string(path));
}

// Error messages quote what the client sent, which may not be UTF-8; JSON must be.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80           ? 1
                         : (c >> 5) == 0x6  ? 2
                         : (c >> 4) == 0xe  ? 3
                         : (c >> 3) == 0x1e ? 4
                                            : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (valid && length > 1) {
      // Reject overlong forms and surrogates, as JSON parsers do.
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xc0 || c == 0xc1 || (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) ||
                (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90) || c > 0xf4);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\\x";
      static constexpr char kHex[] = "0123456789abcdef";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
      i += 1;
    }
  }
  return out;
}

// True when the two are equal, in a time that depends on the lengths alone and never on where
// they first differ, so a client cannot find the token a byte at a time by timing replies.
bool ConstantTimeEqual(std::string_view offered, std::string_view expected) {
  volatile unsigned char difference = offered.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto o = static_cast<unsigned char>(i < offered.size() ? offered[i] : 0);
    const auto e = static_cast<unsigned char>(expected[i]);
    difference = static_cast<unsigned char>(difference | (o ^ e));
  }
  return difference == 0;
}

// "Bearer <credentials>", the scheme in any case (RFC 7235), or none.
std::optional<std::string_view> BearerCredentials(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view credentials = authorization.substr(kScheme.size());
  if (credentials.front() != ' ' && credentials.front() != '\t') return std::nullopt;
  while (!credentials.empty() && (credentials.front() == ' ' || credentials.front() == '\t')) {
    credentials.remove_prefix(1);
  }
  while (!credentials.empty() && (credentials.back() == ' ' || credentials.back() == '\t')) {
    credentials.remove_suffix(1);
  }
  return credentials;
}

// True when a Prefer header (RFC 7240: "handling=strict, respond-async") asks for strict
// handling. Names are case-insensitive; a value may be quoted.
bool PrefersStrict(std::string_view prefer) {
  const auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  };
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  while (!prefer.empty()) {
    const auto comma = prefer.find(',');
    std::string_view preference = prefer.substr(0, comma);
    prefer = comma == std::string_view::npos ? std::string_view{} : prefer.substr(comma + 1);
    preference = trim(preference.substr(0, preference.find(';')));
    const auto equals = preference.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view value = trim(preference.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (lower(trim(preference.substr(0, equals))) == "handling" && lower(value) == "strict") {
      return true;
    }
  }
  return false;
}

HttpResponse Unauthorized(std::string_view message) {
  HttpResponse response = ErrorResponse(401, message);
  response.www_authenticate = "Bearer";
  return response;
}

}  // namespace

core::Result<std::string> ReadTokenFile(const std::string& path) {
  constexpr std::size_t kMaxToken = 4096;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::MakeError(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buffer[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return core::MakeError(path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > 2 * kMaxToken) break;  // not a token file; do not read it all
  }
  ::close(fd);
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.back())) text.pop_back();
  const auto first = std::find_if_not(text.begin(), text.end(), space);
  text.erase(text.begin(), first);
  if (text.empty()) return core::MakeError(path + ": the token file is empty");
  if (text.size() > kMaxToken) {
    return core::MakeError(path + ": the token is longer than " + std::to_string(kMaxToken) +
                           " characters");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c > 0x7e) {
      return core::MakeError(path + ": the token must be one line of printable ASCII; byte " +
                             std::to_string(i + 1) + " is not");
    }
  }
  return text;
}

bool Api::Authorized(std::string_view authorization) const {
  const auto credentials = BearerCredentials(authorization);
  // Compare something even when the scheme is wrong, so that case takes as long.
  return ConstantTimeEqual(credentials.value_or(std::string_view{}), token_) &&
         credentials.has_value();
}

HttpResponse ErrorResponse(int status, std::string_view message) {
  bj::object body;
  body["error"] = ValidUtf8(message);
  body["status"] = status;
  return JsonResponse(status, body);
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const bool strict = PrefersStrict(request.prefer);
  json::Reading reading{strict ? json::Leniency::kStrict : json::Leniency::kToxiproxy};
  HttpResponse response = Route(request, reading);
  response.warnings = std::move(reading.warnings);
  response.strict = strict;
  return response;
}

HttpResponse Api::Route(const HttpRequest& request, json::Reading& reading) {
  // Toxiproxy's guard against cross-site requests from browsers.
  if (request.user_agent.rfind("Mozilla/", 0) == 0) {
    return ErrorResponse(403, "User agent not allowed");
  }
  if (request.body.size() > kMaxRequestBody) {
    return ErrorResponse(413, "request body is larger than 1 MiB");
  }
  std::vector<std::string> path;
  const bool path_ok = SplitPath(request.target, path);
  // Only /version stays open: clients and health checks use it to see the server is up.
  const bool open_route = path_ok && path.size() == 1 && path[0] == "version";
  if (!token_.empty() && !open_route && !Authorized(request.authorization)) {
    if (request.authorization.empty()) {
      return Unauthorized("this API needs a token: send 'Authorization: Bearer <token>'");
    }
    if (!BearerCredentials(request.authorization)) {
      return Unauthorized("the Authorization header must be 'Bearer <token>'");
    }
    return Unauthorized("wrong token");
  }
  if (!path_ok) return ErrorResponse(400, "malformed escape in path");
  const std::string& method = request.method;
  const bool is_get = method == "GET";
  const bool is_post = method == "POST";
  const bool is_patch = method == "PATCH";
  const bool is_delete = method == "DELETE";

  auto body = [&]() -> core::Result<bj::value> { return json::Parse(request.body); };

  if (path.size() == 1 && path[0] == "version") {
    if (!is_get) return MethodNotAllowed(method, request.target);
    bj::object v;
    v["version"] = kToxiproxyApiVersion;
    v["faultline"] = version_;
    return JsonResponse(200, v);
  }
  if (path.size() == 1 && path[0] == "metrics") {
    if (!is_get) return MethodNotAllowed(method, request.target);
    prometheus::TextSerializer serializer;
    return {200, serializer.Serialize(server_.metrics().Collect()),
            "text/plain; version=0.0.4; charset=utf-8"};
  }
  if (path.size() == 1 && path[0] == "reset") {
    if (!is_post) return MethodNotAllowed(method, request.target);
    if (auto ok = server_.Reset(); !ok) return FromError(ok.error());
    return NoContent();
  }
  if (path.size() == 1 && path[0] == "populate") {
    if (!is_post) return MethodNotAllowed(method, request.target);
    auto value = body();
    if (!value) return FromError(value.error());
    auto proxies = json::ProxyListFromJson(*value, reading);
    if (!proxies) return FromError(proxies.error());
    auto created = server_.Populate(std::move(*proxies));
    if (!created) {
      bj::object error;
      error["error"] = created.message();
      error["status"] = created.code();
      error["proxies"] = bj::array();
      return JsonResponse(created.code(), error);
    }
    bj::array list;
    for (const ProxyState& p : *created) list.push_back(json::ToJson(p));
    bj::object result;
    result["proxies"] = std::move(list);
    return JsonResponse(201, result);
  }
  std::map<std::string, std::string> query;
  if (!ParseQuery(request.target, query)) return ErrorResponse(400, "malformed escape in query");
  if (path.size() == 1 && path[0] == "holds") {
    if (!is_get) return MethodNotAllowed(method, request.target);
    bj::object result;
    result["holds"] = HoldArray(server_.Holds());
    return JsonResponse(200, result);
  }
  if (path.size() == 1 && path[0] == "events") {
    if (!is_get) return MethodNotAllowed(method, request.target);
    auto since = QueryCount(query, "since");
    if (!since) return FromError(since.error());
    auto limit = QueryCount(query, "limit");
    if (!limit) return FromError(limit.error());
    const std::size_t max = static_cast<std::size_t>(
        std::min<std::uint64_t>(limit->value_or(kMaxEventsPerRequest), kMaxEventsPerRequest));
    bj::array events;
    std::uint64_t last = since->value_or(0);
    for (const Event& event : server_.events().Since(since->value_or(0), max)) {
      last = event.seq;
      events.push_back(ToJson(event));
    }
    bj::object result;
    result["events"] = std::move(events);
    result["next"] = last;  // pass back as ?since= to continue
    return JsonResponse(200, result);
  }
  if (path.size() == 5 && path[0] == "proxies" && path[2] == "holds" && path[4] == "release") {
    if (!is_post) return MethodNotAllowed(method, request.target);
    auto connection = QueryCount(query, "connection");
    if (!connection) return FromError(connection.error());
    const auto all = query.find("all");
    const bool release_all =
        all != query.end() && (all->second.empty() || all->second == "1" || all->second == "true");
    auto released = server_.ReleaseHold(path[1], path[3], *connection, release_all);
    if (!released) return FromError(released.error());
    bj::object result;
    result["released"] = HoldArray(*released);
    return JsonResponse(200, result);
  }
  if (path.empty() || path[0] != "proxies" || path.size() > 4 ||
      (path.size() >= 3 && path[2] != "toxics")) {
    return ErrorResponse(404, "no such endpoint: " + request.target);
  }

  if (path.size() == 1) {
    if (is_get) {
      bj::object all;
      for (const ProxyState& p : server_.List()) all[p.spec.name] = json::ToJson(p);
      return JsonResponse(200, all);
    }
    if (!is_post) return MethodNotAllowed(method, request.target);
    auto value = body();
    if (!value) return FromError(value.error());
    auto proxy = json::ProxyFromJson(*value, reading);
    if (!proxy) return FromError(proxy.error());
    auto created = server_.Create(std::move(proxy->spec), std::move(proxy->toxics));
    if (!created) return FromError(created.error());
    return JsonResponse(201, json::ToJson(*created));
  }

  const std::string& proxy_name = path[1];
  if (path.size() == 2) {
    if (is_get) {
      auto proxy = server_.Get(proxy_name);
      if (!proxy) return FromError(proxy.error());
      return JsonResponse(200, json::ToJson(*proxy));
    }
    if (is_post || is_patch) {
      if (auto proxy = server_.Get(proxy_name); !proxy) return FromError(proxy.error());
      auto value = body();
      if (!value) return FromError(value.error());
      auto patch = json::ProxyPatchFromJson(*value, reading);
      if (!patch) return FromError(patch.error());
      auto updated = server_.Update(proxy_name, *patch);
      if (!updated) return FromError(updated.error());
      return JsonResponse(200, json::ToJson(*updated));
    }
    if (is_delete) {
      if (auto ok = server_.Delete(proxy_name); !ok) return FromError(ok.error());
      return NoContent();
    }
    return MethodNotAllowed(method, request.target);
  }

  auto proxy = server_.Get(proxy_name);
  if (!proxy) return FromError(proxy.error());
  if (path.size() == 3) {
    if (is_get) return JsonResponse(200, ToxicArray(proxy->toxics));
    if (!is_post) return MethodNotAllowed(method, request.target);
    auto value = body();
    if (!value) return FromError(value.error());
    auto toxic = json::ToxicFromJson(*value, reading);
    if (!toxic) return FromError(toxic.error());
    auto added = server_.AddToxic(proxy_name, std::move(*toxic));
    if (!added) return FromError(added.error());
    return JsonResponse(200, json::ToJson(*added));
  }

  const std::string& toxic_name = path[3];
  const ToxicSpec* current = nullptr;
  for (const ToxicSpec& t : proxy->toxics) {
    if (t.name == toxic_name) current = &t;
  }
  if (is_get) {
    if (current == nullptr) return ErrorResponse(404, "toxic not found");
    return JsonResponse(200, json::ToJson(*current));
  }
  if (is_post || is_patch) {
    if (current == nullptr) return ErrorResponse(404, "toxic not found");
    auto value = body();
    if (!value) return FromError(value.error());
    auto patch = json::ToxicPatchFromJson(*value, *current, reading);
    if (!patch) return FromError(patch.error());
    auto updated = server_.UpdateToxic(proxy_name, toxic_name, *patch);
    if (!updated) return FromError(updated.error());
    return JsonResponse(200, json::ToJson(*updated));
  }
  if (is_delete) {
    if (auto ok = server_.RemoveToxic(proxy_name, toxic_name); !ok) return FromError(ok.error());
    return NoContent();
  }
  return MethodNotAllowed(method, request.target);
}

}  // namespace faultline::proxy
