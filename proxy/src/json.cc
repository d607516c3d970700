#include "faultline/proxy/json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <boost/json/parse.hpp>

namespace faultline::proxy::json {
namespace {

namespace bj = boost::json;

core::Error BadField(std::string_view field, std::string_view problem) {
  return core::MakeError("field '" + std::string(field) + "' " + std::string(problem), 400);
}

core::Result<const bj::object*> AsObject(const bj::value& value, std::string_view what) {
  if (!value.is_object()) {
    return core::MakeError("bad request body: " + std::string(what) + " must be a JSON object",
                           400);
  }
  return &value.as_object();
}

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

using Known = std::initializer_list<std::string_view>;

// The field of `known` that `key` names: the same name, or for kToxiproxy the same name in
// another case (Go's decoder prefers the exact match, then takes any case). An empty name when
// it is none of them and the reading lets it pass, with a warning.
core::Result<std::string_view> FieldOf(std::string_view key, Known known, std::string_view what,
                                       Reading& reading) {
  for (std::string_view k : known) {
    if (key == k) return k;
  }
  if (reading.leniency == Leniency::kToxiproxy) {
    for (std::string_view k : known) {
      if (SameIgnoringCase(key, k)) return k;
    }
    reading.warnings.push_back("unknown field '" + std::string(key) + "' in " + std::string(what) +
                               " ignored");
    return std::string_view{};
  }
  std::string list;
  for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  return core::MakeError(
      "unknown field '" + std::string(key) + "' in " + std::string(what) + " (known: " + list + ")",
      400);
}

// Calls `read(field, value)` for each field of `object` that names one of `known` and is not
// null (null means "not given"), in the order of the body.
template <typename Read>
core::Status ForEachField(const bj::object& object, Known known, std::string_view what,
                          Reading& reading, Read read) {
  for (const auto& entry : object) {
    auto field = FieldOf(entry.key(), known, what, reading);
    if (!field) return field.error();
    if (field->empty() || entry.value().is_null()) continue;
    if (auto ok = read(*field, entry.value()); !ok) return ok;
  }
  return core::Ok();
}

core::Result<std::string> GetString(const bj::value& value, std::string_view field) {
  if (!value.is_string()) return BadField(field, "must be a string");
  return std::string(value.as_string());
}

core::Result<double> GetNumber(const bj::value& value, std::string_view field) {
  if (value.is_int64()) return static_cast<double>(value.as_int64());
  if (value.is_uint64()) return static_cast<double>(value.as_uint64());
  if (value.is_double()) return value.as_double();
  return BadField(field, "must be a number");
}

core::Result<std::int64_t> GetInteger(const bj::value& value, std::string_view field) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) return BadField(field, "is too large");
  if (value.is_double()) {
    const double d = value.as_double();
    if (!std::isfinite(d) || d != std::floor(d)) return BadField(field, "must be a whole number");
    if (std::fabs(d) >= 9.2e18) return BadField(field, "is too large");
    return static_cast<std::int64_t>(d);
  }
  return BadField(field, "must be a number");
}

// Values keep their JSON kind here; ValidateToxic checks them against the toxic type. A null
// attribute is not given, so it keeps its default.
core::Result<core::Attributes> GetAttributes(const bj::value& value) {
  if (!value.is_object()) return BadField("attributes", "must be a JSON object");
  core::Attributes attributes;
  for (const auto& entry : value.as_object()) {
    const std::string name = "attributes." + std::string(entry.key());
    const bj::value& v = entry.value();
    if (v.is_null()) continue;
    if (v.is_string()) {
      attributes[std::string(entry.key())] = std::string(v.as_string());
      continue;
    }
    if (v.is_double() && v.as_double() != std::floor(v.as_double())) {
      if (!std::isfinite(v.as_double())) return BadField(name, "must be a finite number");
      attributes[std::string(entry.key())] = v.as_double();
      continue;
    }
    auto number = GetInteger(v, name);
    if (!number) return number.error();
    attributes[std::string(entry.key())] = *number;
  }
  return attributes;
}

core::Result<std::uint64_t> GetCount(const bj::value& value, std::string_view field) {
  auto number = GetInteger(value, field);
  if (!number) return number.error();
  if (*number < 0) return BadField(field, "must not be negative");
  return static_cast<std::uint64_t>(*number);
}

core::Result<core::Connections> GetTarget(const bj::value& value, Reading& reading) {
  if (!value.is_object()) return BadField("target", "must be a JSON object");
  core::Connections target;
  auto ok = ForEachField(value.as_object(), {"connection", "every", "client"}, "target", reading,
                         [&](std::string_view key, const bj::value& v) -> core::Status {
                           const std::string field = "target." + std::string(key);
                           if (key == "client") {
                             auto s = GetString(v, field);
                             if (!s) return s.error();
                             target.client = *s;
                             return core::Ok();
                           }
                           auto n = GetCount(v, field);
                           if (!n) return n.error();
                           (key == "connection" ? target.connection : target.every) = *n;
                           return core::Ok();
                         });
  if (!ok) return ok.error();
  return target;
}

// Toxiproxy takes any toxicity (at or above 1 the toxic always applies, at or below 0 never),
// so kToxiproxy takes the nearer end of [0, 1] with a warning.
core::Result<double> GetToxicity(const bj::value& value, Reading& reading) {
  auto toxicity = GetNumber(value, "toxicity");
  if (!toxicity) return toxicity.error();
  if (*toxicity >= 0.0 && *toxicity <= 1.0) return *toxicity;
  if (reading.leniency == Leniency::kStrict || !std::isfinite(*toxicity)) {
    return BadField("toxicity", "must be between 0 and 1");
  }
  const double taken = *toxicity < 0.0 ? 0.0 : 1.0;
  char given[32];
  const auto end = std::to_chars(given, given + sizeof given, *toxicity).ptr;
  reading.warnings.push_back("toxicity " + std::string(given, end) + " taken as " +
                             (taken == 0.0 ? "0" : "1"));
  return taken;
}

core::Result<Stream> GetStream(const bj::value& value, Reading& reading) {
  auto text = GetString(value, "stream");
  if (!text) return text.error();
  std::string stream_name = *text;
  // Toxiproxy compares the direction in lower case.
  if (reading.leniency == Leniency::kToxiproxy) {
    for (char& c : stream_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto stream = ParseStream(stream_name);
  if (!stream) {
    return core::MakeError("stream was invalid, can be either upstream or downstream", 400);
  }
  return *stream;
}

// Prefixes the warnings from `first` on with where they were met ("toxics[1]: ").
void Locate(Reading& reading, std::size_t first, const std::string& where) {
  for (std::size_t w = first; w < reading.warnings.size(); ++w) {
    reading.warnings[w].insert(0, where);
  }
}

const Known kToxicFields = {"name", "type", "stream", "toxicity", "attributes", "target"};
const Known kProxyFields = {"name", "listen", "upstream", "enabled", "toxics", "seed", "protocol"};

core::Result<bool> GetEnabled(const bj::value& value) {
  if (!value.is_bool()) return BadField("enabled", "must be true or false");
  return value.as_bool();
}

}  // namespace

bj::object ToJson(const ToxicSpec& toxic) {
  bj::object attributes;
  for (const auto& [name, value] : toxic.attributes) {
    std::visit([&, key = name](const auto& v) { attributes[key] = v; }, value);
  }
  bj::object object;
  object["attributes"] = std::move(attributes);
  object["name"] = toxic.name;
  object["type"] = toxic.type;
  object["stream"] = StreamName(toxic.stream);
  // Whole numbers go out as integers ("toxicity": 1), as Toxiproxy writes them.
  if (toxic.toxicity == 0.0 || toxic.toxicity == 1.0) {
    object["toxicity"] = static_cast<std::int64_t>(toxic.toxicity);
  } else {
    object["toxicity"] = toxic.toxicity;
  }
  // Only when set, so Toxiproxy clients see exactly the shape they know.
  if (!toxic.target.any()) {
    bj::object target;
    if (toxic.target.connection != 0) target["connection"] = toxic.target.connection;
    if (toxic.target.every != 0) target["every"] = toxic.target.every;
    if (!toxic.target.client.empty()) target["client"] = toxic.target.client;
    object["target"] = std::move(target);
  }
  return object;
}

bj::object ToJson(const ProxyState& proxy) {
  bj::array toxics;
  for (const ToxicSpec& toxic : proxy.toxics) toxics.push_back(ToJson(toxic));
  bj::object object;
  object["name"] = proxy.spec.name;
  object["listen"] = proxy.spec.listen;
  object["upstream"] = proxy.spec.upstream;
  object["enabled"] = proxy.spec.enabled;
  object["toxics"] = std::move(toxics);
  // faultline's own fields appear only when used, so Toxiproxy clients see their shape.
  if (proxy.spec.seed) object["seed"] = *proxy.spec.seed;
  if (proxy.spec.protocol == "udp") object["protocol"] = "udp";
  return object;
}

core::Result<bj::value> Parse(std::string_view text) {
  boost::system::error_code ec;
  bj::parse_options options;
  options.max_depth = 32;
  bj::value value = bj::parse(text, ec, {}, options);
  if (ec) return core::MakeError("bad request body: invalid JSON: " + ec.message(), 400);
  return value;
}

core::Result<ToxicSpec> ToxicFromJson(const bj::value& value, Reading& reading) {
  auto object = AsObject(value, "a toxic");
  if (!object) return object.error();
  ToxicSpec toxic;
  auto ok = ForEachField(**object, kToxicFields, "toxic", reading,
                         [&](std::string_view key, const bj::value& v) -> core::Status {
                           if (key == "name" || key == "type") {
                             auto s = GetString(v, key);
                             if (!s) return s.error();
                             (key == "name" ? toxic.name : toxic.type) = *s;
                           } else if (key == "stream") {
                             auto s = GetStream(v, reading);
                             if (!s) return s.error();
                             toxic.stream = *s;
                           } else if (key == "toxicity") {
                             auto t = GetToxicity(v, reading);
                             if (!t) return t.error();
                             toxic.toxicity = *t;
                           } else if (key == "attributes") {
                             auto a = GetAttributes(v);
                             if (!a) return a.error();
                             toxic.attributes = std::move(*a);
                           } else if (key == "target") {
                             auto t = GetTarget(v, reading);
                             if (!t) return t.error();
                             toxic.target = std::move(*t);
                           }
                           return core::Ok();
                         });
  if (!ok) return ok.error();
  if (toxic.type.empty()) return core::MakeError("missing required field: type", 400);
  if (reading.leniency == Leniency::kToxiproxy) {
    RelaxAttributes(toxic.type, toxic.attributes, reading.warnings);
  }
  return toxic;
}

core::Result<ToxicPatch> ToxicPatchFromJson(const bj::value& value, const ToxicSpec& current,
                                            Reading& reading) {
  auto object = AsObject(value, "a toxic update");
  if (!object) return object.error();
  const bool strict = reading.leniency == Leniency::kStrict;
  ToxicPatch patch;
  auto ok =
      ForEachField(**object, kToxicFields, "toxic update", reading,
                   [&](std::string_view key, const bj::value& v) -> core::Status {
                     if (key == "name" || key == "type") {
                       auto s = GetString(v, key);
                       if (!s) return s.error();
                       const std::string& now = key == "name" ? current.name : current.type;
                       if (strict && *s != now) {
                         return BadField(key, "cannot be changed (delete and re-add the toxic)");
                       }
                     } else if (key == "stream") {
                       auto s = GetStream(v, reading);
                       if (!s) return s.error();
                       if (strict && *s != current.stream) {
                         return BadField(key, "cannot be changed (delete and re-add the toxic)");
                       }
                     } else if (key == "toxicity") {
                       auto t = GetToxicity(v, reading);
                       if (!t) return t.error();
                       patch.toxicity = *t;
                     } else if (key == "attributes") {
                       auto a = GetAttributes(v);
                       if (!a) return a.error();
                       patch.attributes = std::move(*a);
                     } else if (key == "target") {
                       auto t = GetTarget(v, reading);
                       if (!t) return t.error();
                       patch.target = std::move(*t);
                     }
                     return core::Ok();
                   });
  if (!ok) return ok.error();
  if (!strict) RelaxAttributes(current.type, patch.attributes, reading.warnings);
  return patch;
}

core::Result<ProxyState> ProxyFromJson(const bj::value& value, Reading& reading) {
  auto object = AsObject(value, "a proxy");
  if (!object) return object.error();
  ProxyState proxy;
  auto ok = ForEachField(
      **object, kProxyFields, "proxy", reading,
      [&](std::string_view key, const bj::value& v) -> core::Status {
        if (key == "name" || key == "listen" || key == "upstream" || key == "protocol") {
          auto s = GetString(v, key);
          if (!s) return s.error();
          (key == "name"       ? proxy.spec.name
           : key == "listen"   ? proxy.spec.listen
           : key == "upstream" ? proxy.spec.upstream
                               : proxy.spec.protocol) = *s;
        } else if (key == "enabled") {
          auto enabled = GetEnabled(v);
          if (!enabled) return enabled.error();
          proxy.spec.enabled = *enabled;
        } else if (key == "seed") {
          if (v.is_uint64()) {
            proxy.spec.seed = v.as_uint64();
          } else if (v.is_int64() && v.as_int64() >= 0) {
            proxy.spec.seed = static_cast<std::uint64_t>(v.as_int64());
          } else {
            return BadField(key, "must be a whole number from 0 to 2^64-1");
          }
        } else if (key == "toxics") {
          if (!v.is_array()) return BadField(key, "must be an array of toxics");
          std::size_t index = 0;
          for (const bj::value& t : v.as_array()) {
            const std::size_t first_warning = reading.warnings.size();
            auto toxic = ToxicFromJson(t, reading);
            const std::string where = "toxics[" + std::to_string(index) + "]: ";
            Locate(reading, first_warning, where);
            if (!toxic) return core::MakeError(where + toxic.message(), 400);
            proxy.toxics.push_back(std::move(*toxic));
            ++index;
          }
        }
        return core::Ok();
      });
  if (!ok) return ok.error();
  if (proxy.spec.name.empty()) return core::MakeError("missing required field: name", 400);
  if (proxy.spec.upstream.empty()) return core::MakeError("missing required field: upstream", 400);
  if (proxy.spec.listen.empty()) proxy.spec.listen = "127.0.0.1:0";
  return proxy;
}

core::Result<ProxyPatch> ProxyPatchFromJson(const bj::value& value, Reading& reading) {
  auto object = AsObject(value, "a proxy update");
  if (!object) return object.error();
  // "name", "toxics" and "seed" are accepted (clients send the whole proxy back) but ignored:
  // a proxy is not renamed by an update, and its seed is fixed when it is created. So is its
  // protocol, which the server checks.
  ProxyPatch patch;
  auto ok = ForEachField(**object, kProxyFields, "proxy update", reading,
                         [&](std::string_view key, const bj::value& v) -> core::Status {
                           if (key == "listen" || key == "upstream" || key == "protocol") {
                             auto s = GetString(v, key);
                             if (!s) return s.error();
                             (key == "listen"     ? patch.listen
                              : key == "upstream" ? patch.upstream
                                                  : patch.protocol) = *s;
                           } else if (key == "enabled") {
                             auto enabled = GetEnabled(v);
                             if (!enabled) return enabled.error();
                             patch.enabled = *enabled;
                           }
                           return core::Ok();
                         });
  if (!ok) return ok.error();
  return patch;
}

core::Result<std::vector<ProxyState>> ProxyListFromJson(const bj::value& value, Reading& reading) {
  if (!value.is_array()) {
    return core::MakeError("bad request body: expected a JSON array of proxies", 400);
  }
  std::vector<ProxyState> proxies;
  std::size_t index = 0;
  for (const bj::value& entry : value.as_array()) {
    std::string where = "proxy " + std::to_string(index);
    if (entry.is_object()) {
      if (const auto* n = entry.as_object().if_contains("name"); n && n->is_string()) {
        where += " ('" + std::string(n->as_string()) + "')";
      }
    }
    where += ": ";
    const std::size_t first_warning = reading.warnings.size();
    auto proxy = ProxyFromJson(entry, reading);
    Locate(reading, first_warning, where);
    if (!proxy) return core::MakeError(where + proxy.message(), 400);
    proxies.push_back(std::move(*proxy));
    ++index;
  }
  return proxies;
}

}  // namespace faultline::proxy::json
