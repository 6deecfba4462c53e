#include "tcptune/pressure/counter_rates.hpp"

namespace tcptune {

std::optional<std::uint64_t> rate_counter_value(const CensusSnapshot& s, RateCounter c) {
    const NetstatCounters& n = s.netstat;
    switch (c) {
        case RateCounter::kListenOverflows:
            return n.listen_overflows;
        case RateCounter::kListenDrops:
            return n.listen_drops;
        case RateCounter::kReqqFullDoCookies:
            return n.reqq_full_do_cookies;
        case RateCounter::kReqqFullDrop:
            return n.reqq_full_drop;
        case RateCounter::kSyncookiesSent:
            return n.syncookies_sent;
        case RateCounter::kSyncookiesRecv:
            return n.syncookies_recv;
        case RateCounter::kSyncookiesFailed:
            return n.syncookies_failed;
        case RateCounter::kTimewaitOverflows:
            return n.timewait_overflows;
        case RateCounter::kAbortOnTimeout:
            return n.abort_on_timeout;
        case RateCounter::kAbortOnMemory:
            return n.abort_on_memory;
        case RateCounter::kAbortOnData:
            return n.abort_on_data;
        case RateCounter::kSynRetrans:
            return n.syn_retrans;
        case RateCounter::kRetransSegs:
            return s.segments ? std::optional<std::uint64_t>(s.segments->retrans_segs)
                              : std::nullopt;
        case RateCounter::kOutSegs:
            return s.segments ? std::optional<std::uint64_t>(s.segments->out_segs) : std::nullopt;
    }
    return std::nullopt;
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
