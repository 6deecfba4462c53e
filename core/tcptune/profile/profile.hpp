#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/census/tcp_state.hpp"

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

// Netstat (TcpExt) counters a rule can watch the per-poll increase of.
enum class NetstatCounter {
    kListenOverflows,
    kListenDrops,
    kSyncookiesSent,
    kSyncookiesRecv,
    kSyncookiesFailed,
    kTimewaitOverflows,
    kReqqFullDrop,
    kReqqFullDoCookies,
};

inline constexpr std::size_t kNetstatCounterCount = 8;
inline constexpr std::array<NetstatCounter, kNetstatCounterCount> kAllNetstatCounters = {
    NetstatCounter::kListenOverflows,  NetstatCounter::kListenDrops,
    NetstatCounter::kSyncookiesSent,   NetstatCounter::kSyncookiesRecv,
    NetstatCounter::kSyncookiesFailed, NetstatCounter::kTimewaitOverflows,
    NetstatCounter::kReqqFullDrop,     NetstatCounter::kReqqFullDoCookies,
};

// snake_case name used in profiles ("listen_overflows").
std::string_view counter_name(NetstatCounter c);
std::optional<NetstatCounter> parse_counter(std::string_view name);
std::uint64_t counter_value(const NetstatCounters& counters, NetstatCounter c);

// What a rule watches: a state's socket count, or a counter's increase per poll.
struct Metric {
    enum class Kind { kState, kIncrease };
    Kind kind = Kind::kState;
    TcpState state = TcpState::kTimeWait;                       // kState
    NetstatCounter counter = NetstatCounter::kListenOverflows;  // kIncrease
    // "time_wait" or "increase(listen_overflows)", for reasons and status.
    std::string describe() const;
    bool operator==(const Metric&) const = default;
};

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

struct Rule {
    std::string name;
    Trigger when;
    ClearCondition clear;
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
