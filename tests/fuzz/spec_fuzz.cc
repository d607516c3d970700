// libFuzzer target over experiment specs, as a user writes them. Checked for every input:
//   - ParseSpec returns a spec or diagnostics, never crashes, hangs or throws;
//   - a spec comes back only without diagnostics, and then it has a name and a start order
//     that covers every service;
//   - every diagnostic has a message, and its place (when known) is inside the text.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "faultline/experiments/spec.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result = faultline::experiments::ParseSpec(text, "fuzz.yaml", "/tmp");
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (result.spec) {
    Check(result.errors.empty());
    Check(!result.spec->name.empty());
    Check(result.spec->StartOrder().size() == result.spec->services.size());
  } else {
    Check(!result.errors.empty());
  }
  for (const auto& error : result.errors) {
    Check(!error.message.empty());
    Check(error.where.line <= lines + 1);
  }
  return 0;
}
