// libFuzzer target over the fault grammar (rules, proxy faults, process faults), as a user, a
// rules file or a spec gives it. Checked for every input:
//   - ParseFault and ParseFaults return a fault or an error, never crash or hang;
//   - a fault that parses has a canonical line that parses back to the same fault, and to the
//     same canonical line (FormatFault is a fixed point after one round);
//   - ParseFaults accepts exactly the text whose non-blank, non-comment lines each parse, and
//     an error names a line that exists.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "faultline/core/fault.h"

using namespace faultline;

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Blank(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first == std::string_view::npos || line[first] == '#';
}

// What ParseFaults gives a line's own ParseFault: the line without surrounding white space.
std::string_view Trimmed(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (text.find('\n') == std::string_view::npos) {
    auto rule = core::ParseFault(text);
    if (rule) {
      const std::string canonical = core::FormatFault(*rule);
      auto again = core::ParseFault(canonical);
      Check(static_cast<bool>(again));
      Check(*again == *rule);
      Check(core::FormatFault(*again) == canonical);
    } else {
      Check(!rule.message().empty());
    }
  }

  auto rules = core::ParseFaults(text);
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
    if (core::ParseFault(Trimmed(line))) {
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
