// tcptune-bench-netns: the cost of a census of every network namespace, as a ratio to
// one raw dump of the same sockets, measured in one run.
//
// It makes its own private parent namespace (so the host's sysctls are never
// touched; with --child-ehash-entries it sets net.ipv4.tcp_child_ehash_entries
// there, and the namespaces it then creates get their own established hash), then
// N namespaces each filled by tcptune-loadgen (`unshare -n`), plus one "mirror"
// namespace holding the same population as all N together, in a table of its own of the
// same size as the N use (so its sockets do not lengthen their walks, and its one dump
// walks as many buckets as theirs). Each round times, in turn:
//   census (tcptune)   the per-namespace engine over the N namespaces (TIME_WAIT from
//                      sockstat, the rest from a sock_diag dump in each)
//   census, full dump  the same engine dumping TIME_WAIT too
//   raw floor x N      the C floor (bench/raw_floor.c) once in each namespace
//   raw floor, mirror  the C floor once over the mirror: one dump of the same sockets
//   raw floor, empty   the C floor in the (empty) parent namespace: the walk alone
//
// Example (root): tcptune-bench-netns --bin-dir build/bin --namespaces 50 --sockets 300000
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_timing.hpp"
#include "raw_floor.h"
#include "tcptune/netns/netns_census.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/unique_fd.hpp"

namespace {

namespace fs = std::filesystem;
using tcptune::bench::Clock;
using tcptune::bench::median;
using tcptune::bench::seconds_since;

struct Options {
    std::string bin_dir = "build/bin";
    std::size_t namespaces = 50;
    std::size_t sockets = 300000;
    int rounds = 5;
    unsigned child_ehash_entries = 0;
    bool mirror = true;
    std::string json_out;
};

// What one loadgen builds: ~`sockets` in all, mostly ESTABLISHED (they do not expire),
// a tenth half-closed (CLOSE_WAIT + its FIN_WAIT2), 5 % TIME_WAIT, some listeners.
struct Population {
    std::size_t listen, established_pairs, close_wait, time_wait;
    std::vector<std::string> args() const {
        return {"--listen",      std::to_string(listen),
                "--established", std::to_string(established_pairs),
                "--close-wait",  std::to_string(close_wait),
                "--time-wait",   std::to_string(time_wait)};
    }
};
Population population_of(std::size_t sockets) {
    Population p{};
    p.time_wait = sockets / 20;
    p.close_wait = sockets / 20;  // x2 sockets
    p.listen = std::max<std::size_t>(1, sockets / 100);
    p.established_pairs = (sockets - p.time_wait - 2 * p.close_wait - p.listen) / 2;
    return p;
}

// One `unshare -n` + tcptune-loadgen --hold; its pid is the loadgen's (exec all the way).
struct Loadgen {
    pid_t pid = -1;
    fs::path ready;
};

Loadgen start_loadgen(const Options& o, const Population& p, const fs::path& dir,
                      std::size_t index) {
    Loadgen g;
    g.ready = dir / fmt::format("ready-{}", index);
    const fs::path log = dir / fmt::format("loadgen-{}.log", index);
    std::string cmd =
        "ip link set lo up && exec " + o.bin_dir + "/tcptune-loadgen --hold --parallel 1";
    for (const auto& a : p.args()) {
        cmd += " " + a;
    }
    cmd += " --ready-file " + g.ready.string() + " 2>" + log.string();
    g.pid = ::fork();
    if (g.pid == 0) {
        ::execlp("unshare", "unshare", "-n", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    return g;
}

bool wait_ready(const std::vector<Loadgen>& gens) {
    for (const auto& g : gens) {
        while (!fs::exists(g.ready)) {
            int status = 0;
            if (::waitpid(g.pid, &status, WNOHANG) == g.pid) {
                std::cerr << "tcptune-bench-netns: a loadgen failed (see its log beside " << g.ready
                          << ")\n";
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
    return true;
}

// A raw-floor sock_diag socket opened inside `handle`'s namespace: a netlink socket
// belongs to the namespace it was created in, so it can then be used from here.
int open_floor_in(const fs::path& handle) {
    int fd = -1;
    std::thread([&] {
        tcptune::UniqueFd ns(::open(handle.c_str(), O_RDONLY | O_CLOEXEC));
        if (ns && ::setns(ns.get(), CLONE_NEWNET) == 0) {
            fd = raw_floor_open();
        }
    }).join();
    return fd;
}

std::uint64_t floor_count(int fd) {
    unsigned long long counts[16] = {};
    if (raw_floor_count(fd, counts) != 0) {
        return 0;
    }
    std::uint64_t total = 0;
    for (auto c : counts) {
        total += c;
    }
    return total;
}

// The shared table's size, from this (sharing) namespace: tcp_ehash_entries is negative
// when a namespace shares the initial namespace's table.
unsigned shared_ehash_buckets() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_ehash_entries");
    long long value = 0;
    in >> value;
    return static_cast<unsigned>(value < 0 ? -value : value);
}

bool write_sysctl(const char* path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.close();
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"tcptune-bench-netns: cost of the all-namespaces census vs one raw dump",
                 "tcptune-bench-netns"};
    app.add_option("--bin-dir", o.bin_dir, "Where tcptune-loadgen is");
    app.add_option("--namespaces", o.namespaces, "Namespaces to create and fill");
    app.add_option("--sockets", o.sockets, "Sockets in all namespaces together");
    app.add_option("--rounds", o.rounds, "Timed rounds");
    app.add_option("--child-ehash-entries", o.child_ehash_entries,
                   "Set net.ipv4.tcp_child_ehash_entries (in the private parent) first");
    app.add_flag("!--no-mirror", o.mirror, "Skip the mirror namespace (no ratio to one dump)");
    app.add_option("--json-out", o.json_out, "Also write the results as JSON here");
    CLI11_PARSE(app, argc, argv);

    if (::geteuid() != 0) {
        std::cerr << "tcptune-bench-netns: needs root (namespaces)\n";
        return 1;
    }
    // A private parent: the host namespace and its sysctls stay untouched.
    if (::unshare(CLONE_NEWNET) != 0) {
        std::perror("tcptune-bench-netns: unshare");
        return 1;
    }
    if (o.child_ehash_entries != 0 && !write_sysctl("/proc/sys/net/ipv4/tcp_child_ehash_entries",
                                                    std::to_string(o.child_ehash_entries))) {
        std::cerr << "tcptune-bench-netns: cannot set tcp_child_ehash_entries (Linux 6.1+)\n";
        return 1;
    }
    char tmpl[] = "/tmp/tcptune-bench-netns.XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);

    const Population each = population_of(o.sockets / o.namespaces);
    std::vector<Loadgen> gens;
    const auto build_start = Clock::now();
    for (std::size_t i = 0; i < o.namespaces; ++i) {
        gens.push_back(start_loadgen(o, each, dir, i));
        // Two at a time: the machine has few cores and TIME_WAITs expire after 60 s.
        if (gens.size() % 2 == 0 && !wait_ready(gens)) {
            return 1;
        }
    }
    std::optional<Loadgen> mirror;
    if (o.mirror) {
        // Once the N are ready they have unshared; only the mirror gets this size.
        if (!wait_ready(gens)) {
            return 1;
        }
        const unsigned buckets =
            o.child_ehash_entries != 0 ? o.child_ehash_entries : shared_ehash_buckets();
        if (buckets == 0 ||
            !write_sysctl("/proc/sys/net/ipv4/tcp_child_ehash_entries", std::to_string(buckets))) {
            std::cerr << "tcptune-bench-netns: cannot give the mirror its own table\n";
            return 1;
        }
        Population all = each;
        all.listen *= o.namespaces;
        all.established_pairs *= o.namespaces;
        all.close_wait *= o.namespaces;
        all.time_wait *= o.namespaces;
        mirror = start_loadgen(o, all, dir, o.namespaces);
        gens.push_back(*mirror);
    }
    const bool ready = wait_ready(gens);
    const double build_seconds = seconds_since(build_start);
    auto stop_all = [&] {
        for (const auto& g : gens) {
            ::kill(g.pid, SIGTERM);
        }
        for (const auto& g : gens) {
            ::waitpid(g.pid, nullptr, 0);
        }
        fs::remove_all(dir);
    };
    if (!ready) {
        stop_all();
        return 1;
    }
    std::fprintf(stderr, "tcptune-bench-netns: populations built in %.1f s\n", build_seconds);

    // The namespaces as tcptune discovers them, restricted to ours.
    auto all = tcptune::discover_namespaces();
    if (!all) {
        std::cerr << all.error().message << "\n";
        stop_all();
        return 1;
    }
    std::vector<tcptune::NetnsInfo> targets;
    tcptune::NetnsInfo mirror_ns;
    for (std::size_t i = 0; i < gens.size(); ++i) {
        auto id = tcptune::netns_id_of(fmt::format("/proc/{}/ns/net", gens[i].pid));
        for (const auto& ns : *all) {
            if (id && ns.id == *id) {
                (mirror && i == o.namespaces ? mirror_ns : targets.emplace_back()) = ns;
            }
        }
    }
    std::vector<int> floors;
    for (const auto& ns : targets) {
        floors.push_back(open_floor_in(ns.handle));
    }
    const int mirror_floor = mirror ? open_floor_in(mirror_ns.handle) : -1;
    const int empty_floor = raw_floor_open();

    auto engine = tcptune::make_setns_census_engine();
    auto full_engine = tcptune::make_setns_census_engine({.time_wait_from_sockstat = false});
    std::map<std::string, std::vector<double>> times;
    std::uint64_t population_min = UINT64_MAX;
    std::uint64_t population_max = 0;
    std::uint64_t mirror_population = 0;
    for (int r = 0; r < o.rounds; ++r) {
        auto t = Clock::now();
        auto report = engine->count(targets);
        times["census (tcptune)"].push_back(seconds_since(t));
        if (!report || report->namespaces.size() != targets.size()) {
            std::cerr << "tcptune-bench-netns: census failed or lost a namespace\n";
            stop_all();
            return 1;
        }
        std::uint64_t population = 0;
        for (const auto& n : report->namespaces) {
            population += n.counts.total();
        }
        population_min = std::min(population_min, population);
        population_max = std::max(population_max, population);

        t = Clock::now();
        (void)full_engine->count(targets);
        times["census, full dump"].push_back(seconds_since(t));

        t = Clock::now();
        for (int fd : floors) {
            (void)floor_count(fd);
        }
        times["raw floor x N"].push_back(seconds_since(t));

        if (mirror) {
            t = Clock::now();
            mirror_population = floor_count(mirror_floor);
            times["raw floor, mirror (one dump)"].push_back(seconds_since(t));
        }
        t = Clock::now();
        (void)floor_count(empty_floor);
        times["raw floor, empty namespace"].push_back(seconds_since(t));
    }
    stop_all();

    const double one_dump = mirror ? median(times["raw floor, mirror (one dump)"]) : 0;
    std::printf(
        "%zu namespaces, %llu..%llu sockets in them (mirror: %llu), "
        "tcp_child_ehash_entries=%u, %d rounds\n\n",
        targets.size(), static_cast<unsigned long long>(population_min),
        static_cast<unsigned long long>(population_max),
        static_cast<unsigned long long>(mirror_population), o.child_ehash_entries, o.rounds);
    std::printf("| method | median ms | x one dump |\n| --- | ---: | ---: |\n");
    nlohmann::json json = {{"namespaces", targets.size()},
                           {"population_min", population_min},
                           {"population_max", population_max},
                           {"mirror_population", mirror_population},
                           {"child_ehash_entries", o.child_ehash_entries},
                           {"rounds", o.rounds},
                           {"median_seconds", nlohmann::json::object()}};
    for (const auto& [name, samples] : times) {
        const double m = median(samples);
        json["median_seconds"][name] = m;
        std::printf("| %s | %.2f | %s |\n", name.c_str(), m * 1e3,
                    one_dump > 0 ? fmt::format("{:.2f}", m / one_dump).c_str() : "-");
    }
    if (!o.json_out.empty()) {
        std::ofstream(o.json_out) << json.dump(2) << "\n";
    }
    return 0;
}
