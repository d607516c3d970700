#include "app.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <string_view>

#include "ctl_command.h"
#include "faultline/core/random.h"
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

int Main(int argc, const char* const* argv) {
  CLI::App app{"faultline: chaos and timing fault injection for real services", "faultline"};
  app.set_version_flag("--version", kVersion);
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
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  return exit_code;
}

}  // namespace faultline::cli
