#pragma once
// `faultline inject`: run a program under libfaultline_inject.so with rules, and change the
// rules of a running one (set, clear, release, status).

#include <CLI/CLI.hpp>

#include "faultline/core/result.h"

#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

struct InjectOptions {
  std::vector<std::string> rules;  // --rule LINE (run) or positional RULE... (set)
  std::string rules_file;
  std::string seed;  // empty: random
  std::string library;
  bool quiet = false;
  std::vector<std::string> command;  // after --
  bool after_dashes = false;         // the command came after --, not as bare words
  int target = 0;
  std::vector<std::string> ids;  // clear
  std::string hold;              // release
  bool all = false;
  std::string wait;  // release --wait DURATION
  bool prometheus = false;
  bool json = false;
};

void SetupInjectCommand(CLI::App& app, InjectOptions& options, int& exit_code);

// The first word of a command given without `--` when it is no program either: most likely a
// mistyped subcommand (`faultline inject stauts`). Empty otherwise.
std::string MistypedInjectCommand(const InjectOptions& options);

// libfaultline_inject.so: `given`, else $FAULTLINE_INJECT_LIB, else next to this executable
// (or where the build tree and an install put it).
core::Result<std::string> FindInjectLibrary(const std::string& given);

}  // namespace faultline::cli
