// tcptune explain TOPIC: what a TCP state or a sysctl means, what moves it and
// the myths around it. The texts live in core (tcptune/explain.hpp).
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/diagnosis/explain.hpp"

namespace tcptune::cli {

namespace {

struct ExplainOptions {
    std::string topic;
    bool json = false;
};

int run_explain(const ExplainOptions& o) {
    if (o.topic.empty()) {
        std::cout << "Topics: states, sysctls, any TCP state or any sysctl key:\n";
        for (const std::string& t : explain_topics()) {
            std::cout << "  " << t << "\n";
        }
        return kExitOk;
    }
    // Texts follow the running kernel: its values and the keys it has.
    ProcSysctlStore store("/proc/sys");
    auto e = explain(o.topic, [&store](std::string_view key) -> std::optional<std::string> {
        auto value = store.read(key);
        return value ? std::optional<std::string>(*value) : std::nullopt;
    });
    if (!e) {
        std::cerr << "tcptune explain: no explanation for '" << o.topic
                  << "'; run `tcptune explain` for the list of topics\n";
        return kExitUsage;
    }
    return print_json_or_text(
        o.json, [&] { return explanation_to_json(*e); }, [&] { return format_explanation(*e); });
}

}  // namespace

void register_explain_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, options] =
        add_json_command<ExplainOptions>(app, ctx, verb_help::kExplain, run_explain);
    cmd->add_option("topic", options->topic,
                    "A state (time_wait), a sysctl (net.ipv4.tcp_tw_reuse or tcp_tw_reuse), "
                    "so_linger, tcp_user_timeout, tcp_retries1, 'states' or 'sysctls'; omit to "
                    "list topics");
}

}  // namespace tcptune::cli
