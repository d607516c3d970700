// libFuzzer target over the injector's rule grammar, as a user or a rules file gives it.
// Checked for every input:
//   - ParseRule and ParseRules return a rule or an error, never crash or hang;
//   - a rule that parses has a canonical line that parses back to the same canonical line
//     (FormatRule is a fixed point after one round);
//   - ParseRules accepts exactly the text whose non-blank, non-comment lines each parse, and
//     an error names a line that exists.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "faultline/core/rule.h"

using namespace faultline;

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Blank(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first == std::string_view::npos || line[first] == '#';
}

// What ParseRules gives a line's own ParseRule: the line without surrounding white space.
std::string_view Trimmed(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (text.find('\n') == std::string_view::npos) {
    auto rule = core::ParseRule(text);
    if (rule) {
      const std::string canonical = core::FormatRule(*rule);
      auto again = core::ParseRule(canonical);
      Check(static_cast<bool>(again));
      Check(core::FormatRule(*again) == canonical);
    } else {
      Check(!rule.message().empty());
    }
  }

  auto rules = core::ParseRules(text);
  std::size_t good = 0;
  std::size_t number = 0;
  bool failed = false;
  for (std::size_t start = 0; start <= text.size() && !failed;) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (Blank(line)) continue;
    if (core::ParseRule(Trimmed(line))) {
      ++good;
    } else {
      failed = true;
    }
  }
  if (failed) {
    Check(!rules);
    Check(rules.message().starts_with("line " + std::to_string(number) + ": "));
  } else {
    Check(static_cast<bool>(rules));
    Check(rules->size() == good);
  }
  return 0;
}
