#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/census/tcp_state.hpp"
#include "tcptune/pressure/pressure_signals.hpp"

namespace tcptune {

// Where something was written: 1-based line and column, as editors count.
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
    bool operator==(const SourceLocation&) const = default;
};

// One load-time problem. `message` says what is wrong and what would be valid.
struct ProfileDiagnostic {
    SourceLocation where;
    std::string message;
    // "file:line:col: message", the form compilers use so editors can jump to it.
    std::string to_string() const;
};

using ProfileDiagnostics = std::vector<ProfileDiagnostic>;

// Bounds of what one profile file can make tcptune report or hold: the first
// kMaxDiagnosticsPerFile problems, then "... and N more"; at most kMaxRules rules.
inline constexpr std::size_t kMaxDiagnosticsPerFile = 20;
inline constexpr std::size_t kMaxRules = 256;

// The TcpExt counters a rule can watch the per-poll increase of (`increase:`):
// the counters of RateCounter that are always read, named and read through the
// same table (pressure_signals.cpp).
using NetstatCounter = RateCounter;

inline constexpr std::size_t kNetstatCounterCount = 8;
inline constexpr std::array<NetstatCounter, kNetstatCounterCount> kAllNetstatCounters = {
    NetstatCounter::kListenOverflows,  NetstatCounter::kListenDrops,
    NetstatCounter::kSyncookiesSent,   NetstatCounter::kSyncookiesRecv,
    NetstatCounter::kSyncookiesFailed, NetstatCounter::kTimewaitOverflows,
    NetstatCounter::kReqqFullDrop,     NetstatCounter::kReqqFullDoCookies,
};

// snake_case name used in profiles ("listen_overflows"); parse_counter accepts
// only the counters of kAllNetstatCounters.
std::string_view counter_name(NetstatCounter c);
std::optional<NetstatCounter> parse_counter(std::string_view name);
std::uint64_t counter_value(const NetstatCounters& counters, NetstatCounter c);

// Which queue of a listener a `listener:` condition watches.
enum class ListenerQueue { kSynQueue, kAcceptQueue };
// Which dead-peer evidence a `dead_peers:` condition counts.
enum class DeadPeerKind { kAny, kKeepalive, kRetransmit, kZeroWindow };

std::string_view listener_queue_name(ListenerQueue q);  // "syn_queue", "accept_queue"
std::optional<ListenerQueue> parse_listener_queue(std::string_view name);
std::string_view dead_peer_kind_name(DeadPeerKind k);  // "any", "keepalive", ...
std::optional<DeadPeerKind> parse_dead_peer_kind(std::string_view name);

// What a rule watches.
struct Metric {
    enum class Kind {
        kState,        // a state's socket count (namespace-wide)
        kIncrease,     // a TcpExt counter's rise since the previous poll
        kListener,     // the fullest listener's queue, % of its own backlog
        kDestination,  // the most occupied destination, % of the usable ephemeral ports
        kRate,         // a kernel counter per second
        kRatio,        // RetransSegs / OutSegs between polls, %
        kDeadPeers,    // sockets whose timers show an unanswering peer
    };
    Kind kind = Kind::kState;
    TcpState state = TcpState::kTimeWait;                       // kState
    NetstatCounter counter = NetstatCounter::kListenOverflows;  // kIncrease
    ListenerQueue queue = ListenerQueue::kSynQueue;             // kListener
    RateCounter rate = RateCounter::kListenOverflows;           // kRate
    DeadPeerKind dead = DeadPeerKind::kAny;                     // kDeadPeers
    // "time_wait", "increase(listen_overflows)", "listener.syn_queue",
    // "destination.ports", "rate(reqq_full_drop)", "ratio(retransmits)",
    // "dead_peers(any)": for reasons, status and metrics.
    std::string describe() const;
    // A metric measured per listener or destination: the rule fires on the worst
    // one and names it.
    bool per_subject() const { return kind == Kind::kListener || kind == Kind::kDestination; }
    // Its threshold is a percentage of something the metric itself knows (a
    // listener's backlog, the usable ports, the segments sent): no `of`.
    bool intrinsic_percent() const {
        return kind == Kind::kListener || kind == Kind::kDestination || kind == Kind::kRatio;
    }
    bool operator==(const Metric&) const = default;
};

// The profile key and value that name a metric: {"state", "time_wait"},
// {"listener", "syn_queue"}, {"rate", "reqq_full_drop"}, ...
std::pair<std::string, std::string> metric_key_value(const Metric& metric);

// A threshold is absolute (a count) or, when `of` names a sysctl, a percentage
// of that sysctl's live value ("80%" of net.ipv4.tcp_max_syn_backlog).
struct Threshold {
    double value = 0;
    bool percent = false;
    bool operator==(const Threshold&) const = default;
};

// 20000 -> "20000", 12.5 -> "12.5"; percentages get a "%" suffix.
std::string format_number(double value);
std::string format_threshold(const Threshold& t);

struct Trigger {
    Metric metric;
    Threshold above;
    std::string of;  // sysctl key when `above` is a percentage
    int polls = 1;   // `for`: consecutive polls above before the rule fires
    bool operator==(const Trigger&) const = default;
};

struct ClearCondition {
    Threshold below;  // same unit as the trigger's `above`
    int polls = 1;    // `for`: consecutive polls below before the rule clears
    bool operator==(const ClearCondition&) const = default;
};

struct SysctlSetting {
    std::string key;
    std::string value;  // normalized and validated against the registry
    SourceLocation where;
    bool operator==(const SysctlSetting&) const = default;
};

// Effect verification of a rule that changes sysctls: after `within` polls the
// signal must have improved, else the change is reverted as "did not help".
struct Verification {
    std::optional<Metric> metric;  // default: the rule's `when` metric
    int within = 0;                // polls; 0: the profile's verify_within
    bool enabled = true;           // `verify: false` turns it off for this rule
    bool operator==(const Verification&) const = default;
};

inline constexpr int kDefaultVerifyWithin = 3;

struct Rule {
    std::string name;
    Trigger when;
    ClearCondition clear;
    Verification verify;
    std::chrono::milliseconds cooldown{0};
    std::vector<SysctlSetting> apply;  // empty: an observe-only rule
    bool revert = false;
    std::string why;
    std::string defined_in;  // profile name that defined it (after inheritance)
    SourceLocation where;
    bool operator==(const Rule&) const = default;
};

inline constexpr std::chrono::milliseconds kDefaultInterval{5000};

struct Profile {
    std::string name;
    std::string description;
    std::string extends;  // empty: no parent
    std::optional<std::chrono::milliseconds> interval;
    std::optional<int> verify_within;    // polls; default kDefaultVerifyWithin
    std::vector<SysctlSetting> sysctls;  // baseline, applied on activation
    std::vector<Rule> rules;
    std::string source;  // file path or label it was parsed from
    SourceLocation name_where;
    SourceLocation extends_where;
    bool operator==(const Profile&) const = default;
};

// A profile with its inheritance chain merged: every field final.
struct ResolvedProfile {
    std::string name;
    std::string description;
    std::chrono::milliseconds interval = kDefaultInterval;
    int verify_within = kDefaultVerifyWithin;
    std::vector<SysctlSetting> sysctls;
    std::vector<Rule> rules;
    std::vector<std::string> lineage;  // this profile first, then its parents
    std::vector<std::string> sources;  // file of each lineage entry
    const Rule* find_rule(std::string_view rule_name) const;
    // The keys the profile may write, each once, in the order it names them: the
    // baseline `sysctls`, then every rule's `apply`. (The `of` keys of percentage
    // thresholds are only read.)
    std::vector<std::string> writable_keys() const;
    bool operator==(const ResolvedProfile&) const = default;
};

template <typename T>
using ProfileResult = tl::expected<T, ProfileDiagnostics>;

}  // namespace tcptune
