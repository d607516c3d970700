#pragma once
// Line helpers for tests of line-framed toxics.

#include <string>
#include <vector>

namespace faultline::testing {

// The complete lines of `text`, without their '\n'; an unfinished last line is left out.
inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace faultline::testing
