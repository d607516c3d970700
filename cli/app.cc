#include "app.h"

#include <CLI/CLI.hpp>

#include "ctl_command.h"
#include "inject_command.h"
#include "proxy_command.h"
#include "version.h"

namespace faultline::cli {

int Main(int argc, const char* const* argv) {
  CLI::App app{"faultline: chaos and timing fault injection for real services", "faultline"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  int exit_code = kExitOk;
  ProxyOptions proxy_options;
  CtlOptions ctl_options;
  InjectOptions inject_options;
  SetupProxyCommand(app, proxy_options, exit_code);
  SetupCtlCommand(app, ctl_options, exit_code);
  SetupInjectCommand(app, inject_options, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  return exit_code;
}

}  // namespace faultline::cli
