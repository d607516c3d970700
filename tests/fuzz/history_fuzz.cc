// libFuzzer target over workload output as the runner reads it: lines of JSON operations,
// merged into a history, then every history checker. Checked for every input:
//   - ParseOpLine returns an op or an error naming the problem, never crashes or throws;
//   - a parsed op has a known type and a non-empty f;
//   - History accepts any sequence (pairing mistakes are recorded, not fatal), and every
//     checker gives a verdict, with a summary when it finds the history invalid.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "faultline/experiments/checker.h"
#include "faultline/experiments/history.h"

using namespace faultline::experiments;

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  History history;
  std::int64_t now = 0;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto op = ParseOpLine(text.substr(start, end - start), static_cast<int>(start % 4), ++now);
    start = end + 1;
    if (!op) {
      Check(!op.message().empty());
      continue;
    }
    Check(!op->f.empty());
    history.Append(std::move(*op));
  }
  (void)history.StatsByF();
  for (std::string_view name : CheckerNames()) {
    CheckerOptions options;
    options.min_availability = 0.5;
    auto checker = MakeChecker(name, options);
    Check(static_cast<bool>(checker));
    const CheckResult result = (*checker)->Check(history);
    if (!result.valid) Check(!result.summary.empty());
    if (result.first_bad_index) Check(*result.first_bad_index < history.size());
  }
  return 0;
}
