#include "tcptune/profile/profile_suggest.hpp"

#include <algorithm>
#include <vector>

namespace tcptune {

namespace {
// Classic Levenshtein distance with one rolling row.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
            diagonal = above;
        }
    }
    return row[b.size()];
}
}  // namespace

std::string closest_match(std::string_view word, std::span<const std::string_view> candidates) {
    // Allow roughly one typo per three characters, and at least two (a swapped
    // pair of letters costs two edits).
    const std::size_t budget = std::max<std::size_t>(2, word.size() / 3);
    std::size_t best = budget + 1;
    std::string_view best_word;
    for (std::string_view candidate : candidates) {
        const std::size_t d = edit_distance(word, candidate);
        if (d < best) {
            best = d;
            best_word = candidate;
        }
    }
    return std::string(best_word);
}

}  // namespace tcptune
