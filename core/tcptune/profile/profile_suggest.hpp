#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tcptune {

// The candidate closest to `word` by edit distance, for "did you mean ..." hints
// in profile errors; empty when nothing is reasonably close.
std::string closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace tcptune
