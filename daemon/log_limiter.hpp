#pragma once

// Logging on behalf of unprivileged callers, throttled per caller. Any local
// user can make the daemon refuse a call (AccessDenied, InvalidArgs) thousands
// of times a second; one log line each would flood the journal and drown what
// matters. Each key (a bus sender and the kind of line: denied, invalid,
// internal) may log `burst` lines per `window`; the rest are counted, and the
// next line of that key admitted says how many were suppressed.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tcptune::daemon {

class LogRateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LogRateLimiter(std::size_t burst = 5,
                            std::chrono::seconds window = std::chrono::seconds(10),
                            std::size_t max_keys = 1024)
        : burst_(burst), window_(window), max_keys_(max_keys) {}

    // nullopt: drop this line. Otherwise log it, mentioning the returned number
    // of lines suppressed for `key` since its last logged one when non-zero.
    std::optional<std::uint64_t> admit(const std::string& key,
                                       Clock::time_point now = Clock::now());

    // Lines dropped in total (tests, and a hint in status one day).
    std::uint64_t suppressed_total() const { return suppressed_total_; }

  private:
    struct Budget {
        Clock::time_point window_start{};
        std::size_t used = 0;
        std::uint64_t suppressed = 0;
    };
    std::size_t burst_;
    std::chrono::seconds window_;
    std::size_t max_keys_;
    std::map<std::string, Budget> budgets_;
    std::uint64_t suppressed_total_ = 0;
};

// " (N similar lines from this caller suppressed)" or ""; `whose` replaces
// "from this caller" for keys that are not callers ("for this namespace").
std::string suppressed_note(std::uint64_t suppressed, std::string_view whose = "from this caller");

}  // namespace tcptune::daemon
