#include "tcptune/pressure/counter_rates.hpp"

namespace tcptune {

std::optional<std::uint64_t> rate_counter_value(const CensusSnapshot& s, RateCounter c) {
    // The two Tcp segment counters come from /proc/net/snmp, the others from TcpExt.
    if (c != RateCounter::kRetransSegs && c != RateCounter::kOutSegs) {
        return netstat_counter_value(s.netstat, c);
    }
    if (!s.segments) {
        return std::nullopt;
    }
    return c == RateCounter::kRetransSegs ? s.segments->retrans_segs : s.segments->out_segs;
}

std::optional<CounterRates> compute_rates(const CensusSnapshot& before,
                                          const CensusSnapshot& after) {
    const double seconds = std::chrono::duration<double>(after.taken_at - before.taken_at).count();
    if (seconds <= 0) {
        return std::nullopt;
    }
    CounterRates rates;
    rates.seconds = seconds;
    for (RateCounter c : kAllRateCounters) {
        const auto a = rate_counter_value(before, c);
        const auto b = rate_counter_value(after, c);
        if (a && b && *b >= *a) {
            rates.per_second[static_cast<std::size_t>(c)] = static_cast<double>(*b - *a) / seconds;
        }
    }
    if (before.segments && after.segments && after.segments->out_segs > before.segments->out_segs &&
        after.segments->retrans_segs >= before.segments->retrans_segs) {
        rates.retrans_ratio =
            static_cast<double>(after.segments->retrans_segs - before.segments->retrans_segs) /
            static_cast<double>(after.segments->out_segs - before.segments->out_segs);
    }
    return rates;
}

std::optional<CounterRates> RateTracker::update(const CensusSnapshot& snapshot) {
    std::optional<CounterRates> out;
    if (previous_) {
        out = compute_rates(*previous_, snapshot);
    }
    previous_ = snapshot;
    previous_->pressure = {};  // only the counters are needed
    return out;
}

}  // namespace tcptune
