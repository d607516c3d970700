#include "faultline/proxy/pattern.h"

#include <re2/re2.h>

#include <string>

namespace faultline::proxy {
namespace {

// RE2 searches in time linear in the text, times the size of the compiled program while its
// DFA cannot help. A program is kept small enough that even then a search of a 20 KB frame
// takes milliseconds; the patterns a user writes to pick messages are far smaller (a
// request line with a UUID is about 150 instructions).
constexpr int kMaxProgramSize = 1000;
// Almost all of it goes to the DFA's state cache, which every connection of a toxic shares
// and keeps warm. When it fills RE2 empties it, or falls back to its NFA: slower, still
// linear. (RE2's own default.)
constexpr std::int64_t kMaxMemory = 8 << 20;

RE2::Options Options() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);  // the caller reports the error; RE2 would print to stderr
  options.set_max_mem(kMaxMemory);
  return options;
}

}  // namespace

core::Result<Pattern> Pattern::Compile(std::string_view text) {
  auto regex = std::make_shared<const RE2>(re2::StringPiece(text.data(), text.size()), Options());
  if (!regex->ok()) return core::MakeError(regex->error());
  if (regex->ProgramSize() > kMaxProgramSize) {
    return core::MakeError("pattern too large: " + std::to_string(regex->ProgramSize()) +
                           " RE2 instructions, at most " + std::to_string(kMaxProgramSize) +
                           " (a repetition count such as {1000} is the usual cause)");
  }
  return Pattern(std::move(regex));
}

bool Pattern::Finds(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex_);
}

const std::string& Pattern::text() const { return regex_->pattern(); }

}  // namespace faultline::proxy
