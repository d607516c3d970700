#pragma once
// The `faultline` command line, built in a function so tests can parse argument vectors
// in-process. Exit codes: 0 success, 1 failure found, 2 bad input, 3 harness error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace faultline::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitHarnessError = 3;

// The value of a --seed option: a fresh random seed when empty, nothing when it is not a
// non-negative integer.
std::optional<std::uint64_t> SeedFromOption(std::string_view text);

// For a word where a subcommand of `level` was expected and that names none: "faultline ctl:
// unknown command 'WORD' (did you mean X?)", then the commands there are, one line each.
std::string UnknownCommandMessage(const CLI::App& level, const std::string& word);

// Runs `faultline` with argv (argv[0] is the program name) and returns the exit code.
int Main(int argc, const char* const* argv);

}  // namespace faultline::cli
