// tcptune-bench-engine: the bpf census engine measured against sock_diag, in the
// current network namespace (bench/engine.sh runs every mode in a throwaway one).
//
//   --mode poll      mean poll cost of the bpf engine vs one raw full sock_diag
//                    dump (the C floor), the netlink engine and `ss`, interleaved
//                    in one run; then engine vs dump state by state.
//   --mode exact     the engine attaches first, then tcptune-loadgen builds the
//                    population: engine vs dump once it is up, and again after
//                    the clients closed (loadgen killed) and the kernel settled;
//                    a second, self-checking engine (as tcptuned runs it) beside
//                    it: how long until it agrees with the dump.
//   --mode overhead  a loopback connect/close loop's rate with and without the
//                    program attached, alternating.
//   --mode drift     loopback churn for --seconds with the engine counting; then
//                    one reconciliation and the drift it finds, before correcting.
//   --mode rss       tcptuned --census-engine bpf's RSS after polls and after a
//                    reconciliation (run it at 1k and at 500k+ sockets).
//
// Example: tcptune-bench-engine --mode poll --rounds 20 --polls 200
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_timing.hpp"
#include "raw_floor.h"
#include "support/churn.hpp"
#include "tcptune/census/census_bpf.hpp"
#include "tcptune/census/census_netlink.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using tcptune::bench::Clock;
using tcptune::bench::seconds_since;

double mean(const std::vector<double>& v) {
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// self_checking = false: the counters alone (this benchmark reconciles when it
// says so). true: as tcptuned runs it, reconciling on its own when the counted
// total keeps disagreeing with sockstat or events were lost (every 30 s at most).
std::unique_ptr<tcptune::BpfCensusSource> open_engine(bool self_checking = false) {
    tcptune::BpfCensusOptions options;
    if (!self_checking) {
        options.reconcile_interval = 24h;
        options.min_reconcile_spacing = 24h;
    }
    auto engine = tcptune::BpfCensusSource::open(options);
    if (!engine) {
        std::cerr << "tcptune-bench-engine: " << engine.error().message << "\n";
        return nullptr;
    }
    return std::move(*engine);
}

tcptune::EngineViewCounter dump_view() {
    tcptune::EngineViewCounter view;
    auto census = tcptune::NetlinkCensus::open();
    if (census) {
        (void)(*census)->count_with(view);
    }
    return view;
}

// Prints engine vs dump state by state; true when they agree on every state.
bool compare(const char* when, const tcptune::StateCounts& engine,
             const tcptune::EngineViewCounter& dump, nlohmann::json& out) {
    bool same = true;
    nlohmann::json states = nlohmann::json::object();
    std::printf("-- %s: engine vs full dump (timewait sockets as time_wait)\n", when);
    for (auto s : tcptune::kAllTcpStates) {
        const auto e = engine[s];
        const auto d = dump.counts[s];
        same = same && e == d;
        states[std::string(tcptune::state_name(s))] = {{"engine", e}, {"dump", d}};
        if (e != 0 || d != 0) {
            std::printf("   %-12s engine %9llu  dump %9llu%s\n",
                        std::string(tcptune::state_name(s)).c_str(),
                        static_cast<unsigned long long>(e), static_cast<unsigned long long>(d),
                        e == d ? "" : "   DIFFERENT");
        }
    }
    std::printf("   total        engine %9llu  dump %9llu  -> %s\n",
                static_cast<unsigned long long>(engine.total()),
                static_cast<unsigned long long>(dump.counts.total()), same ? "EXACT" : "DIFFER");
    out[when] = {{"states", states}, {"exact", same}};
    return same;
}

// Engine and dump agree, or time runs out (timers of a population that is going
// away: timewait sockets replaced, request sockets of closed listeners).
bool agree_within(tcptune::BpfCensusSource& engine, std::chrono::seconds timeout,
                  tcptune::StateCounts& counted, tcptune::EngineViewCounter& dumped) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto snapshot = engine.poll();
        counted = snapshot ? snapshot->counts : tcptune::StateCounts{};
        dumped = dump_view();
        if (counted == dumped.counts || Clock::now() > deadline) {
            return counted == dumped.counts;
        }
        std::this_thread::sleep_for(200ms);
    }
}

// The self-checking engine polled at tcptuned's default interval (5 s) until it
// agrees with a dump; returns the seconds that took, or -1 after `timeout`.
double self_checked_agreement(tcptune::BpfCensusSource& engine, std::chrono::seconds timeout,
                              const char* when, nlohmann::json& out) {
    const auto start = Clock::now();
    tcptune::StateCounts counted;
    tcptune::EngineViewCounter dumped;
    std::uint64_t reconciliations = 0;
    for (;;) {
        auto snapshot = engine.poll();
        counted = snapshot ? snapshot->counts : tcptune::StateCounts{};
        reconciliations = snapshot ? snapshot->engine.reconciliations : 0;
        dumped = dump_view();
        if (counted == dumped.counts || Clock::now() - start > timeout) {
            break;
        }
        std::this_thread::sleep_for(5s);
    }
    const bool same = counted == dumped.counts;
    const double took = same ? seconds_since(start) : -1;
    std::printf(
        "-- %s, self-checking engine (polled every 5 s as tcptuned does): %s after %.0f s, "
        "%llu reconciliations so far (the seeding included)\n",
        when, same ? "EXACT" : "still DIFFERENT", seconds_since(start),
        static_cast<unsigned long long>(reconciliations));
    out[std::string(when) + " (self-checking)"] = {
        {"exact", same}, {"seconds", took}, {"reconciliations", reconciliations}};
    return took;
}

pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
        return -1;
    }
    return pid;
}

long rss_kib(pid_t pid, const char* field = "VmRSS:") {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field, 0) == 0) {
            return std::stol(line.substr(std::string(field).size()));
        }
    }
    return -1;
}

struct Options {
    std::string mode = "poll";
    int rounds = 20;
    int polls = 200;
    int seconds = 600;
    std::string bin_dir;
    std::string json_out;
    std::vector<std::string> loadgen_args;
    std::string node_exporter;  // poll: also time a scrape of its tcpstat collector
};

int mode_poll(const Options& o, nlohmann::json& out) {
    auto engine = open_engine();
    const int floor_fd = raw_floor_open();
    auto netlink = tcptune::NetlinkCensus::open();
    if (!engine || floor_fd < 0 || !netlink) {
        return 1;
    }
    const auto seed_start = Clock::now();
    auto first = engine->poll();  // seeds
    const double seed_seconds = seconds_since(seed_start);
    if (!first) {
        std::cerr << "tcptune-bench-engine: " << first.error().message << "\n";
        return 1;
    }
    std::vector<double> engine_polls;
    std::vector<double> raw_dumps;
    std::vector<double> netlink_polls;
    std::vector<double> ss_runs;
    std::vector<double> node_exporter_scrapes;
    pid_t node_exporter = -1;
    const std::string scrape =
        "curl -sf http://127.0.0.1:9109/metrics | grep -q node_tcp_connection_states";
    if (!o.node_exporter.empty()) {
        // Only the tcpstat collector, which counts sockets per state as we do.
        node_exporter =
            spawn({o.node_exporter, "--collector.disable-defaults", "--collector.tcpstat",
                   "--web.listen-address=127.0.0.1:9109", "--log.level=error"});
        for (int i = 0; i < 50 && node_exporter > 0; ++i) {  // until it answers, 10 s at most
            const pid_t probe = spawn({"/bin/sh", "-c", scrape});
            int status = 0;
            ::waitpid(probe, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                break;
            }
            std::this_thread::sleep_for(200ms);
        }
    }
    for (int r = 0; r < o.rounds; ++r) {
        for (int p = 0; p < o.polls; ++p) {
            const auto start = Clock::now();
            auto s = engine->poll();
            engine_polls.push_back(seconds_since(start));
            if (!s || s->engine.reconciliations != 1) {
                std::cerr << "tcptune-bench-engine: engine poll failed or reconciled\n";
                return 1;
            }
        }
        unsigned long long counts[16] = {};
        auto start = Clock::now();
        if (raw_floor_count(floor_fd, counts) != 0) {
            return 1;
        }
        raw_dumps.push_back(seconds_since(start));
        start = Clock::now();
        if (!(*netlink)->poll()) {
            return 1;
        }
        netlink_polls.push_back(seconds_since(start));
        if (r < 3) {
            start = Clock::now();
            const pid_t pid = spawn({"/bin/sh", "-c", "ss -tan | wc -l > /dev/null"});
            int status = 0;
            ::waitpid(pid, &status, 0);
            ss_runs.push_back(seconds_since(start));
            if (node_exporter > 0) {
                start = Clock::now();
                const pid_t curl = spawn({"/bin/sh", "-c", scrape});
                ::waitpid(curl, &status, 0);
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    node_exporter_scrapes.push_back(seconds_since(start));
                }
            }
        }
    }
    const auto reconcile_start = Clock::now();
    auto drift = engine->reconcile();
    const double reconcile_seconds = seconds_since(reconcile_start);
    const double raw = mean(raw_dumps);
    std::printf("== poll cost at %llu sockets (%d rounds; %d engine polls per round)\n",
                static_cast<unsigned long long>(first->counts.total()), o.rounds, o.polls);
    std::printf("%-34s %12s %12s\n", "method", "mean ms", "x raw dump");
    auto row = [&](const char* name, const std::vector<double>& v) {
        std::printf("%-34s %12.3f %12.4f\n", name, mean(v) * 1e3, mean(v) / raw);
        out["methods"][name] = {
            {"mean_seconds", mean(v)}, {"runs", v.size()}, {"ratio_to_raw_dump", mean(v) / raw}};
    };
    row("bpf engine poll", engine_polls);
    row("raw full sock_diag dump (C)", raw_dumps);
    row("netlink engine poll (census)", netlink_polls);
    row("ss -tan | wc -l", ss_runs);
    if (node_exporter > 0) {
        ::kill(node_exporter, SIGTERM);
        ::waitpid(node_exporter, nullptr, 0);
        if (!node_exporter_scrapes.empty()) {
            row("node_exporter tcpstat scrape", node_exporter_scrapes);
        }
    }
    std::printf("seeding (first poll): %.1f ms; a reconciliation: %.1f ms\n", seed_seconds * 1e3,
                reconcile_seconds * 1e3);
    out["sockets"] = first->counts.total();
    out["seeding_seconds"] = seed_seconds;
    out["reconcile_seconds"] = reconcile_seconds;
    if (drift && *drift) {
        std::int64_t worst = 0;
        for (auto d : **drift) {
            worst = std::max(worst, d < 0 ? -d : d);
        }
        std::printf("drift found by that reconciliation: max |drift| %lld\n",
                    static_cast<long long>(worst));
        out["reconcile_max_abs_drift"] = worst;
    }
    auto last = engine->poll();
    if (last) {
        compare("after the rounds", last->counts, dump_view(), out);
    }
    std::printf("RSS of this process: %ld KiB (peak %ld KiB)\n", rss_kib(::getpid()),
                rss_kib(::getpid(), "VmHWM:"));
    ::close(floor_fd);
    return 0;
}

int mode_exact(const Options& o, nlohmann::json& out) {
    auto engine = open_engine();
    auto self_checking = open_engine(true);
    if (!engine || !engine->poll() || !self_checking || !self_checking->poll()) {
        return 1;
    }
    auto last_daemon_poll = Clock::now();
    const std::string ready = "/tmp/tcptune-bench-engine-ready-" + std::to_string(::getpid());
    std::vector<std::string> args = {o.bin_dir + "/tcptune-loadgen"};
    args.insert(args.end(), o.loadgen_args.begin(), o.loadgen_args.end());
    args.insert(args.end(), {"--hold", "--ready-file", ready});
    const auto build_start = Clock::now();
    const pid_t loadgen = spawn(args);
    if (loadgen < 0) {
        return 1;
    }
    while (!std::filesystem::exists(ready)) {
        int status = 0;
        if (::waitpid(loadgen, &status, WNOHANG) == loadgen) {
            std::cerr << "tcptune-bench-engine: loadgen failed\n";
            return 1;
        }
        if (Clock::now() - last_daemon_poll > 5s) {
            (void)self_checking->poll();
            last_daemon_poll = Clock::now();
        }
        std::this_thread::sleep_for(200ms);
    }
    std::filesystem::remove(ready);
    std::printf("population built in %.0f s with the engine attached\n",
                seconds_since(build_start));
    tcptune::StateCounts counted;
    tcptune::EngineViewCounter dumped;
    // TIME_WAITs made first start expiring 60 s after; compare at once.
    const bool built = agree_within(*engine, 5s, counted, dumped);
    compare("population up", counted, dumped, out);
    if (auto raw = engine->engine().deltas(engine->netns())) {
        std::printf("   raw per-state sums (seeded empty, so offsets are 0):");
        for (std::size_t i = 1; i < raw->size(); ++i) {
            std::printf(" %zu:%lld", i, static_cast<long long>((*raw)[i]));
        }
        std::printf("\n");
    }
    const double up_took = self_checked_agreement(*self_checking, 120s, "population up", out);
    ::kill(loadgen, SIGTERM);
    ::waitpid(loadgen, nullptr, 0);
    const bool closed = agree_within(*engine, 90s, counted, dumped);
    compare("after the clients closed", counted, dumped, out);
    const double closed_took =
        self_checked_agreement(*self_checking, 120s, "after the clients closed", out);
    auto snapshot = engine->poll();
    const auto reconciliations = snapshot ? snapshot->engine.reconciliations : 0;
    if (auto lost = engine->engine().lost_events()) {
        std::printf(
            "lost events: %llu (nested runs the kernel skipped and the second program "
            "counted: %llu)\n",
            static_cast<unsigned long long>(lost->total()),
            static_cast<unsigned long long>(lost->recovered_nested));
        out["recovered_nested"] = lost->recovered_nested;
        out["lost_events"] = lost->total();
    }
    std::printf("reconciliations: %llu (1 = only the seeding of the empty namespace)\n",
                static_cast<unsigned long long>(reconciliations));
    out["reconciliations"] = reconciliations;
    // The counters alone must be exact; the self-checking engine must get there.
    return built && closed && reconciliations == 1 && up_took >= 0 && closed_took >= 0 ? 0 : 2;
}

// Connect/close rate for `seconds` with the loop of ConnectionChurn.
double churn_rate(double seconds, std::uint16_t port) {
    tcptune::test::ChurnOptions churn_options;
    churn_options.close_only = true;
    churn_options.port = port;
    auto churn = tcptune::test::ConnectionChurn::start(churn_options);
    if (!churn) {
        std::cerr << "tcptune-bench-engine: " << churn.error().message << "\n";
        return -1;
    }
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    auto made = (*churn)->stop();
    return made ? static_cast<double>(*made) / seconds_since(start) : -1;
}

int mode_overhead(const Options& o, nlohmann::json& out) {
    std::vector<double> without;
    std::vector<double> with;
    std::uint16_t port = 31000;
    for (int r = 0; r < o.rounds; ++r) {
        without.push_back(churn_rate(o.seconds, port++));
        auto engine = open_engine();
        if (!engine || !engine->poll()) {
            return 1;
        }
        with.push_back(churn_rate(o.seconds, port++));
        auto lost = engine->engine().lost_events();
        out["lost_events"] = lost ? lost->total() : 0;
    }
    const double ratio = mean(with) / mean(without);
    std::printf("== loopback connect/close loop, %d rounds of %d s each way\n", o.rounds,
                o.seconds);
    std::printf(
        "without the program: %.0f connections/s\nwith the program:    %.0f "
        "connections/s\nratio: %.3f\n",
        mean(without), mean(with), ratio);
    out["without_per_second"] = without;
    out["with_per_second"] = with;
    out["ratio"] = ratio;
    return 0;
}

int mode_drift(const Options& o, nlohmann::json& out) {
    auto engine = open_engine();
    if (!engine || !engine->poll()) {
        return 1;
    }
    tcptune::test::ChurnOptions churn_options;
    churn_options.keep_open = 2000;
    auto churn = tcptune::test::ConnectionChurn::start(churn_options);
    if (!churn) {
        std::cerr << "tcptune-bench-engine: " << churn.error().message << "\n";
        return 1;
    }
    const auto start = Clock::now();
    std::uint64_t max_population = 0;
    while (seconds_since(start) < o.seconds) {
        auto s = engine->poll();  // the daemon's every-5 s poll, more often
        if (s) {
            max_population = std::max(max_population, s->counts.total());
        }
        std::this_thread::sleep_for(1s);
    }
    auto before = engine->poll();
    auto drift = engine->reconcile();  // under churn, as the daemon would
    auto made = (*churn)->stop();
    auto lost = engine->engine().lost_events();
    if (!drift || !*drift || !made || !before) {
        std::cerr << "tcptune-bench-engine: drift run failed\n";
        return 1;
    }
    std::int64_t total_abs = 0;
    std::printf("== %d s of loopback churn: %llu connections (%.0f/s), engine counting\n",
                o.seconds, static_cast<unsigned long long>(*made),
                static_cast<double>(*made) / seconds_since(start));
    for (auto s : tcptune::kAllTcpStates) {
        const auto d = (**drift)[tcptune::state_index(s)];
        total_abs += d < 0 ? -d : d;
        out["drift"][std::string(tcptune::state_name(s))] = d;
        if (d != 0) {
            std::printf("   drift %-12s %lld\n", std::string(tcptune::state_name(s)).c_str(),
                        static_cast<long long>(d));
        }
    }
    const double sockets = static_cast<double>(before->counts.total());
    std::printf("sum |drift| %lld over %.0f sockets counted = %.4f%%; lost events %llu\n",
                static_cast<long long>(total_abs), sockets,
                sockets > 0 ? 100.0 * static_cast<double>(total_abs) / sockets : 0.0,
                static_cast<unsigned long long>(lost ? lost->total() : 0));
    out["connections"] = *made;
    out["sockets"] = sockets;
    out["sum_abs_drift"] = total_abs;
    out["lost_events"] = lost ? lost->total() : 0;
    return 0;
}

int mode_rss(const Options& o, nlohmann::json& out) {
    const std::string dir = "/tmp/tcptune-bench-engine-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    const pid_t daemon =
        spawn({o.bin_dir + "/tcptuned", "--census-engine", "bpf", "--bus", "none",
               "--metrics-address", "none", "--advise", "--interval", "0.2", "--config",
               "/dev/null", "--state-dir", dir, "--log-level", "warning"});
    if (daemon < 0) {
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));  // polls, every 0.2 s
    const long after_polls = rss_kib(daemon);
    ::kill(daemon, SIGHUP);  // reconcile at the next poll
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
    const long after_reconcile = rss_kib(daemon);
    const long peak = rss_kib(daemon, "VmHWM:");
    ::kill(daemon, SIGTERM);
    int status = 0;
    ::waitpid(daemon, &status, 0);
    std::filesystem::remove_all(dir);
    const auto sockets = dump_view().counts.total();
    std::printf(
        "tcptuned --census-engine bpf at %llu sockets: RSS %ld KiB after polls, %ld KiB "
        "after a reconciliation, peak %ld KiB\n",
        static_cast<unsigned long long>(sockets), after_polls, after_reconcile, peak);
    out["sockets"] = sockets;
    out["rss_kib_after_polls"] = after_polls;
    out["rss_kib_after_reconcile"] = after_reconcile;
    out["peak_rss_kib"] = peak;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    o.bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().string();
    CLI::App app{
        "tcptune-bench-engine: the bpf census engine against sock_diag (see the "
        "modes at the top of bench/bench_engine.cpp).\nExample: tcptune-bench-engine "
        "--mode poll --rounds 20 --polls 200",
        "tcptune-bench-engine"};
    app.add_option("--mode", o.mode, "poll, exact, overhead, drift or rss")
        ->check(CLI::IsMember({"poll", "exact", "overhead", "drift", "rss"}));
    app.add_option("--rounds", o.rounds, "Rounds (poll: raw dumps; overhead: each way)");
    app.add_option("--polls", o.polls, "Engine polls per round (poll)");
    app.add_option("--seconds", o.seconds, "Seconds (overhead: per run; drift; rss: settle)");
    app.add_option("--bin-dir", o.bin_dir, "Where tcptune-loadgen and tcptuned are");
    app.add_option("--json-out", o.json_out, "Also write the results as JSON here");
    app.add_option("--node-exporter", o.node_exporter,
                   "poll: also time scrapes of this node_exporter binary's tcpstat collector");
    app.add_option("loadgen", o.loadgen_args, "exact: tcptune-loadgen's population options");
    CLI11_PARSE(app, argc, argv);

    nlohmann::json out = {{"mode", o.mode}};
    int rc = 1;
    if (o.mode == "poll") {
        rc = mode_poll(o, out);
    } else if (o.mode == "exact") {
        rc = mode_exact(o, out);
    } else if (o.mode == "overhead") {
        rc = mode_overhead(o, out);
    } else if (o.mode == "drift") {
        rc = mode_drift(o, out);
    } else {
        rc = mode_rss(o, out);
    }
    if (!o.json_out.empty()) {
        std::ofstream(o.json_out) << out.dump(2) << "\n";
    }
    return rc;
}
