#include "log_limiter.hpp"

#include <algorithm>
#include <utility>

namespace tcptune::daemon {

std::optional<std::uint64_t> LogRateLimiter::admit(const std::string& key, Clock::time_point now) {
    auto it = budgets_.find(key);
    if (it == budgets_.end()) {
        if (budgets_.size() >= max_keys_) {
            // Bounded memory whatever the number of senders: forget the key whose
            // window started longest ago (its count of suppressed lines is lost).
            budgets_.erase(std::min_element(
                budgets_.begin(), budgets_.end(), [](const auto& a, const auto& b) {
                    return a.second.window_start < b.second.window_start;
                }));
        }
        it = budgets_.emplace(key, Budget{now, 0, 0}).first;
    }
    Budget& budget = it->second;
    if (now - budget.window_start >= window_) {
        budget.window_start = now;
        budget.used = 0;
    }
    if (budget.used >= burst_) {
        ++budget.suppressed;
        ++suppressed_total_;
        return std::nullopt;
    }
    ++budget.used;
    return std::exchange(budget.suppressed, 0);
}

std::string suppressed_note(std::uint64_t suppressed, std::string_view whose) {
    if (suppressed == 0) {
        return "";
    }
    return " (" + std::to_string(suppressed) + " similar line" + (suppressed == 1 ? "" : "s") +
           " " + std::string(whose) + " suppressed)";
}

}  // namespace tcptune::daemon
