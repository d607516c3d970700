#include "validate_command.h"

#include <iostream>

#include "app.h"
#include "faultline/experiments/spec.h"

namespace faultline::cli {
namespace {

std::string Count(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

int Validate(const ValidateOptions& options) {
  int exit_code = kExitOk;
  for (const std::string& path : options.specs) {
    const experiments::SpecResult loaded = experiments::LoadSpec(path);
    for (const auto& warning : loaded.warnings) std::cerr << warning.Format() << "\n";
    if (!loaded.spec) {
      for (const auto& error : loaded.errors) std::cerr << error.Format() << "\n";
      std::cerr << path << ": " << Count(loaded.errors.size(), "error", "errors") << "\n";
      exit_code = kExitBadInput;
      continue;
    }
    const experiments::Spec& spec = *loaded.spec;
    std::cout << path << ": ok: experiment " << spec.name << ", "
              << Count(spec.services.size(), "service", "services") << ", "
              << Count(spec.proxies.size(), "proxy", "proxies") << ", "
              << Count(spec.workload.size(), "client", "clients") << ", "
              << Count(spec.faults.size() + spec.nemeses.size(), "fault", "faults") << ", "
              << Count(spec.invariants.size(), "invariant", "invariants") << "\n";
  }
  return exit_code;
}

}  // namespace

void SetupValidateCommand(CLI::App& app, ValidateOptions& options, int& exit_code) {
  CLI::App* validate = app.add_subcommand(
      "validate", "Check experiment specs: every mistake with its file, line and column");
  validate->add_option("spec", options.specs, "Experiment spec files (YAML)")->required();
  validate->footer("Exit codes: 0 every spec is valid, 2 a spec has errors (all are listed).\n");
  validate->callback([&options, &exit_code] { exit_code = Validate(options); });
}

}  // namespace faultline::cli
