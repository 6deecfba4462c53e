#pragma once

// What the benchmarks share: a steady clock, the median of samples, the census
// they time, and the round loop that stops once the population under test has
// shrunk (TIME_WAITs expire after 60 s, so a long run can outlive its population).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tcptune/census/census_netlink.hpp"

namespace tcptune::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The options every benchmark takes: how many rounds, the run's name, where the
// JSON goes, and the population a round needs to start (see run_rounds).
struct RunOptions {
    int rounds = 9;
    std::string label = "run";
    std::string json_out;
    std::uint64_t min_population = 0;
};

inline void add_run_options(CLI::App& app, RunOptions& options, const std::string& rounds_help) {
    app.add_option("--rounds", options.rounds, rounds_help);
    app.add_option("--label", options.label, "Name of this run in the output");
    app.add_option("--json-out", options.json_out, "Also write the results as JSON here");
    app.add_option("--min-population", options.min_population,
                   "Start a round only while the namespace holds at least this many sockets "
                   "(TIME_WAITs expire after 60 s)");
}

// The sock_diag census of the current namespace, or null after printing
// "program: why" (no permission, no sock_diag).
inline std::unique_ptr<NetlinkCensus> open_census(const char* program) {
    auto census = NetlinkCensus::open();
    if (!census) {
        std::fprintf(stderr, "%s: %s\n", program, census.error().message.c_str());
        return nullptr;
    }
    return std::move(*census);
}

struct RoundsDone {
    int rounds = 0;                    // rounds that ran to the end
    std::uint64_t population_min = 0;  // the smallest population a round started with
    bool failed = false;               // a round returned false
};

// Runs round(index) up to `rounds` times, each only while population() is still
// at least `min_population` (says so on stderr when it stops early).
inline RoundsDone run_rounds(const char* program, int rounds, std::uint64_t min_population,
                             const std::function<std::uint64_t()>& population,
                             const std::function<bool(int)>& round) {
    RoundsDone done;
    done.population_min = population();
    for (int r = 0; r < rounds; ++r) {
        const std::uint64_t now = population();
        done.population_min = std::min(done.population_min, now);
        if (now < min_population) {
            std::fprintf(stderr, "%s: population fell to %llu (< %llu) after %d rounds; stopping\n",
                         program, static_cast<unsigned long long>(now),
                         static_cast<unsigned long long>(min_population), r);
            break;
        }
        if (!round(r)) {
            done.failed = true;
            break;
        }
        ++done.rounds;
    }
    return done;
}

}  // namespace tcptune::bench
