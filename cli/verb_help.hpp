#pragma once

// What `tcptune VERB --help` says of each verb: what it does, with an example, and
// what its --json prints. They are one contract, so they sit together: the man page
// (docs/man/tcptune.1.scd) and the bash completion are checked against this --help
// (tests/packaging), and the verbs' texts should read alike. Each verb's file
// registers the verb from its entry (add_command / add_json_command) and adds its
// own options. The control verbs (apply, rollback, reload, resume) keep theirs in
// control_commands.cpp.

#include <string_view>

namespace tcptune::cli {

struct VerbHelp {
    std::string_view name;
    std::string_view description;  // what it does, with "Example: ..." (or "Examples:")
    std::string_view json = {};    // the help of --json; empty for a verb without it
};

namespace verb_help {

inline constexpr VerbHelp kCensus{
    .name = "census",
    .description =
        "Count this network namespace's TCP sockets per state (IPv4 and IPv6, exact, "
        "straight from the kernel; no daemon needed), with the TcpExt counters that "
        "reveal listen-queue overflows and SYN floods. With --netns, the same per-state "
        "counts for other network namespaces (entered from a worker thread; root).\n"
        "Example: tcptune census --json; tcptune census --netns all",
    .json =
        "Print {\"states\": {...}, \"duration_seconds\": X, \"netstat\": {...}, "
        "\"sockstat\": {...}}; with --netns {\"namespaces\": [{\"name\", \"inode\", "
        "\"states\": {...}, ...}], \"duration_seconds\": X}",
};

inline constexpr VerbHelp kExplain{
    .name = "explain",
    .description =
        "Explain a TCP state or a sysctl: what it means, what moves it, the common myths. "
        "`explain sysctls` lists every key tcptune may change with its safe bounds.\n"
        "Example: tcptune explain time_wait",
    .json = "Print as JSON",
};

inline constexpr VerbHelp kExport{
    .name = "export",
    .description =
        "Print the sysctls tcptune has applied as an /etc/sysctl.d/ snippet, one comment per key "
        "saying why.\n"
        "Example: tcptune export > /etc/sysctl.d/90-tcptune.conf && sysctl --system",
    .json = "Print the applied set as JSON instead",
};

inline constexpr VerbHelp kNamespaces{
    .name = "namespaces",
    .description =
        "List the network namespaces tcptuned watches (only its own, \"host\", unless the "
        "config says namespaces: {watch: all}), each with its inode, profile and a one-line "
        "health summary; a namespace whose selected profile was refused shows \"refused: "
        "PROFILE: REASON\".\n"
        "Example: tcptune namespaces",
    .json =
        "Print {\"namespaces\": [{\"name\", \"inode\", \"own\", \"pid\", \"profile\", "
        "\"state\": \"managed\"|\"watched\"|\"refused\", \"refused_profile\", \"reason\", "
        "\"states\": {...}, \"health\"}]}",
};

inline constexpr VerbHelp kProfiles{
    .name = "profiles",
    .description =
        "List the profiles in the search path, with the ones shadowed by an earlier directory "
        "and the invalid ones.\n"
        "Example: tcptune profiles --profile-dir ./my-profiles",
    .json = "Print as JSON",
};

inline constexpr VerbHelp kProfileShow{
    .name = "show",
    .description =
        "Print a profile with its inheritance merged, as YAML (or JSON).\n"
        "Example: tcptune profile show web-frontend --origins\n"
        "To customize a shipped profile, put a file of the same name in "
        "/etc/tcptune/profiles/\nwith `extends: <its own name>`: it builds "
        "on the shipped one and keeps its fixes.",
    .json = "Print as JSON",
};

inline constexpr VerbHelp kProfileCheck{
    .name = "check",
    .description =
        "Validate profile files; every problem is printed as FILE:LINE:COL: message. Exit "
        "status 6 when any file is invalid.\n"
        "Example: tcptune profile check /etc/tcptune/profiles/*.yaml",
    .json = "Print results as JSON",
};

inline constexpr VerbHelp kStatus{
    .name = "status",
    .description =
        "Show what tcptuned is doing: active profile and mode, socket counts, rules, "
        "managed sysctls (current / original / desired / owner) and recent changes. "
        "Without a running daemon, shows a local read-only view and says so.\n"
        "Example: tcptune status --json | jq '.sysctls[] | select(.owner==\"administrator\")'",
    .json = "Machine-readable output (see docs/dbus-api.md)",
};

inline constexpr VerbHelp kTop{
    .name = "top",
    .description =
        "Who holds the sockets of a state, and why: top local ports, peers (and /24 or /64 "
        "prefixes), owning processes, with counts and shares, plus every listener whose SYN "
        "or accept queue holds something (with its backlog) and the ListenOverflows counter; "
        "`top destinations` shows the ephemeral ports held towards each destination. One "
        "streaming pass over the kernel's socket table with bounded memory; no daemon "
        "needed.\n"
        "Examples: tcptune top time_wait --by peer -n 5\n"
        "          tcptune top listen --json\n"
        "          tcptune top destinations\n"
        "          tcptune top close_wait --by process --json",
    .json = "Print the breakdown as JSON (see docs/diagnosis.md)",
};

inline constexpr VerbHelp kWatch{
    .name = "watch",
    .description =
        "Live view of tcptuned, refreshed like top: counts, rules, managed sysctls and the "
        "latest changes. q or Ctrl-C quits; any other key refreshes now.\n"
        "Example: tcptune watch --interval 1",
};

}  // namespace verb_help

}  // namespace tcptune::cli
