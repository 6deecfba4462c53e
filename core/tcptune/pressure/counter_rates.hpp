#pragma once

// Kernel counters as rates: per second between two successive polls, over the
// time that really passed between them (a late poll does not inflate a rate).
// A first poll has no rate, and a counter that went backwards (a new namespace,
// a module reload) gives none either, rather than a huge or negative number.

#include <chrono>
#include <optional>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/pressure/pressure_signals.hpp"

namespace tcptune {

// The counter's value in a snapshot; nullopt when the snapshot lacks it (the
// segment counters are read only when rates were requested).
std::optional<std::uint64_t> rate_counter_value(const CensusSnapshot& snapshot, RateCounter c);

// Rates from `before` to `after`; nullopt when no time passed between them.
std::optional<CounterRates> compute_rates(const CensusSnapshot& before,
                                          const CensusSnapshot& after);

// Remembers the previous poll's counters.
class RateTracker {
  public:
    // The rates since the previous update (nullopt on the first).
    std::optional<CounterRates> update(const CensusSnapshot& snapshot);
    void reset() { previous_.reset(); }

  private:
    std::optional<CensusSnapshot> previous_;
};

}  // namespace tcptune
