#include "faultline/experiments/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "faultline/core/probability.h"
#include "faultline/core/suggest.h"
#include "faultline/core/text.h"
#include "faultline/experiments/checker.h"
#include "faultline/experiments/schedule.h"
#include "faultline/experiments/yaml_error.h"
#include "faultline/experiments/yaml_json.h"
#include "faultline/proxy/json.h"
#include "faultline/proxy/pattern.h"
#include "faultline/proxy/toxic.h"

namespace faultline::experiments {
namespace {

using namespace std::string_view_literals;

// ASCII only, whatever the locale.
bool IsLetterOrDigit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

constexpr std::string_view kTopKeys[] = {"name",     "description", "seed",
                                         "duration", "services",    "proxies",
                                         "workload", "faults",      "invariants"};
constexpr std::string_view kServiceKeys[] = {"cmd",        "args",    "env",        "cwd",
                                             "ready",      "restart", "depends_on", "inject",
                                             "stop_grace", "history"};
constexpr std::string_view kReadyKeys[] = {"tcp", "http", "log", "command", "timeout", "interval"};
constexpr std::string_view kRestartPolicies[] = {"never", "on-failure", "always"};
constexpr std::string_view kProxyKeys[] = {"listen", "upstream", "toxics"};
constexpr std::string_view kWorkloadKeys[] = {"name",        "client", "args",     "env",
                                              "concurrency", "ops",    "duration", "history"};
constexpr std::string_view kFaultKeys[] = {"at",      "after",         "for",   "proxy",  "toxic",
                                           "service", "rule",          "fault", "pause",  "kill",
                                           "restart", "restart_after", "skew",  "offset", "rate"};
constexpr std::string_view kNemesisKindKeys[] = {"toxic", "rule"};
constexpr std::string_view kNemesisKeys[] = {"nemesis", "every",   "for",
                                             "kinds",   "targets", "max_active"};
constexpr std::string_view kInvariantKeys[] = {"name",    "probe", "http",    "every", "must",
                                               "timeout", "final", "checker", "min"};

Location Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::vector<std::string_view> Names(const auto& items) {
  std::vector<std::string_view> names;
  for (const auto& item : items) names.push_back(item.name);
  return names;
}

// Reads one spec, collecting every mistake with its place.
class Reader {
 public:
  Reader(std::string file, std::string dir, TemplateLookup values)
      : file_(std::move(file)), dir_(std::move(dir)), values_(std::move(values)) {}

  SpecResult Read(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      Location where;
      if (!e.mark.is_null()) where = {e.mark.line + 1, e.mark.column + 1};
      errors_.push_back({file_, where, DescribeYamlError(e)});
      return Finish();
    }
    if (!root.IsMap()) {
      Error(root, "an experiment is a mapping with at least `name` and `services`");
      return Finish();
    }
    spec_.file = file_;
    spec_.dir = dir_;
    FindProxyListens(root["proxies"]);
    spec_.text = FillText(text);
    FillTemplates(root);
    CheckKeys(root, kTopKeys, "the experiment");
    if (auto name = RequiredString(root, "name", "the experiment")) {
      if (ValidName(root["name"], *name, "experiment name")) spec_.name = *name;
    }
    if (const auto seed = root["seed"]) spec_.seed = UInt(seed, "seed");
    if (const auto duration = root["duration"]) spec_.duration = Duration(duration, "duration");
    ReadServices(root["services"]);
    ReadProxies(root["proxies"]);
    ReadWorkload(root["workload"]);
    ReadFaults(root["faults"]);
    ReadInvariants(root["invariants"]);
    CheckReferences();
    CheckNemesisKinds();
    CheckItEnds();
    return Finish();
  }

 private:
  SpecResult Finish() {
    SpecResult result;
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    result.errors = std::move(errors_);
    result.warnings = std::move(warnings_);
    if (result.errors.empty()) result.spec = std::move(spec_);
    return result;
  }

  void Error(const YAML::Node& node, std::string message) {
    Error(Where(node), std::move(message));
  }
  void Warn(const YAML::Node& node, std::string message) {
    const Location where = Where(node);
    if (unfilled_.count(where) != 0) return;
    warnings_.push_back({file_, where, "warning: " + std::move(message)});
  }
  void Error(Location where, std::string message) {
    if (unfilled_.count(where) != 0) return;
    errors_.push_back({file_, where, std::move(message)});
  }

  // Unknown keys are mistakes: a misspelt `ready` must not silently mean "no probe".
  void CheckKeys(const YAML::Node& map, std::span<const std::string_view> known,
                 std::string_view what) {
    for (const auto& item : map) {
      if (!item.first.IsScalar()) {
        Error(item.first, "keys in " + std::string(what) + " are plain words");
        continue;
      }
      const std::string key = item.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        Error(item.first,
              "unknown key " + Quote(key) + " in " + std::string(what) + core::Suggest(key, known));
      }
    }
  }

  std::optional<std::string> String(const YAML::Node& node, std::string_view what) {
    if (!node.IsScalar()) {
      Error(node, std::string(what) + " must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::string> RequiredString(const YAML::Node& map, const char* key,
                                            std::string_view what) {
    const YAML::Node node = map[key];
    if (!node) {
      Error(map, std::string(what) + " needs `" + key + "`");
      return std::nullopt;
    }
    return String(node, key);
  }

  bool ValidName(const YAML::Node& node, const std::string& name, std::string_view what) {
    if (!core::IsName(name)) {
      Error(node, std::string(what) + " " + Quote(name) +
                      ": use letters, digits, '_', '.' and '-' (it names files and metrics)");
      return false;
    }
    return true;
  }

  std::optional<core::Duration> Duration(const YAML::Node& node, std::string_view what) {
    auto text = String(node, what);
    if (!text) return std::nullopt;
    auto parsed = core::ParseDuration(*text);
    if (!parsed) {
      Error(node, std::string(what) + ": " + parsed.message());
      return std::nullopt;
    }
    return *parsed;
  }

  // "1s..3s" or "2s" (both ends the same).
  std::optional<std::pair<core::Duration, core::Duration>> DurationRange(const YAML::Node& node,
                                                                         std::string_view what) {
    auto text = String(node, what);
    if (!text) return std::nullopt;
    const auto dots = text->find("..");
    auto low = core::ParseDuration(text->substr(0, dots));
    auto high = dots == std::string::npos ? low : core::ParseDuration(text->substr(dots + 2));
    if (!low || !high) {
      Error(node, std::string(what) + ": " + (!low ? low.message() : high.message()) +
                      " (a duration, or a range such as 1s..3s)");
      return std::nullopt;
    }
    if (*high < *low) {
      Error(node, std::string(what) + ": the range " + Quote(*text) + " ends before it starts");
      return std::nullopt;
    }
    return std::pair(*low, *high);
  }

  std::optional<std::uint64_t> UInt(const YAML::Node& node, std::string_view what) {
    std::uint64_t value = 0;
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return value;
    }
    Error(node, std::string(what) + " must be a whole number");
    return std::nullopt;
  }

  std::optional<bool> Bool(const YAML::Node& node, std::string_view what) {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      return node.Scalar() == "true";
    }
    Error(node, std::string(what) + " must be true or false");
    return std::nullopt;
  }

  std::vector<std::string> StringList(const YAML::Node& node, std::string_view what) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
    } else if (node.IsSequence()) {
      for (const auto& item : node) {
        if (auto text = String(item, what)) out.push_back(*text);
      }
    } else {
      Error(node, std::string(what) + " must be a string or a list of strings");
    }
    return out;
  }

  // `cmd` as a shell line or a list; with `args`, `cmd` is the program.
  std::optional<Command> ReadCommand(const YAML::Node& map, const char* key,
                                     std::string_view what) {
    const YAML::Node node = map[key];
    if (!node) {
      Error(map, std::string(what) + " needs `" + key + "`");
      return std::nullopt;
    }
    Command command;
    if (node.IsSequence()) {
      command.argv = StringList(node, key);
    } else if (auto line = String(node, key)) {
      command.argv = {*line};
      command.shell = !map["args"];
    } else {
      return std::nullopt;
    }
    if (const YAML::Node args = map["args"]) {
      if (node.IsSequence()) {
        Error(args,
              "`args` goes with a `" + std::string(key) + "` that is one program, not a list");
      } else {
        for (auto& arg : StringList(args, "args")) command.argv.push_back(std::move(arg));
      }
    }
    if (command.argv.empty() || command.argv[0].empty()) {
      Error(node, std::string(what) + ": `" + key + "` is empty");
      return std::nullopt;
    }
    return command;
  }

  Environment ReadEnv(const YAML::Node& node) {
    Environment env;
    if (!node.IsMap()) {
      Error(node, "`env` is a mapping of NAME: value");
      return env;
    }
    for (const auto& item : node) {
      const std::string name = item.first.Scalar();
      // An ASCII letter or '_', then those and digits.
      const auto allowed = [](char c) { return IsLetterOrDigit(c) || c == '_'; };
      if (name.empty() || (name[0] >= '0' && name[0] <= '9') ||
          !std::all_of(name.begin(), name.end(), allowed)) {
        Error(item.first, "environment variable " + Quote(name) + " is not a valid name");
        continue;
      }
      if (auto value = String(item.second, "env." + name)) env.emplace_back(name, *value);
    }
    return env;
  }

  void ReadServices(const YAML::Node& node) {
    if (!node) return;
    if (!node.IsMap()) {
      Error(node, "`services` is a mapping of NAME: {cmd: ...}");
      return;
    }
    for (const auto& item : node) {
      ServiceSpec service;
      service.name = item.first.Scalar();
      service.where = Where(item.first);
      const std::string what = "service " + Quote(service.name);
      if (!ValidName(item.first, service.name, "service name")) continue;
      const YAML::Node body = item.second;
      if (body.IsScalar()) {  // store: ./kvstore --port {{port.store}}
        service.command = Command{{body.Scalar()}, true};
        spec_.services.push_back(std::move(service));
        continue;
      }
      if (!body.IsMap()) {
        Error(body, what + " is a command line or a mapping with `cmd`");
        continue;
      }
      CheckKeys(body, kServiceKeys, what);
      if (auto command = ReadCommand(body, "cmd", what)) service.command = std::move(*command);
      if (const auto env = body["env"]) service.env = ReadEnv(env);
      if (const auto cwd = body["cwd"]) service.cwd = String(cwd, "cwd").value_or("");
      if (const auto ready = body["ready"]) service.ready = ReadReady(ready, what);
      if (const auto restart = body["restart"]) {
        const std::string policy = String(restart, "restart").value_or("");
        if (policy == "never") {
          service.restart = RestartPolicy::kNever;
        } else if (policy == "on-failure") {
          service.restart = RestartPolicy::kOnFailure;
        } else if (policy == "always") {
          service.restart = RestartPolicy::kAlways;
        } else {
          Error(restart, what + ": restart is never, on-failure or always, not " + Quote(policy) +
                             core::Suggest(policy, kRestartPolicies));
        }
      }
      if (const auto depends = body["depends_on"]) {
        service.depends_on = StringList(depends, "depends_on");
        dependency_nodes_[service.name] = depends;
      }
      if (const auto inject = body["inject"]) ReadInject(inject, service);
      if (const auto grace = body["stop_grace"]) {
        service.stop_grace = Duration(grace, "stop_grace").value_or(service.stop_grace);
      }
      if (const auto history = body["history"]) {
        ReadHistory(history, service.history, service.history_file);
      }
      spec_.services.push_back(std::move(service));
    }
  }

  std::optional<ReadySpec> ReadReady(const YAML::Node& node, const std::string& what) {
    if (!node.IsMap()) {
      Error(node, what + ": `ready` is a mapping such as {tcp: NAME} or {http: URL}");
      return std::nullopt;
    }
    CheckKeys(node, kReadyKeys, what + " ready");
    ReadySpec ready;
    int kinds = 0;
    if (const auto tcp = node["tcp"]) {
      ++kinds;
      ready.kind = ReadySpec::Kind::kTcp;
      ready.target = String(tcp, "tcp").value_or("");
    }
    if (const auto http = node["http"]) {
      ++kinds;
      ready.kind = ReadySpec::Kind::kHttp;
      ready.target = String(http, "http").value_or("");
      if (!ready.target.starts_with("http://")) {
        Error(http, what + ": ready http " + Quote(ready.target) + " must start with http://");
      }
    }
    if (const auto log = node["log"]) {
      ++kinds;
      ready.kind = ReadySpec::Kind::kLog;
      ready.target = String(log, "log").value_or("");
      if (auto pattern = proxy::Pattern::Compile(ready.target); !pattern) {
        Error(log, what + ": ready log " + Quote(ready.target) +
                       " is not a valid RE2 pattern: " + pattern.message());
      }
    }
    if (const auto command = node["command"]) {
      ++kinds;
      ready.kind = ReadySpec::Kind::kCommand;
      if (auto parsed = ReadCommand(node, "command", what + " ready")) ready.command = *parsed;
    }
    if (kinds != 1) {
      Error(node, what + ": `ready` needs exactly one of tcp, http, log or command");
    }
    if (const auto timeout = node["timeout"]) {
      ready.timeout = Duration(timeout, "ready timeout").value_or(ready.timeout);
    }
    if (const auto interval = node["interval"]) {
      ready.interval = Duration(interval, "ready interval").value_or(ready.interval);
    }
    return ready;
  }

  void ReadInject(const YAML::Node& node, ServiceSpec& service) {
    if (node.IsScalar()) {
      service.inject = Bool(node, "inject").value_or(false);
      return;
    }
    if (!node.IsSequence()) {
      Error(node, "`inject` is true, or a list of rules the service starts with");
      return;
    }
    service.inject = true;
    for (const auto& line : node) {
      if (auto rule = ReadRule(line)) service.rules.push_back(std::move(*rule));
    }
  }

  std::optional<core::Fault> ReadRule(const YAML::Node& node) {
    auto text = String(node, "a rule");
    if (!text) return std::nullopt;
    auto rule = core::ParseFault(*text);
    if (!rule) {
      Error(node, rule.message());  // it quotes the rule
      return std::nullopt;
    }
    if (auto ok = core::CheckRule(*rule); !ok) {
      Error(node, ok.message());
      return std::nullopt;
    }
    return std::move(*rule);
  }

  // A toxic as a spec writes it; `given` gets the attributes it wrote.
  std::optional<proxy::ToxicSpec> ReadToxic(const YAML::Node& node, core::Attributes& given) {
    if (!node.IsMap()) {
      Error(node, "a toxic is a mapping such as {type: latency, latency: 100ms}");
      return std::nullopt;
    }
    const YAML::Node type_node = node["type"];
    const proxy::ToxicTypeInfo* type = nullptr;
    if (type_node && type_node.IsScalar()) {
      const std::string name = type_node.Scalar();
      type = proxy::FindToxicType(name);
      if (type == nullptr) {
        Error(node, "unknown toxic type " + Quote(name) +
                        core::Suggest(name, Names(proxy::ToxicTypes())));
        return std::nullopt;
      }
    }
    // The spec lists a toxic's attributes next to its type; the proxy's JSON nests them.
    boost::json::object toxic;
    boost::json::object attributes;
    bool readable = true;
    const auto attribute = [&](const YAML::Node& key, const YAML::Node& value) {
      auto read = ToxicAttribute(type, key.Scalar(), value);
      if (!read) readable = false;
      attributes[key.Scalar()] = read ? std::move(*read) : nullptr;
    };
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (key == "toxicity") {
        auto chance = Chance(key, item.second);
        if (!chance) readable = false;
        toxic[key] = chance ? std::move(*chance) : nullptr;
      } else if (key == "type" || key == "name" || key == "stream" || key == "target") {
        toxic[key] = YamlToJson(item.second);
      } else if (key == "attributes" && item.second.IsMap()) {
        for (const auto& nested : item.second) attribute(nested.first, nested.second);
      } else {
        attribute(item.first, item.second);
      }
    }
    if (!readable) return std::nullopt;  // each bad value has said why
    toxic["attributes"] = std::move(attributes);
    proxy::json::Reading strict;  // a spec is faultline's own: nothing unknown passes
    auto parsed = proxy::json::ToxicFromJson(toxic, strict);
    if (!parsed) {
      Error(node, "toxic: " + parsed.message());
      return std::nullopt;
    }
    given = parsed->attributes;
    if (auto ok = proxy::ValidateToxic(*parsed); !ok) {
      Error(node, "toxic " + Quote(parsed->type) + ": " + ok.message());
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  // A fault's toxic on `proxy` (empty: a nemesis's, which picks its proxy), keeping the
  // attributes the spec wrote; its id is the toxic's name (given, or TYPE_STREAM).
  std::optional<core::Fault> ReadToxicFault(const YAML::Node& node, std::string_view proxy) {
    core::Attributes given;
    auto toxic = ReadToxic(node, given);
    if (!toxic) return std::nullopt;
    core::Fault fault = proxy::FaultFromToxic(*toxic, proxy, given);
    fault.id = toxic->name;
    return fault;
  }

  // A toxic's attribute as a spec writes it (`latency: 800ms`, `probability: 20%`), in the
  // proxy's own numbers (core::ReadWrittenAttribute). A bare number for a duration is still
  // taken in the attribute's unit, with a warning. None (the error said) when unreadable.
  std::optional<boost::json::value> ToxicAttribute(const proxy::ToxicTypeInfo* type,
                                                   const std::string& key, const YAML::Node& node) {
    const core::AttributeInfo* info =
        type ? core::FindAttribute(type->kind->attributes, key) : nullptr;
    // Not the type's, or not a duration or a chance: the proxy's reader checks it.
    if (info == nullptr || !node.IsScalar() || !core::HasWrittenForm(*info)) {
      return YamlToJson(node);
    }
    bool bare = false;
    auto value = core::ReadWrittenAttribute(*info, node.Scalar(), bare);
    if (!value) {
      Error(node, value.message());
      return std::nullopt;
    }
    if (bare) {
      Warn(node, key + ": a bare number is taken as " +
                     (info->unit == "ms" ? "milliseconds" : "microseconds") + "; write `" + key +
                     ": " + node.Scalar() + std::string(info->unit) +
                     "` (bare numbers for durations in a spec are deprecated)");
    }
    return std::visit([](const auto& v) { return boost::json::value(v); }, *value);
  }

  // A toxic's toxicity: `50%`, `0.5`...
  std::optional<boost::json::value> Chance(const std::string& key, const YAML::Node& node) {
    if (!node.IsScalar()) return YamlToJson(node);
    auto chance = core::Probability::Parse(node.Scalar());
    if (!chance) {
      Error(node, key + ": " + chance.message());
      return std::nullopt;
    }
    return boost::json::value(chance->fraction());
  }

  void ReadProxies(const YAML::Node& node) {
    if (!node) return;
    if (!node.IsMap()) {
      Error(node, "`proxies` is a mapping of NAME: {upstream: ...}");
      return;
    }
    for (const auto& item : node) {
      ProxySpec proxy;
      proxy.name = item.first.Scalar();
      proxy.where = Where(item.first);
      const std::string what = "proxy " + Quote(proxy.name);
      if (!ValidName(item.first, proxy.name, "proxy name")) continue;
      const YAML::Node body = item.second;
      if (!body.IsMap()) {
        Error(body, what + " is a mapping with `upstream`");
        continue;
      }
      CheckKeys(body, kProxyKeys, what);
      if (const auto listen = body["listen"]) {
        proxy.listen = String(listen, "listen").value_or("auto");
        if (proxy.listen != "auto" && proxy.listen.find(':') == std::string::npos) {
          Error(listen, what + ": listen is `auto` or HOST:PORT, not " + Quote(proxy.listen));
        }
      }
      if (auto upstream = RequiredString(body, "upstream", what)) {
        proxy.upstream = *upstream;
        upstream_nodes_[proxy.name] = body["upstream"];
      }
      if (const auto toxics = body["toxics"]) {
        if (!toxics.IsSequence()) {
          Error(toxics, what + ": `toxics` is a list");
        } else {
          for (const auto& toxic : toxics) {
            if (auto parsed = ReadToxicFault(toxic, proxy.name)) {
              proxy.toxics.push_back(std::move(*parsed));
            }
          }
        }
      }
      spec_.proxies.push_back(std::move(proxy));
    }
  }

  void ReadWorkload(const YAML::Node& node) {
    if (!node) return;
    if (!node.IsSequence()) {
      Error(node, "`workload` is a list of clients");
      return;
    }
    for (const auto& body : node) {
      WorkloadSpec workload;
      workload.where = Where(body);
      workload.name = "client" + std::to_string(spec_.workload.size() + 1);
      if (!body.IsMap()) {
        Error(body, "a workload entry is a mapping with `client`");
        continue;
      }
      CheckKeys(body, kWorkloadKeys, "the workload");
      if (const auto name = body["name"]) {
        workload.name = String(name, "name").value_or(workload.name);
        ValidName(name, workload.name, "workload name");
      }
      const std::string what = "workload " + Quote(workload.name);
      if (auto command = ReadCommand(body, "client", what)) workload.command = std::move(*command);
      if (const auto env = body["env"]) workload.env = ReadEnv(env);
      if (const auto concurrency = body["concurrency"]) {
        const auto n = UInt(concurrency, "concurrency");
        if (n && (*n < 1 || *n > 1024)) {
          Error(concurrency, what + ": concurrency is 1 to 1024");
        } else if (n) {
          workload.concurrency = static_cast<int>(*n);
        }
      }
      if (const auto ops = body["ops"]) workload.ops = UInt(ops, "ops");
      if (const auto duration = body["duration"])
        workload.duration = Duration(duration, "duration");
      if (const auto history = body["history"]) {
        ReadHistory(history, workload.history, workload.history_file);
      }
      spec_.workload.push_back(std::move(workload));
    }
  }

  // `history: true` (operations on stdout) or `history: FILE`.
  void ReadHistory(const YAML::Node& node, bool& history, std::string& file) {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      history = node.Scalar() == "true";
    } else if (auto path = String(node, "history")) {
      history = true;
      file = *path;
    }
  }

  void ReadFaults(const YAML::Node& node) {
    if (!node) return;
    if (!node.IsSequence()) {
      Error(node, "`faults` is a list");
      return;
    }
    for (const auto& body : node) {
      if (!body.IsMap()) {
        Error(body, "a fault is a mapping, such as {at: 2s, for: 3s, pause: store}");
        continue;
      }
      if (body["nemesis"]) {
        ReadNemesis(body);
      } else {
        ReadTimelineFault(body);
      }
    }
  }

  std::optional<Trigger> ReadTrigger(const YAML::Node& body) {
    Trigger trigger;
    if (const auto at = body["at"]) {
      auto offset = Duration(at, "at");
      if (!offset) return std::nullopt;
      trigger.at = *offset;
    }
    if (const auto after = body["after"]) {
      auto text = String(after, "after");
      if (!text) return std::nullopt;
      std::istringstream words(*text);
      std::string first, second, rest;
      words >> first >> second >> rest;
      if (first == "start" && second.empty()) {
        trigger.event = Trigger::Event::kStart;
      } else if (first == "op" && !second.empty() && rest.empty() &&
                 std::all_of(second.begin(), second.end(), ::isdigit) && second.size() < 19) {
        trigger.event = Trigger::Event::kOp;
        trigger.op = std::stoull(second);
        if (trigger.op == 0) {
          Error(after, "after: ops are counted from 1");
          return std::nullopt;
        }
      } else if (second == "ready" && rest.empty() && !first.empty()) {
        trigger.event = Trigger::Event::kReady;
        trigger.service = first;
        service_refs_.push_back({first, after, "after"});
      } else {
        Error(after, "after is `start`, `SERVICE ready` or `op N`, not " + Quote(*text));
        return std::nullopt;
      }
    }
    return trigger;
  }

  void ReadTimelineFault(const YAML::Node& body) {
    CheckKeys(body, kFaultKeys, "a fault");
    TimelineFault fault;
    fault.where = Where(body);
    auto trigger = ReadTrigger(body);
    if (trigger) fault.start = *trigger;
    if (!body["at"] && !body["after"]) {
      Error(body, "a fault needs `at` (after the run starts) or `after` (an event)");
    }
    if (const auto length = body["for"]) fault.length = Duration(length, "for");

    int actions = 0;
    core::Fault& action = fault.fault;
    if (const auto toxic = body["toxic"]) {
      ++actions;
      std::string proxy;
      if (const auto proxy_node = body["proxy"]) {
        proxy = String(proxy_node, "proxy").value_or("");
        proxy_refs_.push_back({proxy, proxy_node, "proxy"});
      } else {
        Error(toxic, "a toxic fault needs `proxy`: the proxy it goes on");
      }
      if (auto parsed = ReadToxicFault(toxic, proxy)) action = std::move(*parsed);
    } else if (body["proxy"]) {
      Error(body["proxy"], "a fault on a proxy needs `toxic`");
    }
    if (const auto rule = body["rule"]) {
      ++actions;
      if (auto parsed = ReadRule(rule)) action = std::move(*parsed);
      if (const auto service = body["service"]) {
        OnService(action, String(service, "service").value_or(""));
        injected_refs_.push_back({action.where.target, service, "service"});
      } else {
        Error(rule, "a rule fault needs `service`: the service (run with inject) it goes on");
      }
    } else if (body["service"]) {
      Error(body["service"], "a fault on a service's calls needs `rule`");
    }
    for (const char* signal : {"pause", "kill"}) {
      const auto target = body[signal];
      if (!target) continue;
      ++actions;
      action.action.kind = core::FindKind(signal);
      OnService(action, String(target, signal).value_or(""));
      process_refs_.push_back({action.where.target, target, signal});
    }
    if (body["kill"]) {
      core::Attributes& settings = action.action.settings;
      if (const auto restart = body["restart"]) {
        if (Bool(restart, "restart").value_or(false)) settings["restart"] = std::int64_t{1};
      }
      if (const auto after = body["restart_after"]) {
        if (auto length = Duration(after, "restart_after")) {
          settings["restart_after"] =
              std::int64_t{std::chrono::round<std::chrono::milliseconds>(*length).count()};
        }
      }
    } else if (body["restart"] || body["restart_after"]) {
      Error(body["restart"] ? body["restart"] : body["restart_after"],
            "`restart` goes with `kill`");
    }
    if (const auto line = body["fault"]) {
      ++actions;
      if (auto parsed = ReadFaultLine(line)) action = std::move(*parsed);
    }
    if (const auto skew = body["skew"]) {
      ++actions;
      if (auto parsed = SkewRule(body)) action = std::move(*parsed);
      OnService(action, String(skew, "skew").value_or(""));
      injected_refs_.push_back({action.where.target, skew, "skew"});
    } else if (body["rate"]) {
      Error(body["rate"], "`rate` goes with `skew`");
    }
    if (actions == 0) {
      Error(body,
            "a fault needs one action: toxic (with proxy), rule (with service), pause, kill, "
            "skew, or a fault line");
    } else if (actions > 1) {
      Error(body, "a fault has one action; write two faults for two");
    }
    if (fault.fault.action.kind != nullptr) spec_.faults.push_back(std::move(fault));
  }

  // `fault: LINE`, the fault in its line form: "proxy p -> latency(latency=100ms)", "service s
  // -> pause", "service s fsync -> delay(50ms)". Its target is checked like the other forms'.
  std::optional<core::Fault> ReadFaultLine(const YAML::Node& node) {
    auto text = String(node, "fault");
    if (!text) return std::nullopt;
    auto fault = core::ParseFault(*text);
    if (!fault) {
      Error(node, fault.message());  // it quotes the line
      return std::nullopt;
    }
    if (!fault->id.empty()) {
      Error(node, "fault: leave out 'rule " + fault->id + ":'; the run names its faults");
      return std::nullopt;
    }
    const std::string& target = fault->where.target;
    switch (fault->where.target_kind) {
      case core::TargetKind::kSelf:
        Error(node,
              "fault: name what it acts on, e.g. 'service NAME " + core::FormatFault(*fault) + "'");
        return std::nullopt;
      case core::TargetKind::kProxy:
        if (auto ok = proxy::ToxicFromFault(*fault, ""); !ok) {  // the proxy's own checks
          Error(node, "fault: " + ok.message());
          return std::nullopt;
        }
        proxy_refs_.push_back({target, node, "fault"});
        break;
      case core::TargetKind::kService:
      case core::TargetKind::kClients:
        if (fault->family() == core::Family::kShim) {
          injected_refs_.push_back({target, node, "fault"});
        } else {
          process_refs_.push_back({target, node, "fault"});
        }
        break;
    }
    return std::move(*fault);
  }

  // A fault on a service: its process, or (for a rule or a skew) its calls. Whether the
  // name is a workload's clients instead is known once the whole spec is read.
  static void OnService(core::Fault& fault, std::string service) {
    fault.where.target_kind = core::TargetKind::kService;
    fault.where.target = std::move(service);
  }

  // skew: SERVICE with its offset (default +1h) and rate.
  std::optional<core::Fault> SkewRule(const YAML::Node& body) {
    std::string offset = "+1h";
    std::string rate;
    if (const auto value = body["rate"]) rate = String(value, "rate").value_or("");
    if (const auto value = body["offset"]) offset = String(value, "offset").value_or(offset);
    auto skew = core::SkewFault(offset, rate);
    if (!skew) {
      Error(body["skew"], "skew: " + skew.message());
      return std::nullopt;
    }
    return std::move(*skew);
  }

  void ReadNemesis(const YAML::Node& body) {
    CheckKeys(body, kNemesisKeys, "a nemesis");
    NemesisSpec nemesis;
    nemesis.where = Where(body);
    const std::string kind = String(body["nemesis"], "nemesis").value_or("");
    if (kind != "random") {
      Error(body["nemesis"], "nemesis: only `random` is known, not " + Quote(kind));
    }
    if (const auto every = body["every"]) {
      if (auto range = DurationRange(every, "every")) {
        std::tie(nemesis.every_min, nemesis.every_max) = *range;
        nemesis.length_min = nemesis.every_min;
        nemesis.length_max = nemesis.every_max;
        if (nemesis.every_min.count() == 0) Error(every, "every: the gap must be above zero");
      }
    } else {
      Error(body, "a nemesis needs `every`: how often it starts a fault (e.g. 1s..3s)");
    }
    if (const auto length = body["for"]) {
      if (auto range = DurationRange(length, "for")) {
        std::tie(nemesis.length_min, nemesis.length_max) = *range;
      }
    }
    if (const auto kinds = body["kinds"]; kinds && kinds.IsSequence()) {
      for (const auto& item : kinds) {
        if (auto kind = ReadNemesisKind(item)) nemesis.kinds.push_back(std::move(*kind));
      }
    } else if (kinds) {
      Error(kinds, "kinds is a list, such as [pause, latency]");
    } else {
      Error(body, "a nemesis needs `kinds`, such as [pause, latency]");
    }
    if (const auto targets = body["targets"]) {
      nemesis.targets = StringList(targets, "targets");
      for (const std::string& target : nemesis.targets) {
        target_refs_.push_back({target, targets, "targets"});
      }
    }
    if (const auto max = body["max_active"]) {
      const auto n = UInt(max, "max_active");
      if (n && (*n < 1 || *n > 64)) {
        Error(max, "max_active is 1 to 64");
      } else if (n) {
        nemesis.max_active = static_cast<int>(*n);
      }
    }
    spec_.nemeses.push_back(std::move(nemesis));
  }

  // `pause`, `latency`...: a named kind with its defaults; `{toxic: {...}}` or `{rule: "..."}`:
  // the user's own, checked like a timeline fault's.
  std::optional<NemesisKind> ReadNemesisKind(const YAML::Node& item) {
    NemesisKind kind;
    kind.where = Where(item);
    if (item.IsMap()) {
      const std::size_t errors_before = errors_.size();
      CheckKeys(item, kNemesisKindKeys, "a nemesis kind");
      if (errors_.size() > errors_before) return std::nullopt;  // a misspelt key says it all
      if (item["toxic"] && item["rule"]) {
        Error(item, "a nemesis kind is a toxic or a rule, not both; list them as two kinds");
        return std::nullopt;
      }
      std::optional<core::Fault> own;
      if (const auto toxic = item["toxic"]) {
        own = ReadToxicFault(toxic, "");
        if (!own) return std::nullopt;
        kind.name = std::string(own->action.kind->name);
      } else if (const auto rule = item["rule"]) {
        own = ReadRule(rule);
        if (!own) return std::nullopt;
        kind.name = "rule";
      } else {
        Error(item, "a nemesis kind of your own is {toxic: {type: ..., ...}} or {rule: \"...\"}");
        return std::nullopt;
      }
      kind.own = std::move(own);
      return kind;
    }
    kind.name = String(item, "a nemesis kind").value_or("");
    const auto known = NemesisKinds();
    if (std::find(known.begin(), known.end(), kind.name) == known.end()) {
      Error(item, "unknown nemesis kind " + Quote(kind.name) + core::Suggest(kind.name, known) +
                      "; known: pause, kill, skew, the proxy's toxic types, and your own "
                      "{toxic: {...}} or {rule: \"...\"}");
      return std::nullopt;
    }
    return kind;
  }

  void ReadInvariants(const YAML::Node& node) {
    if (!node) return;
    if (!node.IsSequence()) {
      Error(node, "`invariants` is a list");
      return;
    }
    std::set<std::string> names;
    for (const auto& body : node) {
      if (!body.IsMap()) {
        Error(body, "an invariant is a mapping: {probe: ...}, {final: ...} or {checker: ...}");
        continue;
      }
      CheckKeys(body, kInvariantKeys, "an invariant");
      InvariantSpec invariant;
      invariant.where = Where(body);
      const int kinds = (body["probe"] ? 1 : 0) + (body["http"] ? 1 : 0) + (body["final"] ? 1 : 0) +
                        (body["checker"] ? 1 : 0);
      if (kinds != 1) {
        Error(body, "an invariant is one of probe (a command), http (a URL), final or checker");
        continue;
      }
      if (body["probe"] || body["http"]) {
        invariant.kind = InvariantSpec::Kind::kProbe;
        if (body["probe"]) {
          if (auto command = ReadCommand(body, "probe", "probe")) invariant.command = *command;
          invariant.name = "probe " + invariant.command.Text();
        } else {
          invariant.url = String(body["http"], "http").value_or("");
          if (!invariant.url.starts_with("http://")) {
            Error(body["http"], "http " + Quote(invariant.url) + " must start with http://");
          }
          invariant.name = "http " + invariant.url;
        }
        if (const auto every = body["every"]) {
          invariant.every = Duration(every, "every").value_or(invariant.every);
          if (invariant.every.count() == 0) Error(every, "every: must be above zero");
        }
        if (const auto must = body["must"]) {
          const std::string when = String(must, "must").value_or("");
          if (when == "eventually") {
            invariant.eventually = true;
          } else if (when != "always") {
            Error(must, "must is `always` or `eventually`, not " + Quote(when));
          }
        }
      } else if (body["final"]) {
        invariant.kind = InvariantSpec::Kind::kFinal;
        if (auto command = ReadCommand(body, "final", "final")) invariant.command = *command;
        invariant.name = "final " + invariant.command.Text();
      } else {
        invariant.kind = InvariantSpec::Kind::kChecker;
        invariant.checker = String(body["checker"], "checker").value_or("");
        invariant.name = invariant.checker;
        const auto checkers = CheckerNames();
        if (std::find(checkers.begin(), checkers.end(), invariant.checker) == checkers.end()) {
          std::string known;
          for (std::string_view name : checkers)
            known += (known.empty() ? "" : ", ") + std::string(name);
          Error(body["checker"], "unknown checker " + Quote(invariant.checker) +
                                     core::Suggest(invariant.checker, checkers) +
                                     "; known: " + known);
        }
        if (const auto min = body["min"]) {
          if (invariant.checker != "availability") {
            Error(min, "`min` goes with checker availability");
          } else {
            invariant.min_availability = Share(min).value_or(0);
          }
        } else if (invariant.checker == "availability") {
          Error(body, "checker availability needs `min`, such as 99%");
        }
        if (std::none_of(spec_.workload.begin(), spec_.workload.end(),
                         [](const WorkloadSpec& w) { return w.history; })) {
          Error(body["checker"], "checker " + Quote(invariant.checker) +
                                     " reads the history: give a workload `history: true`");
        }
      }
      if (const auto timeout = body["timeout"]) {
        invariant.timeout = Duration(timeout, "timeout").value_or(invariant.timeout);
      }
      if (const auto name = body["name"]) {
        invariant.name = String(name, "name").value_or(invariant.name);
      }
      if (!names.insert(invariant.name).second) {
        Error(body, "two invariants are named " + Quote(invariant.name) + "; give one a `name`");
      }
      spec_.invariants.push_back(std::move(invariant));
    }
  }

  // "99%", "99.5%" or "0.995".
  std::optional<double> Share(const YAML::Node& node) {
    std::string text = node.IsScalar() ? node.Scalar() : "";
    const bool percent = !text.empty() && text.back() == '%';
    if (percent) text.pop_back();
    double value = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) {
      if (percent) value /= 100;
      if (value >= 0 && value <= 1) return value;
    }
    Error(node, "min is a share such as 99% or 0.99");
    return std::nullopt;
  }

  struct Reference {
    std::string name;
    YAML::Node node;
    std::string what;
  };

  std::vector<std::string_view> ServiceNames() const { return Names(spec_.services); }
  std::vector<std::string_view> ProxyNames() const { return Names(spec_.proxies); }

  void CheckReferences() {
    const auto services = ServiceNames();
    const auto proxies = ProxyNames();
    std::set<std::string> seen;
    for (const auto& service : spec_.services) {
      if (!seen.insert(service.name).second) {
        Error(service.where, "two services are named " + Quote(service.name));
      }
    }
    for (const auto& proxy : spec_.proxies) {
      if (!seen.insert(proxy.name).second) {
        Error(proxy.where, "a proxy and a service (or two proxies) are named " + Quote(proxy.name) +
                               "; templates could not tell them apart");
      }
    }
    for (const auto& workload : spec_.workload) {
      if (spec_.FindService(workload.name) != nullptr) {
        Error(workload.where, "a workload and a service are named " + Quote(workload.name) +
                                  "; pause and kill could not tell them apart");
      }
    }
    auto is_service = [&](const std::string& name) {
      return std::find(services.begin(), services.end(), name) != services.end();
    };
    for (const auto& ref : process_refs_) {
      if (is_service(ref.name) || spec_.NamesClients(ref.name)) continue;
      // Services, workloads and their clients: what pause and kill may name.
      std::vector<std::string> processes(services.begin(), services.end());
      for (const auto& workload : spec_.workload) {
        processes.push_back(workload.name);
        for (int i = 0; i < workload.concurrency; ++i) processes.push_back(ClientName(workload, i));
      }
      Error(ref.node, ref.what + ": no service, workload or client " + Quote(ref.name) +
                          core::Suggest(ref.name, std::vector<std::string_view>(processes.begin(),
                                                                                processes.end())));
    }
    for (auto& timeline : spec_.faults) {
      core::Fault& fault = timeline.fault;
      if (fault.family() != core::Family::kProcess) continue;
      if (!spec_.NamesClients(fault.where.target)) {
        if (fault.where.target_kind == core::TargetKind::kClients) {
          Error(timeline.where,
                "clients " + Quote(fault.where.target) + ": no workload or client of that name");
        }
        continue;
      }
      fault.where.target_kind = core::TargetKind::kClients;
      if (core::Restarts(fault)) {
        Error(timeline.where, "kill " + Quote(fault.where.target) +
                                  ": a workload's client is not restarted; `restart` is for "
                                  "services");
      }
    }
    for (const auto& ref : service_refs_) {
      if (!is_service(ref.name)) {
        Error(ref.node,
              ref.what + ": no service " + Quote(ref.name) + core::Suggest(ref.name, services));
      }
    }
    for (const auto& ref : injected_refs_) {
      const ServiceSpec* service = spec_.FindService(ref.name);
      if (service == nullptr) {
        Error(ref.node,
              ref.what + ": no service " + Quote(ref.name) + core::Suggest(ref.name, services));
      } else if (!service->inject) {
        Error(ref.node, ref.what + ": service " + Quote(ref.name) +
                            " does not run under the injector; give it `inject: true`");
      }
    }
    for (const auto& ref : proxy_refs_) {
      if (spec_.FindProxy(ref.name) == nullptr) {
        Error(ref.node,
              ref.what + ": no proxy " + Quote(ref.name) + core::Suggest(ref.name, proxies));
      }
    }
    for (const auto& ref : target_refs_) {
      if (!is_service(ref.name) && spec_.FindProxy(ref.name) == nullptr &&
          !spec_.NamesClients(ref.name)) {
        std::vector<std::string_view> all = services;
        all.insert(all.end(), proxies.begin(), proxies.end());
        for (const auto& workload : spec_.workload) all.push_back(workload.name);
        Error(ref.node, "targets: no service, proxy or workload " + Quote(ref.name) +
                            core::Suggest(ref.name, all));
      }
    }
    for (const auto& proxy : spec_.proxies) {
      const std::string& upstream = proxy.upstream;
      if (upstream.empty() || is_service(upstream) || upstream.find(':') != std::string::npos) {
        continue;
      }
      Error(upstream_nodes_[proxy.name],
            "proxy " + Quote(proxy.name) + ": upstream " + Quote(upstream) +
                " is neither a service nor HOST:PORT" + core::Suggest(upstream, services));
    }
    for (const auto& service : spec_.services) {
      for (const std::string& dependency : service.depends_on) {
        if (!is_service(dependency)) {
          Error(dependency_nodes_[service.name],
                "service " + Quote(service.name) + ": depends_on names no service " +
                    Quote(dependency) + core::Suggest(dependency, services));
        } else if (dependency == service.name) {
          Error(dependency_nodes_[service.name],
                "service " + Quote(service.name) + " depends on itself");
        }
      }
    }
    if (errors_.empty() && spec_.StartOrder().size() != spec_.services.size()) {
      Error(Location{}, "services depend on each other in a cycle: " + CycleText());
    }
  }

  // After the references are known good: a kind needs something of its sort to act on.
  void CheckNemesisKinds() {
    if (!errors_.empty()) return;
    for (const NemesisSpec& nemesis : spec_.nemeses) {
      for (const NemesisKind& kind : nemesis.kinds) {
        if (!NemesisCandidates(spec_, nemesis, kind).empty()) continue;
        Error(kind.where, "nemesis kind " + Quote(kind.name) + " has nothing to act on: no " +
                              std::string(NemesisKindActsOn(kind)) +
                              (nemesis.targets.empty() ? "" : " among the nemesis's targets"));
      }
    }
  }

  // Only when nothing else is wrong: after another mistake (a misspelt `services`) these
  // would be noise.
  void CheckItEnds() {
    if (!errors_.empty()) return;
    if (spec_.services.empty() && spec_.workload.empty()) {
      Error(Location{1, 1}, "the experiment has neither services nor a workload: nothing to run");
    } else if (!spec_.duration && spec_.workload.empty()) {
      Error(Location{1, 1}, "the experiment has no duration and no workload: it would not end");
    }
  }

  std::string CycleText() const {
    const auto ordered = spec_.StartOrder();
    std::string text;
    for (const auto& service : spec_.services) {
      if (std::find(ordered.begin(), ordered.end(), &service) != ordered.end()) continue;
      if (!text.empty()) text += ", ";
      text += service.name;
    }
    return text;
  }

  // --- templates --------------------------------------------------------------------------

  // Each proxy's `listen` as written: {{proxy.NAME}} is that address, templates filled.
  void FindProxyListens(const YAML::Node& proxies) {
    if (!proxies || !proxies.IsMap()) return;
    for (const auto& item : proxies) {
      if (!item.first.IsScalar()) continue;
      const YAML::Node listen = item.second.IsMap() ? item.second["listen"] : YAML::Node();
      proxy_listens_[item.first.Scalar()] =
          listen && listen.IsScalar() ? listen.Scalar() : std::string("auto");
    }
  }

  // What a template stands for: the run's value when there is one, else a stand-in of the same
  // shape, so that what holds it (a rule, a toxic, a duration) is checked as far as it can be.
  std::optional<std::string> Lookup(std::string_view name, bool in_listen = false) {
    const bool known =
        name == "run.dir" || name == "seed" || (name.starts_with("port.") && name.size() > 5);
    if (known) {
      if (values_) return values_(name);
      if (name == "run.dir") return "/faultline-run";
      return "1";
    }
    if (!name.starts_with("proxy.") || in_listen) return std::nullopt;
    const auto proxy = proxy_listens_.find(std::string(name.substr(6)));
    if (proxy == proxy_listens_.end()) return std::nullopt;
    if (proxy->second != "auto") {
      auto listen = ResolveTemplates(proxy->second,
                                     [&](std::string_view inner) { return Lookup(inner, true); });
      return listen ? std::optional(*listen) : std::nullopt;
    }
    if (values_) return values_(name);
    return "127.0.0.1:1";
  }

  // Every {{...}} in a value is filled in before anything is read: rules, toxics and
  // durations are then read as they will run.
  void FillTemplates(YAML::Node node) {
    if (node.IsMap()) {
      for (auto item : node) FillTemplates(item.second);
    } else if (node.IsSequence()) {
      for (auto item : node) FillTemplates(item);
    } else if (node.IsScalar() && node.Scalar().find("{{") != std::string::npos) {
      auto filled =
          ResolveTemplates(node.Scalar(), [&](std::string_view name) { return Lookup(name); });
      if (!filled) {
        Error(node, filled.message());
        unfilled_.insert(Where(node));  // what it breaks there is not a second mistake
      } else {
        node = *filled;  // the same node: its place and its quoting stay
      }
    }
  }

  // The whole text with its templates filled, for the run directory's spec.yaml. A template
  // in a comment or a key stays as written.
  std::string FillText(std::string_view text) {
    if (!values_) return std::string(text);
    auto filled = ResolveTemplates(text, [&](std::string_view name) {
      return Lookup(name).value_or("{{" + std::string(name) + "}}");
    });
    return filled ? *filled : std::string(text);
  }

  std::string file_;
  std::string dir_;
  TemplateLookup values_;  // empty: stand-ins
  std::map<std::string, std::string> proxy_listens_;
  std::set<Location> unfilled_;  // values with a template that could not be filled
  Spec spec_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
  std::vector<Reference> service_refs_;   // must name a service
  std::vector<Reference> process_refs_;   // a service, a workload or one of its clients
  std::vector<Reference> injected_refs_;  // must name a service run with inject
  std::vector<Reference> proxy_refs_;     // must name a proxy
  std::vector<Reference> target_refs_;    // a service or a proxy
  std::map<std::string, YAML::Node> upstream_nodes_;
  std::map<std::string, YAML::Node> dependency_nodes_;
};

}  // namespace

std::string Diagnostic::Format() const {
  std::string out = file;
  if (where.line > 0) out += ":" + std::to_string(where.line);
  if (where.column > 0) out += ":" + std::to_string(where.column);
  return out + ": " + message;
}

std::vector<std::string> Command::Argv() const {
  if (!shell) return argv;
  return {"/bin/sh", "-c", "exec " + argv.front()};
}

std::string Command::Text() const {
  std::string text;
  for (const std::string& word : argv) {
    if (!text.empty()) text += " ";
    text += word;
  }
  return text;
}

const ServiceSpec* Spec::FindService(std::string_view wanted) const {
  for (const auto& service : services) {
    if (service.name == wanted) return &service;
  }
  return nullptr;
}

std::string ClientName(const WorkloadSpec& workload, int index) {
  return workload.name + "-" + std::to_string(index);
}

bool Spec::NamesClients(std::string_view target) const {
  if (FindService(target) != nullptr) return false;
  for (const auto& one : workload) {
    if (one.name == target) return true;
    for (int i = 0; i < one.concurrency; ++i) {
      if (ClientName(one, i) == target) return true;
    }
  }
  return false;
}

const ProxySpec* Spec::FindProxy(std::string_view wanted) const {
  for (const auto& proxy : proxies) {
    if (proxy.name == wanted) return &proxy;
  }
  return nullptr;
}

std::vector<const ServiceSpec*> Spec::StartOrder() const {
  // Repeatedly take, in file order, the first service whose dependencies have all started.
  std::vector<const ServiceSpec*> order;
  std::set<std::string_view> started;
  bool progress = true;
  while (progress && order.size() < services.size()) {
    progress = false;
    for (const auto& service : services) {
      if (started.count(service.name) != 0) continue;
      const bool ready = std::all_of(service.depends_on.begin(), service.depends_on.end(),
                                     [&](const std::string& d) { return started.count(d) != 0; });
      if (!ready) continue;
      order.push_back(&service);
      started.insert(service.name);
      progress = true;
      break;
    }
  }
  return order;
}

SpecResult ParseSpec(std::string_view text, const std::string& file, const std::string& dir,
                     const TemplateLookup& values) {
  return Reader(file, dir, values).Read(text);
}

SpecResult LoadSpec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    SpecResult result;
    result.errors.push_back({path, {}, "cannot read the file"});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::error_code ec;
  std::string dir = std::filesystem::absolute(path, ec).parent_path().string();
  return ParseSpec(text.str(), path, dir);
}

core::Result<std::string> ResolveTemplates(std::string_view text, const TemplateLookup& lookup) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = text.find("{{", at);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return core::MakeError("unclosed template " + Quote(text.substr(open)) + ": add '}}'");
    }
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    auto value = lookup(name);
    if (!value) {
      return core::MakeError("unknown template {{" + std::string(name) +
                             "}}: templates are {{port.NAME}}, {{proxy.NAME}} (a proxy), "
                             "{{run.dir}} and {{seed}}");
    }
    out.append(text.substr(at, open - at));
    out += *value;
    at = close + 2;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace faultline::experiments
