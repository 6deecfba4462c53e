// tcptune-bench-breakdown: what the diagnosis costs on top of the census. In one run
// on the current namespace's population it times, in interleaved rounds over one
// sock_diag socket, the plain census (NoSocketVisitor: the message is never copied)
// against the same dump with a BreakdownCollector (space-saving tables for ports,
// peers, remote endpoints; optionally prefixes), and prints medians and ratios.
// The target (issue 8) is a breakdown at most 1.5x the plain census. It also times
// the daemon's poll with every pressure signal (issue 12: per-listener queues,
// per-destination ports, dead-peer timers, counter rates; target 1.3x the plain
// poll): CensusSource::poll() against poll_for(everything), /proc/net reads included
// in both, and the same dump with only the PressureCollector, dump against dump.
//
// Example (inside a populated namespace, see bench/run.sh for how to make one):
//   tcptune-bench-breakdown --rounds 9 --json-out breakdown.json
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_timing.hpp"
#include "tcptune/census/census_netlink.hpp"
#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/pressure/ephemeral_ports.hpp"
#include "tcptune/pressure/pressure_collector.hpp"

namespace {

using tcptune::bench::Clock;
using tcptune::bench::median;

struct Variant {
    std::string name;
    std::function<bool()> run;  // one dump; false on error
    std::vector<double> seconds;
};

}  // namespace

int main(int argc, char** argv) {
    tcptune::bench::RunOptions run;
    CLI::App app{
        "Times the breakdown (tcptune top) against the plain census on the current "
        "network namespace.\nExample: tcptune-bench-breakdown --rounds 9",
        "tcptune-bench-breakdown"};
    tcptune::bench::add_run_options(app, run, "Interleaved rounds of every variant");
    CLI11_PARSE(app, argc, argv);

    auto census = tcptune::bench::open_census("tcptune-bench-breakdown");
    if (!census) {
        return 1;
    }
    tcptune::NetlinkCensus& c = *census;

    auto population = [&c]() -> std::uint64_t {
        auto counts = c.count_with(tcptune::NoSocketVisitor{});
        return counts ? counts->total() : 0;
    };

    // Collectors are built once, as a long-running daemon would, and reset per dump
    // (allocation is not part of the pass); finish() is timed with the pass.
    auto make_variant = [&c](std::string name, tcptune::BreakdownOptions options) {
        auto collector = std::make_shared<tcptune::BreakdownCollector>(std::move(options));
        return Variant{std::move(name),
                       [&c, collector]() {
                           collector->reset();
                           auto counts = c.count_with(*collector);
                           if (!counts) {
                               return false;
                           }
                           auto b = collector->finish(*counts, tcptune::NetstatCounters{});
                           return b.has_value();
                       },
                       {}};
    };

    std::vector<Variant> variants;
    variants.push_back(
        Variant{"census (plain count)",
                [&c]() { return c.count_with(tcptune::NoSocketVisitor{}).has_value(); },
                {}});
    tcptune::BreakdownOptions focus;  // time_wait + close_wait + syn_recv, ports & peers
    variants.push_back(make_variant("breakdown focus states", focus));
    tcptune::BreakdownOptions prefix = focus;
    prefix.by_prefix = true;
    variants.push_back(make_variant("breakdown focus + prefixes", prefix));
    tcptune::BreakdownOptions all;
    all.states.assign(tcptune::kAllTcpStates.begin(), tcptune::kAllTcpStates.end());
    variants.push_back(make_variant("breakdown all 11 states", all));

    // The pressure signals as the daemon computes them on every poll.
    tcptune::SignalRequest everything;
    everything.listeners = true;
    everything.destinations = true;
    everything.dead_peers = true;
    everything.rates = true;
    auto ports = tcptune::read_ephemeral_ports();
    if (!ports) {
        std::cerr << "tcptune-bench-breakdown: " << ports.error().message << "\n";
        return 1;
    }
    tcptune::PressureCollectorOptions signal_options;
    signal_options.request = everything;
    signal_options.ports = *ports;
    auto signals = std::make_shared<tcptune::PressureCollector>(signal_options);
    variants.push_back(Variant{"signals dump (all)",
                               [&c, signals]() {
                                   signals->reset();
                                   auto counts = c.count_with(*signals);
                                   tcptune::PressureSignals out;
                                   signals->finish(out);
                                   return counts.has_value();
                               },
                               {}});
    variants.push_back(
        Variant{"daemon poll, no signals", [&c]() { return c.poll().has_value(); }, {}});
    variants.push_back(Variant{"daemon poll, all signals",
                               [&c, everything]() { return c.poll_for(everything).has_value(); },
                               {}});

    const std::uint64_t before = population();
    std::printf("population: %llu sockets, %d rounds\n", static_cast<unsigned long long>(before),
                run.rounds);
    const auto done = tcptune::bench::run_rounds(
        "tcptune-bench-breakdown", run.rounds, run.min_population, population, [&variants](int) {
            for (auto& v : variants) {
                const auto start = Clock::now();
                if (!v.run()) {
                    std::cerr << "tcptune-bench-breakdown: " << v.name << " failed\n";
                    return false;
                }
                v.seconds.push_back(tcptune::bench::seconds_since(start));
            }
            return true;
        });
    if (done.failed) {
        return 1;
    }
    const std::uint64_t population_min = done.population_min;
    const int rounds_done = done.rounds;
    const std::uint64_t after = population();

    const double base = median(variants.front().seconds);
    double poll_base = 0;
    nlohmann::json results = nlohmann::json::array();
    std::printf("%-28s %12s %8s %14s\n", "variant", "median ms", "ratio", "ratio to poll");
    for (const auto& v : variants) {
        const double m = median(v.seconds);
        const double ratio = base > 0 ? m / base : 0;
        if (v.name == "daemon poll, no signals") {
            poll_base = m;
        }
        const double to_poll = poll_base > 0 ? m / poll_base : 0;
        if (poll_base > 0) {
            std::printf("%-28s %12.2f %8.2f %14.2f\n", v.name.c_str(), m * 1e3, ratio, to_poll);
        } else {
            std::printf("%-28s %12.2f %8.2f %14s\n", v.name.c_str(), m * 1e3, ratio, "-");
        }
        results.push_back({{"variant", v.name},
                           {"median_seconds", m},
                           {"ratio_to_census", ratio},
                           {"ratio_to_plain_poll", to_poll},
                           {"seconds", v.seconds}});
    }
    std::printf("rounds: %d; population at round starts >= %llu, after: %llu sockets\n",
                rounds_done, static_cast<unsigned long long>(population_min),
                static_cast<unsigned long long>(after));
    if (!run.json_out.empty()) {
        std::ofstream(run.json_out) << nlohmann::json{{"label", run.label},
                                                      {"population_before", before},
                                                      {"population_min", population_min},
                                                      {"population_after", after},
                                                      {"rounds", rounds_done},
                                                      {"results", results}}
                                           .dump(2)
                                    << "\n";
    }
    return 0;
}
