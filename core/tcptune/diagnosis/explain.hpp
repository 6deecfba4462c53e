#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tcptune {

// What `tcptune explain TOPIC` prints, kept in core so the daemon (status
// hints, D-Bus) and the documentation reuse the same words.
struct Explanation {
    enum class Kind { kState, kSysctl, kTopic, kIndex };
    Kind kind = Kind::kState;
    std::string topic;               // canonical: "time_wait", "net.ipv4.tcp_tw_reuse", "sysctls"
    std::string title;               // one line
    std::string meaning;             // what it is
    std::string moved_by;            // what makes the number go up or down / what the value changes
    std::vector<std::string> myths;  // common beliefs that are wrong, each with the fact
    std::vector<std::string> related;  // other topics worth reading
    // Sysctls only (from the registry): valid values, kernel default, removal.
    std::string valid_values;
    std::string kernel_default;
    std::string removed;  // "removed in Linux 4.12: ..." when the key no longer exists
    std::string scope;    // "netns" | "global"
    std::string history;  // versions where its meaning or default changed
    // What the running kernel's values and features change, when a reader was given.
    std::vector<std::string> this_kernel;
};

// A sysctl's live value by key ("net.ipv4.tcp_syncookies"); nullopt when absent.
using SysctlReader = std::function<std::optional<std::string>(std::string_view key)>;

// Accepts a state ("time_wait", "TIME-WAIT"), a sysctl key, the key without its
// "net.ipv4." / "net.core." prefix ("tcp_tw_reuse"), another topic ("so_linger",
// "tcp_user_timeout", "tcp_retries1"), or "states" / "sysctls". With `live`, the
// explanation adds what the running kernel's values and features change (SYN
// timing with tcp_syn_linear_timeouts, tcp_tw_reuse_delay, cookies on or off).
std::optional<Explanation> explain(std::string_view topic, const SysctlReader& live = {});

// Every canonical topic, for `explain` without arguments and shell completion.
std::vector<std::string> explain_topics();

// Human text (wrapped for an 80-column terminal) and JSON.
std::string format_explanation(const Explanation& e);
nlohmann::json explanation_to_json(const Explanation& e);

}  // namespace tcptune
