// tcptune-bench-census: times, in one run on the current namespace's population,
// the census (library call and `tcptune census` process) against the raw-netlink
// floor, `ss` and reading /proc/net/tcp{,6}; prints medians and ratios to the floor,
// and the peak RSS of the `tcptune census` process.
//
// Example (inside a populated namespace, see bench/run.sh):
//   tcptune-bench-census --rounds 9 --slow-rounds 3 --json-out result.json
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_timing.hpp"
#include "raw_floor.h"
#include "tcptune/census/census_netlink.hpp"

extern char** environ;

namespace {

using tcptune::bench::Clock;
using tcptune::bench::median;
using tcptune::bench::seconds_since;

struct ProcessRun {
    double seconds = 0;
    long max_rss_kib = 0;
    int exit_code = -1;
};

// Runs argv with stdout and stderr to /dev/null; wall time and the child's peak RSS.
ProcessRun run_process(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    ProcessRun run;
    const auto start = Clock::now();
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return run;
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    run.seconds = seconds_since(start);
    run.max_rss_kib = usage.ru_maxrss;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    posix_spawn_file_actions_destroy(&actions);
    return run;
}

struct Method {
    std::string name;
    std::string floor;  // "lib" or "process": which floor it is compared with
    bool slow = false;
    std::function<double()> run;  // returns seconds; negative on failure
    std::vector<double> samples{};
};

}  // namespace

int main(int argc, char** argv) {
    tcptune::bench::RunOptions run;
    int slow_rounds = 3;
    std::string bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().string();
    CLI::App app{
        "tcptune-bench-census: census vs raw-netlink floor vs ss vs /proc/net/tcp, on the "
        "current network namespace.\nExample: tcptune-bench-census --rounds 9 --slow-rounds 3",
        "tcptune-bench-census"};
    app.add_option("--slow-rounds", slow_rounds, "Rounds of ss and /proc/net/tcp");
    app.add_option("--bin-dir", bin_dir, "Where tcptune and tcptune-raw-floor are");
    tcptune::bench::add_run_options(app, run, "Rounds of the fast methods (census, floor)");
    CLI11_PARSE(app, argc, argv);

    auto census = tcptune::bench::open_census("tcptune-bench-census");
    if (!census) {
        return 1;
    }
    const int floor_fd = raw_floor_open();
    if (floor_fd < 0) {
        std::cerr << "tcptune-bench-census: cannot open the floor's netlink socket\n";
        return 1;
    }
    auto population = [&]() -> std::uint64_t {
        auto s = census->poll();
        return s ? s->counts.total() : 0;
    };
    const std::uint64_t population_before = population();
    auto before_snapshot = census->poll();

    long census_rss_kib = 0;
    std::vector<Method> methods;
    methods.push_back({"census (library poll)", "lib", false, [&] {
                           const auto start = Clock::now();
                           auto s = census->poll();
                           const double t = seconds_since(start);
                           return s ? t : -1.0;
                       }});
    methods.push_back({"raw floor (C, in-process)", "lib", false, [&] {
                           unsigned long long counts[16] = {};
                           const auto start = Clock::now();
                           const int err = raw_floor_count(floor_fd, counts);
                           const double t = seconds_since(start);
                           return err == 0 ? t : -1.0;
                       }});
    methods.push_back({"tcptune census --json (process)", "process", false, [&] {
                           auto r = run_process({bin_dir + "/tcptune", "census", "--json"});
                           census_rss_kib = std::max(census_rss_kib, r.max_rss_kib);
                           return r.exit_code == 0 ? r.seconds : -1.0;
                       }});
    methods.push_back({"tcptune-raw-floor (process)", "process", false, [&] {
                           auto r = run_process({bin_dir + "/tcptune-raw-floor"});
                           return r.exit_code == 0 ? r.seconds : -1.0;
                       }});
    methods.push_back({"ss -tan | wc -l", "process", true, [&] {
                           auto r = run_process({"/bin/sh", "-c", "ss -tan | wc -l"});
                           return r.exit_code == 0 ? r.seconds : -1.0;
                       }});
    methods.push_back(
        {"ss -tan state time-wait | wc -l", "process", true, [&] {
             auto r = run_process({"/bin/sh", "-c", "ss -tan state time-wait | wc -l"});
             return r.exit_code == 0 ? r.seconds : -1.0;
         }});
    methods.push_back({"read /proc/net/tcp + tcp6", "lib", true, [&] {
                           const auto start = Clock::now();
                           std::size_t lines = 0;
                           static char buf[1 << 16];
                           for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
                               const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
                               if (fd < 0) {
                                   return -1.0;
                               }
                               ssize_t n = 0;
                               while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
                                   lines +=
                                       static_cast<std::size_t>(std::count(buf, buf + n, '\n'));
                               }
                               ::close(fd);
                           }
                           const double t = seconds_since(start);
                           return lines > 0 ? t : -1.0;
                       }});

    // Interleaved rounds, so every method sees the same population and the same noise;
    // the slow methods (ss, /proc/net/tcp) only in the first rounds. A round starts
    // only while the population is still at least --min-population.
    const auto done = tcptune::bench::run_rounds(
        "tcptune-bench-census", run.rounds, run.min_population, population,
        [&methods, slow_rounds](int round) {
            for (auto& m : methods) {
                if (m.slow && round >= slow_rounds) {
                    continue;
                }
                const double t = m.run();
                if (t < 0) {
                    std::cerr << "tcptune-bench-census: " << m.name << " failed\n";
                    return false;
                }
                m.samples.push_back(t);
            }
            return true;
        });
    if (done.failed) {
        return 1;
    }
    std::uint64_t population_min = std::min(population_before, done.population_min);
    const int rounds_done = done.rounds;
    const std::uint64_t population_after = population();

    double floor_lib = 0;
    double floor_process = 0;
    for (const auto& m : methods) {
        if (m.name.starts_with("raw floor")) {
            floor_lib = median(m.samples);
        } else if (m.name.starts_with("tcptune-raw-floor")) {
            floor_process = median(m.samples);
        }
    }
    population_min = std::min(population_min, population_after);
    std::printf(
        "== %s: %llu TCP sockets at start, %llu at the end, >= %llu during all %d rounds ==\n",
        run.label.c_str(), static_cast<unsigned long long>(population_before),
        static_cast<unsigned long long>(population_after),
        static_cast<unsigned long long>(population_min), rounds_done);
    if (before_snapshot) {
        for (auto s : tcptune::kAllTcpStates) {
            if (before_snapshot->counts[s] != 0) {
                std::printf("   %-12s %llu\n", std::string(tcptune::state_name(s)).c_str(),
                            static_cast<unsigned long long>(before_snapshot->counts[s]));
            }
        }
    }
    std::printf("%-34s %5s %12s %16s %20s\n", "method", "runs", "median ms", "x floor (lib)",
                "x floor (process)");
    nlohmann::json results = nlohmann::json::array();
    for (const auto& m : methods) {
        const double med = median(m.samples);
        std::printf("%-34s %5zu %12.2f %16.2f %20.2f\n", m.name.c_str(), m.samples.size(),
                    med * 1e3, med / floor_lib, med / floor_process);
        results.push_back({{"method", m.name},
                           {"runs", m.samples.size()},
                           {"median_seconds", med},
                           {"ratio_to_floor_lib", med / floor_lib},
                           {"ratio_to_floor_process", med / floor_process}});
    }
    std::printf("peak RSS of `tcptune census --json`: %ld KiB\n", census_rss_kib);
    if (!run.json_out.empty()) {
        nlohmann::json doc = {{"label", run.label},
                              {"population_before", population_before},
                              {"population_after", population_after},
                              {"population_min", population_min},
                              {"rounds", rounds_done},
                              {"census_peak_rss_kib", census_rss_kib},
                              {"results", results}};
        std::ofstream(run.json_out) << doc.dump(2) << "\n";
    }
    ::close(floor_fd);
    return 0;
}
