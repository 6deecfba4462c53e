// tcptune-loadgen: fills the CURRENT network namespace with real TCP sockets in known
// states, then (with --hold) keeps them until SIGINT/SIGTERM. Run it only inside a
// throwaway namespace (`unshare -n`): unless --no-tune, it raises a few net.* limits
// there (printing each change), and refuses to when it would touch the host's namespace.
//
// Example:
//   unshare -n sh -c 'ip link set lo up; tcptune-loadgen --time-wait 300000
//     --close-wait 50000 --established 50000 --syn-recv 2000 --hold'
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside CLI11's
// inlined string splitting; it is not in our code.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>

#include "support/socket_factory.hpp"
#include "support/traffic.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace {

using tcptune::test::IpFamily;
using tcptune::test::SocketFactory;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

struct Options {
    std::size_t listen = 0;
    std::size_t established = 0;
    std::size_t close_wait = 0;
    std::size_t time_wait = 0;
    std::size_t syn_recv = 0;
    unsigned ipv6_percent = 10;
    std::size_t parallel = 4;
    bool tune = true;
    bool hold = false;
    bool wait_settled = true;
    std::string ready_file;
    std::string serve;  // IPv4:PORT of a listener that never accepts
    int backlog = 511;
};

// "127.0.0.5:8080" -> a listener there with the given listen() backlog.
bool serve(const std::string& at, int backlog, int& fd) {
    const auto colon = at.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos) {
        std::cerr << "tcptune-loadgen: --serve " << at << ": expected IPv4:PORT\n";
        return false;
    }
    try {
        port = static_cast<unsigned>(std::stoul(at.substr(colon + 1)));
    } catch (const std::exception&) {
        port = 0;
    }
    if (port == 0 || port > 65535) {
        std::cerr << "tcptune-loadgen: --serve " << at << ": expected a port 1-65535\n";
        return false;
    }
    const tcptune::test::Address address{at.substr(0, colon), static_cast<std::uint16_t>(port)};
    auto listening = tcptune::test::listen_on(address, backlog);
    if (!listening) {
        std::cerr << "tcptune-loadgen: --serve " << at << ": " << listening.error().message << "\n";
        return false;
    }
    fd = *listening;
    std::fprintf(stderr, "tcptune-loadgen: listening on %s (backlog %d), accepting nothing\n",
                 address.text().c_str(), backlog);
    return true;
}

// Namespace-local limits a large population needs (all per network namespace).
bool tune_namespace(const Options& o) {
    const std::pair<const char*, std::string> settings[] = {
        // Listen queues hold the CLOSE_WAITs and request sockets: fewer, longer queues.
        {"net.core.somaxconn", "65535"},
        {"net.ipv4.tcp_max_syn_backlog", "65535"},
        // The default bucket limit (a share of the hash table) is below 300k. Only
        // ever raised: a small population needs no lower limit.
        {"net.ipv4.tcp_max_tw_buckets",
         std::to_string(std::max<std::size_t>(
             o.time_wait * 2 + 1024,
             tcptune::test::read_size_sysctl("net.ipv4.tcp_max_tw_buckets", 0)))},
        // More ephemeral ports per server port; server ports stay reserved.
        {"net.ipv4.ip_local_port_range", "1024 65535"},
        {"net.ipv4.ip_local_reserved_ports", "20000-29999"},
        // Keep request sockets alive for the whole run (5 retries is only ~63 s).
        {"net.ipv4.tcp_synack_retries", "12"},
        // Never recycle our own TIME_WAITs for new connections.
        {"net.ipv4.tcp_tw_reuse", "0"},
    };
    // Said out loud: a reader of this namespace's sysctls (tcptuned's status, say)
    // must be able to tell these values from the kernel's defaults.
    for (const auto& [key, value] : settings) {
        const auto before = tcptune::test::read_sysctl(key);
        auto written = tcptune::test::write_namespace_sysctl(key, value);
        if (!written) {
            std::cerr << "tcptune-loadgen: " << written.error().message << "\n";
            return false;
        }
        const std::string shown_before = !before ? "?" : before->empty() ? "(empty)" : *before;
        std::cerr << "tcptune-loadgen: " << key << " " << shown_before << " -> " << value
                  << " (this namespace only; --no-tune changes nothing)\n";
    }
    return true;
}

bool build(SocketFactory& factory, const Options& o) {
    using Adder = tcptune::Result<void> (SocketFactory::*)(IpFamily, std::size_t);
    const struct {
        const char* name;
        std::size_t count;
        Adder add;
    } steps[] = {
        // TIME_WAIT last: it is the only state that expires on its own (60 s).
        {"listen", o.listen, &SocketFactory::add_listeners},
        {"established pairs", o.established, &SocketFactory::add_established},
        {"close_wait", o.close_wait, &SocketFactory::add_close_wait},
        {"syn_recv", o.syn_recv, &SocketFactory::add_syn_recv},
        {"time_wait", o.time_wait, &SocketFactory::add_time_wait},
    };
    for (const auto& step : steps) {
        const std::size_t v6 = step.count * o.ipv6_percent / 100;
        const std::size_t v4 = step.count - v6;
        const auto start = std::chrono::steady_clock::now();
        for (auto [family, n] : {std::pair{IpFamily::kV4, v4}, std::pair{IpFamily::kV6, v6}}) {
            if (n == 0) {
                continue;
            }
            auto added = (factory.*step.add)(family, n);
            if (!added) {
                std::cerr << "tcptune-loadgen: " << step.name << ": " << added.error().message
                          << "\n";
                return false;
            }
        }
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "tcptune-loadgen: %zu %s in %.1f s\n", step.count, step.name, secs);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "tcptune-loadgen: build a socket population in this network namespace.\n"
        "Example: unshare -n sh -c 'ip link set lo up; tcptune-loadgen --time-wait 300000 "
        "--close-wait 50000 --established 50000 --syn-recv 2000 --hold'",
        "tcptune-loadgen"};
    app.add_option("--listen", o.listen, "Extra LISTEN sockets");
    app.add_option("--established", o.established, "ESTABLISHED pairs (2 sockets each)");
    app.add_option("--close-wait", o.close_wait,
                   "CLOSE_WAIT sockets (each with its FIN_WAIT2 client)");
    app.add_option("--time-wait", o.time_wait, "TIME_WAIT sockets (they live 60 s)");
    app.add_option("--syn-recv", o.syn_recv, "SYN_RECV request sockets (needs nft)");
    app.add_option("--ipv6-percent", o.ipv6_percent, "Share of each state made over IPv6")
        ->check(CLI::Range(0, 100));
    app.add_option("--parallel", o.parallel, "Holder processes building at once");
    app.add_flag("!--no-tune", o.tune,
                 "Change no sysctl (by default it raises somaxconn, tcp_max_syn_backlog, "
                 "tcp_max_tw_buckets, the port ranges and tcp_synack_retries, and sets "
                 "tcp_tw_reuse=0, printing each change)");
    app.add_flag("!--no-wait", o.wait_settled, "Do not wait for ss to show the population");
    app.add_flag("--hold", o.hold, "Keep the sockets until SIGINT/SIGTERM");
    app.add_option("--serve", o.serve,
                   "Also listen on IPv4:PORT (e.g. 127.0.0.5:8080), accepting nothing");
    app.add_option("--backlog", o.backlog, "The listen() backlog of --serve (somaxconn caps it)")
        ->check(CLI::Range(1, 65535));
    app.add_option("--ready-file", o.ready_file, "Create this file once the population is up");
    CLI11_PARSE(app, argc, argv);

    if (o.tune && !tune_namespace(o)) {
        return 1;
    }
    tcptune::test::FactoryOptions factory_options;
    factory_options.parallel_holders = o.parallel;
    SocketFactory factory(factory_options);
    if (!build(factory, o)) {
        return 1;
    }
    const auto expected = factory.expected();
    std::fprintf(stderr, "tcptune-loadgen: expected {%s}, %llu sockets\n",
                 tcptune::test::describe_counts(expected).c_str(),
                 static_cast<unsigned long long>(expected.total()));
    if (o.wait_settled) {
        auto settled = tcptune::test::wait_until_ss_shows(expected, std::chrono::seconds(20));
        if (!settled) {
            std::fprintf(stderr, "tcptune-loadgen: warning: %s\n", settled.error().message.c_str());
        }
    }
    int served = -1;
    if (!o.serve.empty() && !serve(o.serve, o.backlog, served)) {
        return 1;
    }
    if (!o.ready_file.empty()) {
        std::ofstream(o.ready_file) << expected.total() << "\n";
    }
    if (o.hold) {
        // Block the signals, then wait for them atomically: no lost wake-up between
        // checking the flag and sleeping.
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        ::sigaction(SIGINT, &sa, nullptr);
        ::sigaction(SIGTERM, &sa, nullptr);
        sigset_t blocked;
        sigset_t waiting;
        ::sigemptyset(&blocked);
        ::sigaddset(&blocked, SIGINT);
        ::sigaddset(&blocked, SIGTERM);
        ::sigprocmask(SIG_BLOCK, &blocked, &waiting);
        ::sigdelset(&waiting, SIGINT);
        ::sigdelset(&waiting, SIGTERM);
        while (g_stop == 0) {
            ::sigsuspend(&waiting);
        }
    }
    if (served >= 0) {
        ::close(served);
    }
    return 0;  // the factory's destructor ends the holder processes
}
