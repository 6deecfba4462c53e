// tcptune census [--netns all|NAME|PID|PATH] [--json]: a one-shot census of this
// network namespace (or of others, entered from a worker thread) straight from the
// kernel (sock_diag netlink + /proc/net), no daemon needed.
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
#include "tcptune/netns/netns_census.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/netns/netns_enter.hpp"

namespace tcptune::cli {

namespace {

struct CensusOptions {
    bool json = false;
    std::string netns;  // empty: this namespace only, the classic census
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

nlohmann::json states_json(const StateCounts& counts) {
    nlohmann::json states = nlohmann::json::object();
    for (TcpState state : kAllTcpStates) {
        states[std::string(state_name(state))] = counts[state];
    }
    return states;
}

nlohmann::json to_json(const CensusSnapshot& s) {
    const nlohmann::json states = states_json(s.counts);
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

nlohmann::json namespace_json(const NetnsInfo& ns) {
    nlohmann::json out = {{"name", ns.name}, {"inode", ns.id.inode}};
    if (!ns.ip_netns_name.empty()) {
        out["ip_netns"] = ns.ip_netns_name;
    }
    if (ns.pid) {
        out["pid"] = *ns.pid;
    }
    if (!ns.cgroup.empty()) {
        out["cgroup"] = ns.cgroup;
    }
    return out;
}

nlohmann::json to_json(const NamespaceCensusReport& report) {
    nlohmann::json namespaces = nlohmann::json::array();
    for (const auto& n : report.namespaces) {
        nlohmann::json one = namespace_json(n.ns);
        one["states"] = states_json(n.counts);
        one["sockstat"] = {{"tcp_inuse", n.sockstat.tcp_inuse},
                           {"tcp6_inuse", n.sockstat.tcp6_inuse},
                           {"tcp_tw", n.sockstat.tcp_tw}};
        one["duration_seconds"] = seconds(n.duration);
        namespaces.push_back(std::move(one));
    }
    nlohmann::json vanished = nlohmann::json::array();
    for (const auto& ns : report.vanished) {
        vanished.push_back(namespace_json(ns));
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& failure : report.failed) {
        nlohmann::json one = namespace_json(failure.ns);
        one["error"] = failure.error.message;
        errors.push_back(std::move(one));
    }
    return {{"namespaces", namespaces},
            {"vanished", vanished},
            {"errors", errors},
            {"duration_seconds", seconds(report.duration)}};
}

std::string to_table(const NamespaceCensusReport& report, bool colour) {
    std::vector<Column> columns = {{"NAMESPACE", Align::kLeft}, {"INODE", Align::kRight}};
    for (TcpState state : kAllTcpStates) {
        columns.push_back({std::string(state_name(state)), Align::kRight});
    }
    columns.push_back({"total", Align::kRight});
    Table table(columns);
    for (const auto& n : report.namespaces) {
        std::vector<std::string> row = {n.ns.name, std::to_string(n.ns.id.inode)};
        bool watched = false;
        for (TcpState state : kAllTcpStates) {
            row.push_back(std::to_string(n.counts[state]));
            watched = watched || (is_watched(state) && n.counts[state] > 0);
        }
        row.push_back(std::to_string(n.counts.total()));
        table.add_row(row, watched ? RowStyle::kWarn : RowStyle::kNormal);
    }
    std::string out = table.render(colour);
    for (const auto& ns : report.vanished) {
        out += fmt::format("{} (inode {}) vanished during the census\n", ns.name, ns.id.inode);
    }
    for (const auto& failure : report.failed) {
        out += fmt::format("{} (inode {}): {}\n", failure.ns.name, failure.ns.id.inode,
                           failure.error.message);
    }
    out += fmt::format("{} namespaces in {:.3f} ms\n", report.namespaces.size(),
                       seconds(report.duration) * 1e3);
    return out;
}

int run_namespaces_census(const CensusOptions& options) {
    auto selected = resolve_namespaces(options.netns);
    if (!selected) {
        std::cerr << "tcptune census: " << selected.error().message << "\n";
        return exit_code_for(selected.error());
    }
    auto report = make_setns_census_engine()->count(*selected);
    if (!report) {
        std::cerr << "tcptune census: " << report.error().message << "\n";
        return kExitFailure;
    }
    const int printed = print_json_or_text(
        options.json, [&] { return to_json(*report); },
        [&] { return to_table(*report, colour_enabled(STDOUT_FILENO)); });
    if (report->failed.empty()) {
        return printed;
    }
    bool denied = false;
    for (const auto& failure : report->failed) {
        std::cerr << "tcptune census: " << failure.error.message << "\n";
        denied = denied || failure.error.code == ErrorCode::kPermissionDenied;
    }
    return denied ? kExitPermissionDenied : kExitFailure;
}

int run_census(const CensusOptions& options) {
    if (!options.netns.empty()) {
        return run_namespaces_census(options);
    }
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
    auto [cmd, options] = add_json_command<CensusOptions>(app, ctx, verb_help::kCensus, run_census);
    cmd->add_option("--netns", options->netns,
                    "Count other network namespaces: all, a name (ip netns, pod:UID, docker:ID, "
                    "host...), an INODE, a PID or a namespace file PATH");
}

}  // namespace tcptune::cli
