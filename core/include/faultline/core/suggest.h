#pragma once
// "Did you mean ...?" for a mistyped name: the nearest of the valid names, by edit distance.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace faultline::core {

// Insertions, deletions and substitutions that turn a into b.
std::size_t EditDistance(std::string_view a, std::string_view b);

// " (did you mean X?)" for the nearest candidate within two edits, else "".
std::string Suggest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace faultline::core
