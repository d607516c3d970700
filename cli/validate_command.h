#pragma once
// `faultline validate SPEC...`: checks experiment specs without running anything, and
// reports every mistake as FILE:LINE:COLUMN: message (exit 2), or a summary of each (exit 0).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace faultline::cli {

struct ValidateOptions {
  std::vector<std::string> specs;
};

void SetupValidateCommand(CLI::App& app, ValidateOptions& options, int& exit_code);

}  // namespace faultline::cli
