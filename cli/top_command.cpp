// tcptune top [STATE] [--by port|peer|prefix|process] [-n N] [--json]: who holds the
// sockets of a state, and why. One sock_diag dump, broken down while it streams
// (core/tcptune/diagnosis/breakdown.hpp); no daemon needed.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bounded_options.hpp"
#include "command.hpp"
#include "table.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/diagnosis/breakdown_json.hpp"
#include "tcptune/diagnosis/diagnosis.hpp"
#include "tcptune/duration.hpp"
#include "tcptune/netns/netns_breakdown.hpp"
#include "tcptune/netns/netns_enter.hpp"

namespace tcptune::cli {

namespace {

// The views `--by` offers (the endpoint table is shown with the peers); no --by
// shows ports and peers.
constexpr std::array<TopView, 5> kCliViews = {TopView::kPort, TopView::kPeer, TopView::kPrefix,
                                              TopView::kProcess, TopView::kDestination};
using View = std::optional<TopView>;

struct TopOptions {
    std::string state = "focus";
    std::string by;
    std::size_t top_n = 10;
    std::size_t capacity = 1024;
    std::string trend;
    std::string netns;  // empty: this namespace
    bool json = false;
};

std::vector<std::string> cli_view_names() {
    std::vector<std::string> names;
    for (const TopView view : kCliViews) {
        names.emplace_back(to_string(view));
    }
    return names;
}

std::string upper(std::string_view name) {
    std::string out(name);
    for (char& c : out) {
        c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return out;
}

std::string percent(double share) {
    return fmt::format("{:.1f}%", share * 100.0);
}

// "~" marks a count that may be over-estimated (the table overflowed its capacity).
std::string count_cell(const TopEntry& e, bool exact) {
    return (exact ? "" : "~") + std::to_string(e.count);
}

enum class KeyColumn { kPort, kAddress, kEndpoint, kPrefix };

std::string key_cell(const TopEntry& e, KeyColumn kind) {
    switch (kind) {
        case KeyColumn::kPort:
            return std::to_string(e.key.port);
        case KeyColumn::kAddress:
            return format_address(e.key);
        case KeyColumn::kEndpoint:
        case KeyColumn::kPrefix:
            return format_endpoint(e.key);
    }
    return {};
}

std::string render_table(const TopTable& t, const char* header, KeyColumn kind, bool colour,
                         bool& any_approximate) {
    if (t.entries.empty()) {
        return {};
    }
    Table table({{header, Align::kLeft}, {"SOCKETS", Align::kRight}, {"SHARE", Align::kRight}});
    for (const auto& e : t.entries) {
        table.add_row({key_cell(e, kind), count_cell(e, t.exact), percent(e.share)},
                      e.share >= kHintDominantShare ? RowStyle::kWarn : RowStyle::kNormal);
    }
    any_approximate = any_approximate || !t.exact;
    return table.render(colour);
}

std::string render_processes(const StateBreakdown& s, bool colour) {
    const ProcessBreakdown& p = *s.processes;
    std::string out;
    if (!p.owners.empty()) {
        Table table({{"PID", Align::kRight},
                     {"COMMAND", Align::kLeft},
                     {"LOCAL PORT", Align::kRight},
                     {"SOCKETS", Align::kRight},
                     {"SHARE", Align::kRight}});
        for (const auto& o : p.owners) {
            table.add_row({std::to_string(o.pid), o.comm, std::to_string(o.local_port),
                           std::to_string(o.count), percent(o.share)},
                          o.share >= kHintDominantShare ? RowStyle::kWarn : RowStyle::kNormal);
        }
        out += table.render(colour);
    }
    if (p.without_owner > 0) {
        out += std::to_string(p.without_owner) +
               " socket(s) belong to no process (no file: closed by the application, "
               "or still waiting in a listen queue)\n";
    }
    if (p.unmatched > 0) {
        out += std::to_string(p.unmatched) +
               " socket(s) found in no readable /proc/<pid>/fd (another PID namespace, a "
               "process we may not inspect — try as root — or closed meanwhile)\n";
    }
    if (p.capped) {
        out += "process lookup sampled the first " + std::to_string(p.sockets_examined) +
               " sockets only\n";
    }
    return out;
}

std::string render_state(const StateBreakdown& s, View view, bool colour, bool& approximate) {
    std::string out = upper(state_name(s.state)) + ": " + std::to_string(s.total) + " socket" +
                      (s.total == 1 ? "" : "s") + "\n";
    if (s.total == 0) {
        return out;
    }
    std::vector<std::string> parts;
    auto add = [&parts](std::string text) {
        if (!text.empty()) {
            parts.push_back(std::move(text));
        }
    };
    if (!view || view == TopView::kPort) {
        add(render_table(s.local_ports, "LOCAL PORT", KeyColumn::kPort, colour, approximate));
    }
    if (!view || view == TopView::kPeer) {
        add(render_table(s.peers, "PEER", KeyColumn::kAddress, colour, approximate));
        add(render_table(s.peer_services, "REMOTE ENDPOINT", KeyColumn::kEndpoint, colour,
                         approximate));
    }
    if (view == TopView::kPrefix) {
        add(render_table(s.peer_prefixes, "PEER PREFIX", KeyColumn::kPrefix, colour, approximate));
    }
    if (view == TopView::kProcess && s.processes) {
        add(render_processes(s, colour));
    }
    for (const auto& p : parts) {
        out += p;
        out += "\n";
    }
    if (auto h = hint(s); !h.empty()) {
        out += "why: " + h + "\n";
    }
    return out;
}

std::string render_listen(const ListenBreakdown& l, std::size_t top_n, bool colour) {
    std::string out = "LISTEN: " + std::to_string(l.listeners) + " listener(s), " +
                      std::to_string(l.listeners_queued) + " with queued connections or " +
                      "handshakes, " + std::to_string(l.listeners_full) + " accept queue full, " +
                      std::to_string(l.listeners_syn_full) + " SYN queue full\n";
    if (!l.filling.empty()) {
        Table table({{"LOCAL", Align::kLeft},
                     {"SYN QUEUE", Align::kRight},
                     {"ACCEPT QUEUE", Align::kRight},
                     {"BACKLOG", Align::kRight},
                     {"SYN FILL", Align::kRight},
                     {"ACCEPT FILL", Align::kRight}});
        const std::size_t rows = std::min(top_n, l.filling.size());
        for (std::size_t i = 0; i < rows; ++i) {
            const auto& q = l.filling[i];
            table.add_row(
                {format_endpoint(q.local), std::to_string(q.syn_queue), std::to_string(q.queued),
                 std::to_string(q.backlog), percent(q.syn_fill()), percent(q.accept_fill())},
                q.full() || q.syn_queue_full() ? RowStyle::kWarn : RowStyle::kNormal);
        }
        out += table.render(colour);
        for (std::size_t i = 0; i < rows; ++i) {
            if (auto h = hint(l.filling[i]); !h.empty()) {
                out += "why: " + h + "\n";
            }
        }
        if (rows < l.filling.size()) {
            out += "(" + std::to_string(l.filling.size() - rows) +
                   " more listener(s) with queues; -n to show more, --json lists all)\n";
        }
    }
    out += fmt::format("ListenOverflows: {} since boot", l.listen_overflows);
    if (l.listen_overflows_per_second) {
        out += fmt::format(", {:.2f}/s over the last {:.1f} s", *l.listen_overflows_per_second,
                           l.trend_seconds.value_or(0.0));
    }
    out += fmt::format(" (ListenDrops {})\n", l.listen_drops);
    return out;
}

std::string render_destinations(const DestinationSignals& d, bool colour) {
    std::string out = "EPHEMERAL PORTS: range " + std::to_string(d.range_low) + "-" +
                      std::to_string(d.range_high) + ", " + std::to_string(d.usable) + " usable, " +
                      std::to_string(d.ports_in_use) + " in use by " +
                      std::to_string(d.sockets_in_range) + " socket(s)\n";
    if (!d.top.empty()) {
        Table table({{"LOCAL", Align::kLeft},
                     {"DESTINATION", Align::kLeft},
                     {"SOCKETS", Align::kRight},
                     {"USABLE", Align::kRight},
                     {"SHARE", Align::kRight}});
        for (const auto& e : d.top) {
            table.add_row({format_address(e.local), format_endpoint(e.remote),
                           (d.exact ? "" : "~") + std::to_string(e.sockets),
                           std::to_string(d.usable), percent(e.occupancy)},
                          e.occupancy >= 0.8 ? RowStyle::kWarn : RowStyle::kNormal);
        }
        out += table.render(colour);
    }
    if (auto h = hint(d); !h.empty()) {
        out += "why: " + h + "\n";
    }
    return out;
}

// The whole text view: destinations, each state, the listen queues, the footnotes.
std::string render_top(const Breakdown& breakdown, View view, bool destinations_only,
                       std::size_t top_n, std::size_t capacity, bool colour) {
    bool approximate = false;
    std::string out;
    if (breakdown.destinations) {
        out += render_destinations(*breakdown.destinations, colour) + "\n";
    }
    for (const auto& s : breakdown.states) {
        out += render_state(s, view, colour, approximate);
        if (view == TopView::kProcess &&
            (s.state == TcpState::kTimeWait || s.state == TcpState::kSynRecv) && s.total > 0) {
            out += "(" + upper(state_name(s.state)) +
                   " sockets belong to no process: the kernel holds them; see --by port or "
                   "--by peer)\n";
        }
        out += "\n";
    }
    if (!destinations_only) {
        out += render_listen(breakdown.listen, top_n, colour);
    }
    if (approximate) {
        out += "\n~ approximate: more than " + std::to_string(capacity) +
               " distinct keys, the count may be over-estimated (use --json for error "
               "bounds, --capacity to widen)\n";
    }
    out += fmt::format("\nbreakdown took {:.3f} ms\n",
                       std::chrono::duration<double, std::milli>(breakdown.duration).count());
    return out;
}

int run_top(const TopOptions& o) {
    View view;
    if (!o.by.empty()) {
        const auto parsed = parse_top_view(o.by);
        if (parsed && std::find(kCliViews.begin(), kCliViews.end(), *parsed) != kCliViews.end()) {
            view = *parsed;
        }
    }
    if (!o.by.empty() && !view) {
        std::cerr << "tcptune top: --by must be port, peer, prefix, process or destination (got '"
                  << o.by << "')\n";
        return kExitUsage;
    }
    BreakdownOptions options;
    const bool destinations_only = o.state == "destinations" || view == TopView::kDestination;
    if (destinations_only) {
        options.states = {};
        options.destinations = true;
    } else if (o.state != "focus" && o.state != "all") {
        const auto state = parse_state(o.state);
        if (!state) {
            std::cerr << "tcptune top: unknown state '" << o.state
                      << "' (time_wait, close_wait, syn_recv, established, listen, ..., focus "
                         "or destinations)\n";
            return kExitUsage;
        }
        options.states = {*state};
    }
    if (o.top_n == 0 || o.capacity == 0) {
        std::cerr << "tcptune top: -n and --capacity must be at least 1\n";
        return kExitUsage;
    }
    options.top_n = o.top_n;
    options.capacity = o.capacity < o.top_n ? o.top_n : o.capacity;
    options.by_prefix = view == TopView::kPrefix;
    options.by_process = view == TopView::kProcess;
    if (!o.trend.empty()) {
        auto interval = parse_duration(o.trend);
        if (!interval || interval->count() <= 0 || *interval > std::chrono::minutes(10)) {
            std::cerr << "tcptune top: --trend needs a duration from 1ms to 10m, like 1s or "
                         "500ms (got '"
                      << o.trend.substr(0, 32) << "')\n";
            return kExitUsage;
        }
        options.trend_interval = *interval;
    }

    std::optional<NetnsInfo> ns;
    Result<Breakdown> breakdown = make_error(ErrorCode::kInternal, "no breakdown");
    if (o.netns.empty()) {
        breakdown = take_breakdown(options);
    } else {
        auto resolved = resolve_one_namespace(o.netns);
        if (!resolved) {
            std::cerr << "tcptune top: " << resolved.error().message << "\n";
            return exit_code_for(resolved.error());
        }
        ns = std::move(*resolved);
        breakdown = take_namespace_breakdown(*ns, options);
    }
    if (!breakdown) {
        std::cerr << "tcptune top: " << breakdown.error().message << "\n";
        return exit_code_for(breakdown.error());
    }
    return print_json_or_text(
        o.json,
        [&] {
            nlohmann::json j = breakdown_to_json(*breakdown);
            j["by"] = view ? std::string(to_string(*view)) : "default";
            if (ns) {
                j["netns"] = {{"name", ns->name}, {"inode", ns->id.inode}};
            }
            return j;
        },
        [&] {
            const std::string header =
                ns ? fmt::format("network namespace {} (inode {})\n\n", ns->name, ns->id.inode)
                   : std::string();
            return header + render_top(*breakdown, view, destinations_only, o.top_n,
                                       options.capacity, colour_enabled(STDOUT_FILENO));
        });
}

}  // namespace

void register_top_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, options] = add_json_command<TopOptions>(app, ctx, verb_help::kTop, run_top);
    cmd->add_option("STATE", options->state,
                    "time_wait, close_wait, syn_recv, established, listen, ..., 'focus' "
                    "(time_wait + close_wait + syn_recv, the default) or 'destinations' "
                    "(ephemeral-port occupancy per destination)");
    cmd->add_option("--by", options->by,
                    "port | peer | prefix | process | destination (default: port and peer)")
        ->check(CLI::IsMember(cli_view_names()));
    add_bounded_integer(*cmd, "-n,--top", options->top_n, 1, kMaxTopLimit,
                        "Rows per table (default 10)");
    add_bounded_integer(*cmd, "--capacity", options->capacity, 1, kMaxTopCapacity,
                        "Counters per table; counts are exact while the distinct keys fit "
                        "(default 1024)");
    cmd->add_option("--netns", options->netns,
                    "Break down another network namespace: a name (ip netns, pod:UID, "
                    "docker:ID, host...), an INODE, a PID or a namespace file PATH (entered "
                    "from a worker thread; root)");
    cmd->add_option("--trend", options->trend,
                    "Sample ListenOverflows twice this far apart and show the rate, e.g. 1s");
}

}  // namespace tcptune::cli
