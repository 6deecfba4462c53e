#include "dbus_format.hpp"

#include <iostream>

#include <fmt/format.h>

#include "command.hpp"
#include "table.hpp"
#include "tcptune/dbus/contract.hpp"

namespace tcptune::cli {

namespace {

std::string number(double value) {
    return fmt::format("{:g}", value);
}

bool is_watched_state(const std::string& state) {
    return state == "time_wait" || state == "close_wait" || state == "syn_recv";
}

// The kernel's order of states, so tables read like `ss -s`.
const std::vector<std::string>& state_order() {
    static const std::vector<std::string> kOrder = {
        "established", "syn_sent",   "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
        "close",       "close_wait", "last_ack", "listen",    "closing"};
    return kOrder;
}

}  // namespace

std::string render_daemon_header(const DaemonStatus& s, bool /*colour*/) {
    std::string out = "tcptuned " + s.version + ": profile " + s.profile + " (" + s.mode +
                      " mode, every " + number(s.interval_seconds) + "s)\n";
    if (!s.description.empty()) {
        out += "  " + s.description + "\n";
    }
    if (!s.profile_file.empty()) {
        out += "  file: " + s.profile_file + "\n";
    }
    out +=
        "  polls: " + std::to_string(s.polls) + " (" + std::to_string(s.poll_errors) + " errors)\n";
    if (!s.census_engine.empty()) {
        out += "  census engine: " + s.census_engine;
        out += s.census_engine_note.empty()
                   ? "\n"
                   : " (bpf not available: " + s.census_engine_note + ")\n";
    }
    if (!s.last_poll_error.empty()) {
        out += "  last poll error: " + s.last_poll_error + "\n";
    }
    if (!s.journal_error.empty()) {
        out += "  JOURNAL UNUSABLE, writes refused: " + s.journal_error + "\n";
    }
    return out;
}

std::string render_counts(const DaemonCounts& c, bool colour) {
    if (!c.valid) {
        return "no census yet (the daemon has not completed a poll)\n";
    }
    Table table({{"STATE", Align::kLeft}, {"SOCKETS", Align::kRight}});
    std::uint64_t total = 0;
    for (const auto& state : state_order()) {
        const auto it = c.states.find(state);
        const std::uint64_t n = it == c.states.end() ? 0 : it->second;
        total += n;
        const RowStyle style = n == 0                    ? RowStyle::kDim
                               : is_watched_state(state) ? RowStyle::kWarn
                                                         : RowStyle::kNormal;
        table.add_row({state, std::to_string(n)}, style);
    }
    table.add_row({"total", std::to_string(total)});
    return table.render(colour) + "census " + number(c.age_seconds) + "s ago, took " +
           number(c.duration_seconds * 1e3) + " ms\n";
}

std::string render_rules(const std::vector<RuleRow>& rules, bool colour) {
    if (rules.empty()) {
        return "no rules in this profile\n";
    }
    Table table({{"RULE", Align::kLeft},
                 {"METRIC", Align::kLeft},
                 {"THRESHOLD", Align::kLeft},
                 {"ACTIVE", Align::kLeft},
                 {"SINCE", Align::kLeft},
                 {"LAST", Align::kRight},
                 {"FIRED", Align::kRight}});
    std::string notes;
    for (const auto& r : rules) {
        table.add_row({r.name, r.metric, r.threshold, r.active ? "yes" : "no",
                       format_unix_usec(r.since_unix_usec),
                       r.has_last ? number(r.last_observed) : "-", std::to_string(r.trigger_count)},
                      r.active ? RowStyle::kWarn : RowStyle::kNormal);
        // The signal the rule uses, next to it: where the pressure is and what
        // its last change did.
        if (!r.reading.empty() && (r.active || !r.verdict.empty())) {
            notes += "  " + r.name + ": " + r.reading;
            if (!r.verdict.empty()) {
                notes += " [" + r.verdict + "]";
            }
            notes += "\n";
        }
    }
    return table.render(colour) + notes;
}

std::string render_sysctls(const std::vector<SysctlRow>& sysctls, bool colour) {
    if (sysctls.empty()) {
        return "no managed sysctls\n";
    }
    Table table({{"SYSCTL", Align::kLeft},
                 {"CURRENT", Align::kRight},
                 {"ORIGINAL", Align::kRight},
                 {"DESIRED", Align::kRight},
                 {"OWNER", Align::kLeft}});
    for (const auto& s : sysctls) {
        const RowStyle style = s.owner == "administrator" ? RowStyle::kWarn
                               : s.owner == "unmanaged" || s.owner == "not-applied"
                                   ? RowStyle::kDim
                                   : RowStyle::kNormal;
        table.add_row({s.key, s.current, s.original.empty() ? "-" : s.original,
                       s.desired.empty() ? "-" : s.desired, s.owner},
                      style);
    }
    return table.render(colour);
}

std::string render_changes(const std::vector<ChangeRecord>& changes, bool colour) {
    if (changes.empty()) {
        return "no changes\n";
    }
    Table table({{"AT", Align::kLeft},
                 {"RESULT", Align::kLeft},
                 {"SYSCTL", Align::kLeft},
                 {"OLD", Align::kRight},
                 {"NEW", Align::kRight},
                 {"RULE", Align::kLeft},
                 {"DETAIL", Align::kLeft}});
    for (const auto& c : changes) {
        const bool bad = c.result == ChangeResult::kFailed || c.result == ChangeResult::kRefused ||
                         c.result == ChangeResult::kOverridden;
        table.add_row({format_unix_usec(dbus::to_unix_usec(c.at)), std::string(to_string(c.result)),
                       c.key, c.old_value, c.new_value, c.rule.empty() ? "-" : c.rule,
                       c.detail.empty() ? c.reason : c.detail},
                      bad ? RowStyle::kWarn : RowStyle::kNormal);
    }
    return table.render(colour);
}

int exit_code_for_changes(const std::vector<ChangeRecord>& changes) {
    bool refused = false;
    for (const auto& c : changes) {
        if (c.result == ChangeResult::kFailed) {
            return kExitFailure;
        }
        refused = refused || c.result == ChangeResult::kRefused;
    }
    return refused ? kExitRefused : kExitOk;
}

int report_daemon_error(const std::string& verb, const DaemonError& error) {
    std::cerr << "tcptune " << verb << ": ";
    if (error.unreachable()) {
        std::cerr << "tcptuned is not reachable (" << error.what() << ").\n"
                  << "Start it with `systemctl start tcptune` (or run `tcptuned` as root); "
                     "`--bus session` talks to a daemon started with `tcptuned --bus session`.\n";
    } else if (error.exit_code() == kExitPermissionDenied) {
        std::cerr << "permission denied: " << error.what() << "\n"
                  << "Changing kernel settings requires root (sudo tcptune " << verb
                  << " ...) or the polkit action net.tcptune.manage granted by an "
                     "administrator.\n";
    } else {
        std::cerr << error.what() << " [" << error.name() << "]\n";
    }
    return error.exit_code();
}

}  // namespace tcptune::cli
