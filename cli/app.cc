#include "app.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <string_view>
#include <vector>

#include "ctl_command.h"
#include "faultline/core/random.h"
#include "faultline/core/suggest.h"
#include "faultline/proxy/api.h"
#include "inject_command.h"
#include "proxy_command.h"
#include "run_command.h"
#include "validate_command.h"
#include "version.h"

namespace faultline::cli {

std::optional<std::uint64_t> SeedFromOption(std::string_view text) {
  if (text.empty()) return core::RandomSeed();
  std::uint64_t seed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return seed;
}

namespace {

// "faultline ctl toxic": the words that lead to `level`.
std::string CommandPath(const CLI::App& level) {
  std::string path = level.get_name();
  for (const CLI::App* up = level.get_parent(); up != nullptr; up = up->get_parent()) {
    path = up->get_name() + " " + path;
  }
  return path;
}

std::vector<const CLI::App*> Commands(const CLI::App& level) {
  return level.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
}

// What to say instead of CLI11's message, if the parse failed on a word where a command was
// expected: an unknown one, or none at all where one is required.
std::optional<std::string> CommandError(const CLI::App& app, const InjectOptions& inject) {
  for (const CLI::App* level = &app; level != nullptr;) {
    const std::vector<const CLI::App*> commands = Commands(*level);
    const std::vector<CLI::App*> chosen = level->get_subcommands();
    if (!commands.empty()) {
      // A word no option took and no command is: the first of what is left over.
      const std::vector<std::string> left = level->remaining();
      if (!left.empty() && !left.front().empty() && left.front()[0] != '-') {
        return UnknownCommandMessage(*level, left.front());
      }
      if (level->get_name() == "inject" && chosen.empty()) {
        if (const std::string word = MistypedInjectCommand(inject); !word.empty()) {
          return UnknownCommandMessage(*level, word);
        }
      }
      if (left.empty() && chosen.empty() && level->get_require_subcommand_min() > 0) {
        return CommandPath(*level) + ": a subcommand is required\n" + app.help();
      }
    }
    level = chosen.empty() ? nullptr : chosen.front();
  }
  return std::nullopt;
}

}  // namespace

std::string UnknownCommandMessage(const CLI::App& level, const std::string& word) {
  std::vector<std::string_view> names;
  std::size_t width = 0;
  for (const CLI::App* command : Commands(level)) {
    names.push_back(command->get_name());
    width = std::max(width, command->get_name().size());
  }
  const std::string path = CommandPath(level);
  std::string message =
      path + ": unknown command '" + word + "'" + core::Suggest(word, names) + "\nCommands:\n";
  for (const CLI::App* command : Commands(level)) {
    const std::string& name = command->get_name();
    const std::string& description = command->get_description();
    message += "  " + name + std::string(width + 2 - name.size(), ' ') +
               description.substr(0, description.find('\n')) + "\n";
  }
  return message + "Run '" + path + " --help' for more.\n";
}

int Main(int argc, const char* const* argv) {
  CLI::App app{"faultline: chaos and timing fault injection for real services", "faultline"};
  app.set_version_flag("--version", std::string("faultline ") + kVersion + " (Toxiproxy API " +
                                        std::string(proxy::kToxiproxyApiVersion) + ")");
  app.require_subcommand(1);
  int exit_code = kExitOk;
  ProxyOptions proxy_options;
  CtlOptions ctl_options;
  InjectOptions inject_options;
  ValidateOptions validate_options;
  RunCommandOptions run_options;
  SetupProxyCommand(app, proxy_options, exit_code);
  SetupCtlCommand(app, ctl_options, exit_code);
  SetupInjectCommand(app, inject_options, exit_code);
  SetupValidateCommand(app, validate_options, exit_code);
  SetupRunCommands(app, run_options, exit_code);
  // `faultline inject [OPTIONS] -- CMD ARGS...`: the program's own arguments are never
  // options of ours, whatever they look like.
  if (argc > 2 && std::string_view(argv[1]) == "inject") {
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) != "--") continue;
      inject_options.command.assign(argv + i + 1, argv + argc);
      inject_options.after_dashes = true;
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      if (auto message = CommandError(app, inject_options)) {
        std::cerr << *message;
        return kExitBadInput;
      }
    }
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  return exit_code;
}

}  // namespace faultline::cli
