#include "ctl_command.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <boost/json.hpp>

#include "app.h"
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
            << bj::value_to<std::string>(p.at("upstream"))
            << (p.at("enabled").as_bool() ? " (enabled)" : " (disabled)") << "\n";
  PrintToxics(p.at("toxics").as_array());
}

// Sends the call; prints JSON or the result of `show`. Exit: 0, 2 rejected, 3 unreachable.
int Call(const CtlOptions& o, std::string_view method, const std::string& path,
         const std::string& body, const std::function<void(const bj::value&)>& show) {
  auto reply = HttpCall(o.url, method, path, body);
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

// Builds {"attributes": {k: v...}} from k=v pairs; values must be numbers.
bool ParseAttributes(const std::vector<std::string>& pairs, bj::object& attributes) {
  for (const std::string& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "faultline ctl: attribute '" << pair << "' must look like key=value\n";
      return false;
    }
    const std::string value = pair.substr(eq + 1);
    boost::system::error_code ec;
    bj::value number = bj::parse(value, ec);
    if (ec || !number.is_number()) {
      std::cerr << "faultline ctl: attribute '" << pair << "' needs a number after '='\n";
      return false;
    }
    attributes[pair.substr(0, eq)] = number;
  }
  return true;
}

}  // namespace

void SetupCtlCommand(CLI::App& app, CtlOptions& o, int& exit_code) {
  CLI::App* ctl = app.add_subcommand(
      "ctl", "Control a running proxy through its API (works with Toxiproxy servers too).");
  ctl->add_option("--url", o.url,
                  "API base URL (default: $FAULTLINE_URL, $TOXIPROXY_URL, http://127.0.0.1:8474)");
  ctl->add_flag("--json", o.json, "Print the server's JSON instead of a summary");
  ctl->require_subcommand(1);
  ctl->parse_complete_callback([&o] {
    if (o.url.empty()) o.url = DefaultUrl();
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
  create->callback([&] {
    bj::object body{{"name", o.proxy},
                    {"listen", o.listen},
                    {"upstream", o.upstream},
                    {"enabled", !o.disabled}};
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
    auto current = HttpCall(o.url, "GET", "/proxies/" + Escape(o.proxy));
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
  add->add_option("-a,--attribute", o.attributes, "Attribute key=value (repeatable)");
  add->callback([&] {
    bj::object attributes;
    if (!ParseAttributes(o.attributes, attributes)) {
      exit_code = kExitBadInput;
      return;
    }
    bj::object body{{"type", o.toxic_type},
                    {"stream", o.upstream_stream ? "upstream" : "downstream"},
                    {"attributes", attributes}};
    if (!o.toxic_name.empty()) body["name"] = o.toxic_name;
    if (o.toxicity >= 0) body["toxicity"] = o.toxicity;
    exit_code = Call(o, "POST", "/proxies/" + Escape(o.proxy) + "/toxics", bj::serialize(body),
                     [&](const bj::value& v) {
                       std::cout << "added toxic to " << o.proxy << ":\n";
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
    if (!ParseAttributes(o.attributes, attributes)) {
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
  remove_toxic->callback([&] {
    exit_code = Call(o, "DELETE", "/proxies/" + Escape(o.proxy) + "/toxics/" + Escape(o.toxic_name),
                     "", [&](const bj::value&) {
                       std::cout << "removed toxic " << o.toxic_name << " from " << o.proxy << "\n";
                     });
  });
}

}  // namespace faultline::cli
