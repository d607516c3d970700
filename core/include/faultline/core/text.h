#pragma once
// Text as people read and write it: numbers in progress lines, reports and tables; lists of
// words in tables of settings; names.

#include <string>
#include <string_view>
#include <vector>

namespace faultline::core {

// `value` with exactly `digits` decimals: FormatFixed(2.345, 1) == "2.3" (printf's "%.*f").
std::string FormatFixed(double value, int digits);

// Whether `text` is a name of something in a run (an experiment, a service, a proxy, a
// workload): an ASCII letter or digit, then those, '_', '.' and '-'. Names become file names
// and metric labels, so they take nothing else.
bool IsName(std::string_view text);

// The words of `text`, split at spaces and tabs; runs of them make no empty words.
std::vector<std::string_view> SplitWords(std::string_view text);

}  // namespace faultline::core
