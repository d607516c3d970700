#include "ctl_command.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <variant>

#include <boost/json.hpp>

#include "app.h"
#include "faultline/core/fault.h"
#include "faultline/core/kinds.h"
#include "faultline/proxy/api.h"
#include "faultline/proxy/json.h"
#include "faultline/proxy/toxic.h"
#include "http_client.h"

namespace faultline::cli {
namespace {

namespace bj = boost::json;

std::string DefaultUrl() {
  for (const char* name : {"FAULTLINE_URL", "TOXIPROXY_URL"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  }
  return "http://127.0.0.1:8474";
}

// --token-file's content, else $FAULTLINE_TOKEN (the token itself), else none.
std::string ResolveToken(const std::string& token_file) {
  if (!token_file.empty()) {
    auto token = proxy::ReadTokenFile(token_file);
    if (!token) throw CLI::ValidationError("--token-file", token.message());
    return *token;
  }
  std::string_view token;
  if (const char* value = std::getenv("FAULTLINE_TOKEN"); value != nullptr) token = value;
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) {
    token.remove_prefix(1);
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.remove_suffix(1);
  }
  return std::string(token);
}

std::string Escape(std::string_view segment) {
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string AttributesText(const bj::value& toxic) {
  std::string text;
  if (const auto* attrs = toxic.as_object().if_contains("attributes");
      attrs && attrs->is_object()) {
    for (const auto& entry : attrs->as_object()) {
      text +=
          (text.empty() ? "" : " ") + std::string(entry.key()) + "=" + bj::serialize(entry.value());
    }
  }
  return text;
}

void PrintToxics(const bj::array& toxics) {
  if (toxics.empty()) {
    std::cout << "  no toxics\n";
    return;
  }
  for (const auto& t : toxics) {
    const auto& o = t.as_object();
    std::cout << "  " << std::left << std::setw(24) << bj::value_to<std::string>(o.at("name"))
              << std::setw(12) << bj::value_to<std::string>(o.at("type")) << std::setw(12)
              << bj::value_to<std::string>(o.at("stream"))
              << "toxicity=" << bj::serialize(o.at("toxicity")) << "  " << AttributesText(t)
              << "\n";
  }
}

void PrintProxy(const bj::object& p) {
  std::cout << bj::value_to<std::string>(p.at("name")) << ": "
            << bj::value_to<std::string>(p.at("listen")) << " -> "
            << bj::value_to<std::string>(p.at("upstream"));
  if (const auto* protocol = p.if_contains("protocol"); protocol && protocol->is_string()) {
    std::cout << " (" << protocol->as_string().c_str() << ")";
  }
  if (const auto* seed = p.if_contains("seed")) std::cout << " seed " << bj::serialize(*seed);
  std::cout << (p.at("enabled").as_bool() ? " (enabled)" : " (disabled)") << "\n";
  PrintToxics(p.at("toxics").as_array());
}

// Sends the call; prints JSON or the result of `show`. Exit: 0, 2 rejected, 3 unreachable.
int Call(const CtlOptions& o, std::string_view method, const std::string& path,
         const std::string& body, const std::function<void(const bj::value&)>& show) {
  auto reply = HttpCall(o.url, method, path, body, o.token);
  if (!reply) {
    std::cerr << "faultline ctl: " << reply.message() << "\n";
    return kExitHarnessError;
  }
  boost::system::error_code ec;
  bj::value value = reply->body.empty() ? bj::value() : bj::parse(reply->body, ec);
  if (reply->status >= 400) {
    std::string message = reply->body;
    if (!ec && value.is_object()) {
      if (const auto* error = value.as_object().if_contains("error"); error && error->is_string()) {
        message = std::string(error->as_string());
      }
    }
    std::cerr << "faultline ctl: " << message << " (HTTP " << reply->status << ")\n";
    if (reply->status == 401) {
      std::cerr << "faultline ctl: "
                << (o.token.empty() ? "the API is closed: pass --token-file FILE or set "
                                      "FAULTLINE_TOKEN"
                                    : "the server refused the token from " +
                                          (o.token_file.empty() ? std::string("$FAULTLINE_TOKEN")
                                                                : o.token_file))
                << "\n";
    }
    return reply->status >= 500 ? kExitHarnessError : kExitBadInput;
  }
  if (o.json) {
    if (!reply->body.empty()) std::cout << reply->body << "\n";
  } else if (ec) {
    std::cerr << "faultline ctl: the server sent malformed JSON\n";
    return kExitHarnessError;
  } else {
    show(value);
  }
  return kExitOk;
}

// Builds {"attributes": {k: v...}} from k=v pairs. The toxic type's durations take a unit
// (delay=500ms, timeout=2s) or a bare number in the attribute's unit, as toxiproxy-cli's do;
// its chances a percentage or a fraction (probability=10%). Any other value that reads as a
// JSON number is sent as one, the rest (framing=line, match=^SET) as a string, which the
// server checks against the toxic type.
bool ParseAttributes(const std::vector<std::string>& pairs, std::string_view type,
                     bj::object& attributes) {
  const proxy::ToxicTypeInfo* info = proxy::FindToxicType(type);
  for (const std::string& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "faultline ctl: attribute '" << pair << "' must look like key=value\n";
      return false;
    }
    const std::string name = pair.substr(0, eq);
    const std::string value = pair.substr(eq + 1);
    const core::AttributeInfo* attribute =
        info == nullptr ? nullptr : core::FindAttribute(info->kind->attributes, name);
    if (attribute != nullptr && core::HasWrittenForm(*attribute)) {
      bool bare = false;
      auto read = core::ReadWrittenAttribute(*attribute, value, bare);
      if (!read) {
        std::cerr << "faultline ctl: " << read.message() << "\n";
        return false;
      }
      attributes[name] = std::visit([](const auto& v) { return bj::value(v); }, *read);
      continue;
    }
    boost::system::error_code ec;
    bj::value number = bj::parse(value, ec);
    if (!ec && number.is_number()) {
      attributes[name] = number;
    } else {
      attributes[name] = value;
    }
  }
  return true;
}

// The type of a proxy's toxic, from the server; empty (and the error printed) when it has none.
// Every toxic type with what it does and its attributes (a * for a required one), from the
// table of kinds: `faultline ctl toxic add --help` is its reference.
std::string ToxicTypesHelp() {
  std::string text = "Toxic types, and the attributes -a takes (* required):\n";
  for (const core::KindInfo& kind : core::Kinds()) {
    if (kind.family != core::Family::kProxy) continue;
    text += "  " + std::string(kind.name) + ": " + std::string(kind.help) + "\n";
    std::string names;
    for (const core::AttributeInfo& attribute : kind.attributes) {
      names += (names.empty() ? "" : ", ") + std::string(attribute.name) +
               (attribute.required ? "*" : "") +
               (attribute.unit.empty() ? "" : " (" + std::string(attribute.unit) + ")");
    }
    if (!names.empty()) text += "      " + names + "\n";
  }
  return text;
}

std::string ToxicType(const CtlOptions& o) {
  std::string type;
  const int code =
      Call(o, "GET", "/proxies/" + Escape(o.proxy) + "/toxics/" + Escape(o.toxic_name), "",
           [&](const bj::value& v) {
             if (const auto* t = v.is_object() ? v.as_object().if_contains("type") : nullptr;
                 t != nullptr && t->is_string()) {
               type = std::string(t->as_string());
             }
           });
  return code == kExitOk ? type : std::string();
}

// {"target": {...}} from --connection, --every and --client; empty when none was given.
bj::object TargetJson(const CtlOptions& o) {
  bj::object target;
  if (o.target_connection > 0) target["connection"] = o.target_connection;
  if (o.target_every > 0) target["every"] = o.target_every;
  if (!o.target_client.empty()) target["client"] = o.target_client;
  return target;
}

// "#7 a conn 1 upstream frame 2 lose_second: drop (4 bytes)"
void PrintEvent(const bj::object& e) {
  std::cout << "#" << bj::serialize(e.at("seq")) << " " << bj::value_to<std::string>(e.at("proxy"))
            << " conn " << bj::serialize(e.at("connection"));
  const std::string direction = bj::value_to<std::string>(e.at("direction"));
  if (!direction.empty()) std::cout << " " << direction;
  if (!e.at("frame").is_null()) std::cout << " frame " << bj::serialize(e.at("frame"));
  std::cout << " " << bj::value_to<std::string>(e.at("toxic")) << ": "
            << bj::value_to<std::string>(e.at("action"));
  const std::string detail = bj::value_to<std::string>(e.at("detail"));
  if (!detail.empty()) std::cout << " (" << detail << ")";
  std::cout << "\n";
}

void PrintHolds(const bj::array& holds) {
  if (holds.empty()) {
    std::cout << "nothing is held\n";
    return;
  }
  for (const auto& h : holds) {
    const auto& o = h.as_object();
    std::cout << "  #" << bj::serialize(o.at("id")) << " "
              << bj::value_to<std::string>(o.at("proxy")) << "/"
              << bj::value_to<std::string>(o.at("hold")) << "  connection "
              << bj::serialize(o.at("connection")) << " "
              << bj::value_to<std::string>(o.at("direction"));
    const std::string release_on = bj::value_to<std::string>(o.at("release_on"));
    if (!release_on.empty()) std::cout << "  waits for " << release_on;
    std::cout << "\n";
  }
}

}  // namespace

void SetupCtlCommand(CLI::App& app, CtlOptions& o, int& exit_code) {
  CLI::App* ctl = app.add_subcommand(
      "ctl", "Control a running proxy through its API (works with Toxiproxy servers too).");
  // toxiproxy-cli's global -h/--host names the server, so scripts written for it run
  // unchanged; help stays on --help.
  ctl->set_help_flag("--help", "Print this help message and exit");
  ctl->add_option("--url,-h,--host", o.url,
                  "API base URL (default: $FAULTLINE_URL, $TOXIPROXY_URL, http://127.0.0.1:8474)")
      ->type_name("URL");
  ctl->add_flag("--json", o.json, "Print the server's JSON instead of a summary");
  ctl->add_option("--token-file", o.token_file,
                  "Send 'Authorization: Bearer <token>' with the token in this file, for a proxy "
                  "started with --token-file (default: the token in $FAULTLINE_TOKEN)")
      ->type_name("FILE");
  ctl->require_subcommand(1);
  ctl->parse_complete_callback([&o] {
    if (o.url.empty()) o.url = DefaultUrl();
    o.token = ResolveToken(o.token_file);
  });

  auto* list = ctl->add_subcommand("list", "List proxies and their toxics")->alias("ls");
  list->callback([&] {
    exit_code = Call(o, "GET", "/proxies", "", [](const bj::value& v) {
      if (v.as_object().empty()) std::cout << "no proxies\n";
      for (const auto& entry : v.as_object()) PrintProxy(entry.value().as_object());
    });
  });

  auto* inspect = ctl->add_subcommand("inspect", "Show one proxy")->alias("i");
  inspect->add_option("proxy", o.proxy, "Proxy name")->required();
  inspect->callback([&] {
    exit_code = Call(o, "GET", "/proxies/" + Escape(o.proxy), "",
                     [](const bj::value& v) { PrintProxy(v.as_object()); });
  });

  auto* create = ctl->add_subcommand("create", "Create a proxy")->alias("c");
  create->add_option("proxy", o.proxy, "Proxy name")->required();
  create->add_option("-l,--listen", o.listen, "Address to listen on (host:port, port 0 = any)")
      ->required();
  create->add_option("-u,--upstream", o.upstream, "Address to forward to (host:port)")->required();
  create->add_flag("--disabled", o.disabled, "Create it disabled");
  create->add_option("--protocol", o.protocol, "tcp, or udp for a datagram relay")
      ->check(CLI::IsMember({"tcp", "udp"}));
  create->add_option("--seed", o.seed,
                     "Root of this proxy's random decisions (default: the server's --seed)");
  create->callback([&] {
    bj::object body{{"name", o.proxy},
                    {"listen", o.listen},
                    {"upstream", o.upstream},
                    {"enabled", !o.disabled}};
    if (!o.protocol.empty()) body["protocol"] = o.protocol;
    if (o.seed) body["seed"] = *o.seed;
    exit_code = Call(o, "POST", "/proxies", bj::serialize(body), [](const bj::value& v) {
      std::cout << "created ";
      PrintProxy(v.as_object());
    });
  });

  auto* remove = ctl->add_subcommand("delete", "Delete a proxy")->alias("d");
  remove->add_option("proxy", o.proxy, "Proxy name")->required();
  remove->callback([&] {
    exit_code = Call(o, "DELETE", "/proxies/" + Escape(o.proxy), "",
                     [&](const bj::value&) { std::cout << "deleted proxy " << o.proxy << "\n"; });
  });

  auto* toggle =
      ctl->add_subcommand("toggle", "Enable a disabled proxy, or disable an enabled one");
  toggle->add_option("proxy", o.proxy, "Proxy name")->required();
  toggle->callback([&] {
    auto current = HttpCall(o.url, "GET", "/proxies/" + Escape(o.proxy), "", o.token);
    bool enabled = true;
    if (current && current->status == 200) {
      boost::system::error_code ec;
      auto v = bj::parse(current->body, ec);
      if (!ec && v.is_object() && v.as_object().contains("enabled")) {
        enabled = v.as_object().at("enabled").as_bool();
      }
    }
    bj::object body{{"enabled", !enabled}};
    exit_code = Call(o, "PATCH", "/proxies/" + Escape(o.proxy), bj::serialize(body),
                     [](const bj::value& v) { PrintProxy(v.as_object()); });
  });

  auto* reset = ctl->add_subcommand("reset", "Enable every proxy and remove every toxic");
  reset->callback([&] {
    exit_code = Call(o, "POST", "/reset", "", [](const bj::value&) { std::cout << "reset\n"; });
  });

  auto* populate = ctl->add_subcommand("populate", "Create or replace proxies from a JSON file");
  populate->add_option("file", o.file, "JSON array of proxies")
      ->required()
      ->check(CLI::ExistingFile);
  populate->callback([&] {
    std::ifstream in(o.file);
    std::stringstream text;
    text << in.rdbuf();
    exit_code = Call(o, "POST", "/populate", text.str(), [](const bj::value& v) {
      for (const auto& p : v.as_object().at("proxies").as_array()) PrintProxy(p.as_object());
    });
  });

  auto* toxic = ctl->add_subcommand("toxic", "Add, update or remove toxics")->alias("t");
  toxic->require_subcommand(1);

  auto* add = toxic->add_subcommand("add", "Add a toxic to a proxy")->alias("a");
  add->add_option("proxy", o.proxy, "Proxy name")->required();
  add->add_option("-t,--type", o.toxic_type, "Toxic type (latency, bandwidth, ...)")->required();
  add->add_option("-n,--toxicName", o.toxic_name, "Toxic name (default: <type>_<stream>)");
  add->add_option("--tox,--toxicity", o.toxicity, "Chance per connection, 0 to 1 (default 1)");
  add->add_flag("-u,--upstream", o.upstream_stream, "Apply to client -> server data");
  add->add_flag("-d,--downstream", o.downstream_stream, "Apply to server -> client data (default)");
  add->add_option("-a,--attribute", o.attributes,
                  "Attribute key=value (repeatable): durations with a unit or in the attribute's "
                  "unit (latency=800ms, latency=800), chances as 10% or 0.1, text as it is "
                  "(framing=line)");
  add->add_option("--connection", o.target_connection, "Only the proxy's k-th connection");
  add->add_option("--every", o.target_every, "Only every n-th connection");
  add->add_option("--client", o.target_client, "Only connections from this IP address");
  add->footer(ToxicTypesHelp());
  add->callback([&] {
    bj::object attributes;
    if (!ParseAttributes(o.attributes, o.toxic_type, attributes)) {
      exit_code = kExitBadInput;
      return;
    }
    bj::object body{{"type", o.toxic_type},
                    {"stream", o.upstream_stream ? "upstream" : "downstream"},
                    {"attributes", attributes}};
    if (!o.toxic_name.empty()) body["name"] = o.toxic_name;
    if (o.toxicity >= 0) body["toxicity"] = o.toxicity;
    if (auto target = TargetJson(o); !target.empty()) body["target"] = std::move(target);
    exit_code = Call(o, "POST", "/proxies/" + Escape(o.proxy) + "/toxics", bj::serialize(body),
                     [&](const bj::value& v) {
                       std::cout << "added toxic to " << o.proxy << ":\n";
                       PrintToxics(bj::array{v});
                     });
  });

  auto* fault = ctl->add_subcommand(
      "fault", "Add a toxic written as a fault line: \"proxy NAME [upstream] -> TYPE(ATTRS)\"");
  fault
      ->add_option("line", o.fault_line,
                   "The fault, e.g. \"proxy redis upstream conn=2 -> 20%drop(framing=line)\"")
      ->required();
  fault->add_option("-n,--toxicName", o.toxic_name, "Toxic name (default: <type>_<stream>)");
  fault->footer(
      "The line is the one a spec's `fault:` takes (docs/experiments.md#faults): the proxy and "
      "its direction, conn=K every=N client=IP for its connections, P% for the toxicity, then "
      "the toxic type and its attributes, durations with their unit.\n\n" +
      ToxicTypesHelp());
  fault->callback([&] {
    std::string proxy_name;
    const auto toxic_of = [&]() -> core::Result<proxy::ToxicSpec> {
      auto parsed = core::ParseFault(o.fault_line);
      if (!parsed) return parsed.error();
      if (parsed->family() != core::Family::kProxy) {
        return core::MakeError("'" + core::FormatFault(*parsed) +
                               "' is not a fault on a proxy; ctl puts toxics on proxies");
      }
      if (parsed->gate.lease) {
        return core::MakeError(
            "lease= is not kept by the proxy's API; remove the toxic when done (ctl toxic "
            "remove)");
      }
      proxy_name = parsed->where.target;
      return proxy::ToxicFromFault(*parsed, o.toxic_name);
    };
    auto toxic = toxic_of();
    if (!toxic) {
      std::cerr << "faultline ctl: " << toxic.message() << "\n";
      exit_code = kExitBadInput;
      return;
    }
    exit_code = Call(o, "POST", "/proxies/" + Escape(proxy_name) + "/toxics",
                     bj::serialize(proxy::json::ToJson(*toxic)), [&](const bj::value& v) {
                       std::cout << "added toxic to " << proxy_name << ":\n";
                       PrintToxics(bj::array{v});
                     });
  });

  auto* update =
      toxic->add_subcommand("update", "Change a toxic's attributes or toxicity")->alias("u");
  update->add_option("proxy", o.proxy, "Proxy name")->required();
  update->add_option("-n,--toxicName", o.toxic_name, "Toxic name")->required();
  update->add_option("--tox,--toxicity", o.toxicity, "Chance per connection, 0 to 1");
  update->add_option("-a,--attribute", o.attributes, "Attribute key=value (repeatable)");
  update->callback([&] {
    bj::object attributes;
    // Its durations' units are the type's: ask the server which type it is.
    const std::string type = o.attributes.empty() ? std::string() : ToxicType(o);
    if (!o.attributes.empty() && type.empty()) {
      exit_code = kExitBadInput;
      return;
    }
    if (!ParseAttributes(o.attributes, type, attributes)) {
      exit_code = kExitBadInput;
      return;
    }
    bj::object body{{"attributes", attributes}};
    if (o.toxicity >= 0) body["toxicity"] = o.toxicity;
    exit_code = Call(o, "PATCH", "/proxies/" + Escape(o.proxy) + "/toxics/" + Escape(o.toxic_name),
                     bj::serialize(body), [&](const bj::value& v) {
                       std::cout << "updated toxic on " << o.proxy << ":\n";
                       PrintToxics(bj::array{v});
                     });
  });

  auto* remove_toxic = toxic->add_subcommand("remove", "Remove a toxic")->alias("r");
  remove_toxic->alias("delete");
  remove_toxic->add_option("proxy", o.proxy, "Proxy name")->required();
  remove_toxic->add_option("-n,--toxicName", o.toxic_name, "Toxic name")->required();
  auto* holds = ctl->add_subcommand("holds", "List what hold toxics are parking right now");
  holds->callback([&] {
    exit_code = Call(o, "GET", "/holds", "",
                     [](const bj::value& v) { PrintHolds(v.at("holds").as_array()); });
  });

  auto* release = ctl->add_subcommand(
      "release", "Release a hold: its oldest parked connection, one connection, or all");
  release->add_option("proxy", o.proxy, "Proxy name")->required();
  release->add_option("hold", o.toxic_name, "Name of the hold toxic")->required();
  release->add_option("--connection", o.target_connection, "Release this connection only");
  release->add_flag("--all", o.all, "Release every connection the hold parks");
  release->callback([&] {
    std::string path =
        "/proxies/" + Escape(o.proxy) + "/holds/" + Escape(o.toxic_name) + "/release";
    if (o.all) {
      path += "?all=1";
    } else if (o.target_connection > 0) {
      path += "?connection=" + std::to_string(o.target_connection);
    }
    exit_code = Call(o, "POST", path, "", [](const bj::value& v) {
      std::cout << "released:\n";
      PrintHolds(v.at("released").as_array());
    });
  });

  auto* events = ctl->add_subcommand("events", "Print fault decisions from the event log");
  events->add_option("--since", o.since, "Only events after this sequence number")
      ->capture_default_str();
  events->callback([&] {
    exit_code =
        Call(o, "GET", "/events?since=" + std::to_string(o.since), "", [](const bj::value& v) {
          const auto& list = v.at("events").as_array();
          if (list.empty()) std::cout << "no events\n";
          for (const auto& e : list) PrintEvent(e.as_object());
        });
  });

  remove_toxic->callback([&] {
    exit_code = Call(o, "DELETE", "/proxies/" + Escape(o.proxy) + "/toxics/" + Escape(o.toxic_name),
                     "", [&](const bj::value&) {
                       std::cout << "removed toxic " << o.toxic_name << " from " << o.proxy << "\n";
                     });
  });
}

}  // namespace faultline::cli
