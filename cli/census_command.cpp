// tcptune census [--json]: a one-shot census of this network namespace straight from
// the kernel (sock_diag netlink + /proc/net), no daemon needed.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "table.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune::cli {

namespace {

struct CensusOptions {
    bool json = false;
};

// TcpExt counters under their kernel names (table) and snake_case names (JSON).
struct NetstatField {
    const char* kernel_name;
    const char* json_name;
    std::uint64_t NetstatCounters::*value;
};
constexpr NetstatField kNetstatFields[] = {
    {"ListenOverflows", "listen_overflows", &NetstatCounters::listen_overflows},
    {"ListenDrops", "listen_drops", &NetstatCounters::listen_drops},
    {"SyncookiesSent", "syncookies_sent", &NetstatCounters::syncookies_sent},
    {"SyncookiesRecv", "syncookies_recv", &NetstatCounters::syncookies_recv},
    {"SyncookiesFailed", "syncookies_failed", &NetstatCounters::syncookies_failed},
    {"TCPTimeWaitOverflow", "timewait_overflows", &NetstatCounters::timewait_overflows},
    {"TCPReqQFullDrop", "reqq_full_drop", &NetstatCounters::reqq_full_drop},
    {"TCPReqQFullDoCookies", "reqq_full_do_cookies", &NetstatCounters::reqq_full_do_cookies},
};

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

nlohmann::json to_json(const CensusSnapshot& s) {
    nlohmann::json states = nlohmann::json::object();
    for (TcpState state : kAllTcpStates) {
        states[std::string(state_name(state))] = s.counts[state];
    }
    nlohmann::json netstat = nlohmann::json::object();
    for (const auto& field : kNetstatFields) {
        netstat[field.json_name] = s.netstat.*field.value;
    }
    return {
        {"states", states},
        {"duration_seconds", seconds(s.duration)},
        {"netstat", netstat},
        {"sockstat",
         {{"tcp_inuse", s.sockstat.tcp_inuse},
          {"tcp_orphan", s.sockstat.tcp_orphan},
          {"tcp_tw", s.sockstat.tcp_tw},
          {"tcp_alloc", s.sockstat.tcp_alloc},
          {"tcp_mem_pages", s.sockstat.tcp_mem_pages},
          {"tcp6_inuse", s.sockstat.tcp6_inuse},
          // The kernel keeps these three for the whole host, not per namespace.
          {"host_wide", {"tcp_orphan", "tcp_alloc", "tcp_mem_pages"}}}},
    };
}

// The states that pile up when something is wrong are highlighted when non-zero.
bool is_watched(TcpState s) {
    return s == TcpState::kTimeWait || s == TcpState::kCloseWait || s == TcpState::kSynRecv;
}

std::string to_table(const CensusSnapshot& s, bool colour) {
    Table states({{"STATE", Align::kLeft}, {"SOCKETS", Align::kRight}});
    for (TcpState state : kAllTcpStates) {
        const std::uint64_t n = s.counts[state];
        const RowStyle style = n == 0              ? RowStyle::kDim
                               : is_watched(state) ? RowStyle::kWarn
                                                   : RowStyle::kNormal;
        states.add_row({std::string(state_name(state)), std::to_string(n)}, style);
    }
    states.add_row({"total", std::to_string(s.counts.total())});

    Table netstat({{"TCPEXT COUNTER", Align::kLeft}, {"SINCE BOOT", Align::kRight}});
    for (const auto& field : kNetstatFields) {
        const std::uint64_t n = s.netstat.*field.value;
        netstat.add_row({field.kernel_name, std::to_string(n)},
                        n == 0 ? RowStyle::kDim : RowStyle::kWarn);
    }

    const std::string took = fmt::format("{:.3f} ms", seconds(s.duration) * 1e3);
    return states.render(colour) + "\n" + netstat.render(colour) +
           "\nsockstat, this namespace: tcp inuse " + std::to_string(s.sockstat.tcp_inuse) +
           ", tw " + std::to_string(s.sockstat.tcp_tw) + "; tcp6 inuse " +
           std::to_string(s.sockstat.tcp6_inuse) +
           "\nsockstat, host-wide (all namespaces): orphan " +
           std::to_string(s.sockstat.tcp_orphan) + ", alloc " +
           std::to_string(s.sockstat.tcp_alloc) + ", mem " +
           std::to_string(s.sockstat.tcp_mem_pages) + " pages\ncensus took " + took + "\n";
}

int run_census(const CensusOptions& options) {
    auto source = make_netlink_census_source();
    if (!source) {
        std::cerr << "tcptune census: " << source.error().message << "\n";
        return kExitFailure;
    }
    auto snapshot = (*source)->poll();
    if (!snapshot) {
        std::cerr << "tcptune census: " << snapshot.error().message << "\n";
        return kExitFailure;
    }
    return print_json_or_text(
        options.json, [&] { return to_json(*snapshot); },
        [&] { return to_table(*snapshot, colour_enabled(STDOUT_FILENO)); });
}

}  // namespace

void register_census_command(CLI::App& app, CommandContext& ctx) {
    add_json_command<CensusOptions>(
        app, ctx, "census",
        "Count this network namespace's TCP sockets per state (IPv4 and IPv6, exact, "
        "straight from the kernel; no daemon needed), with the TcpExt counters that "
        "reveal listen-queue overflows and SYN floods.\n"
        "Example: tcptune census --json",
        "Print {\"states\": {...}, \"duration_seconds\": X, \"netstat\": {...}, "
        "\"sockstat\": {...}}",
        run_census);
}

}  // namespace tcptune::cli
