// The shipped Grafana dashboard (docs/grafana/tcptune-dashboard.json) asks only
// for what tcptuned really exports: every metric name in every query (panels and
// template variables) is a family on the /metrics page of a real tcptuned,
// scraped in the test's private network namespace. The list of families comes
// from the scrape, never from a hand-kept copy, so a renamed or dropped metric
// breaks this test instead of leaving an empty panel. The queries also have to
// be valid PromQL: promtool parses each one (with Grafana's variables filled in).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/applier_fakes.hpp"
#include "metrics_scrape.hpp"
#include "support/daemon_process.hpp"
#include "support/files.hpp"
#include "support/netns.hpp"
#include "support/run_command.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::filesystem::path kDashboard =
    std::filesystem::path(TCPTUNE_SOURCE_DIR) / "docs" / "grafana" / "tcptune-dashboard.json";

struct Query {
    std::string where;  // "panel 7 (Poll duration) target B", "variable netns"
    std::string expr;
};

// Every PromQL expression of the dashboard: panel targets (rows' nested panels too)
// and the queries of template variables.
std::vector<Query> dashboard_queries(const json& dashboard) {
    std::vector<Query> out;
    std::vector<const json*> panels;
    for (const auto& panel : dashboard.at("panels")) {
        panels.push_back(&panel);
        if (panel.contains("panels")) {
            for (const auto& nested : panel.at("panels")) {
                panels.push_back(&nested);
            }
        }
    }
    for (const json* panel : panels) {
        if (!panel->contains("targets")) {
            continue;
        }
        for (const auto& target : panel->at("targets")) {
            out.push_back({"panel " + std::to_string(panel->value("id", 0)) + " (" +
                               panel->value("title", "") + ") target " + target.value("refId", "?"),
                           target.at("expr").get<std::string>()});
        }
    }
    for (const auto& variable : dashboard.at("templating").at("list")) {
        if (variable.value("type", "") != "query") {
            continue;
        }
        const json& query = variable.at("query");
        out.push_back(
            {"variable " + variable.value("name", ""),
             query.is_string() ? query.get<std::string>() : query.at("query").get<std::string>()});
    }
    return out;
}

// Names in a query that look like tcptune series: whole PromQL identifiers
// (recording-rule names with ':' included, so a dashboard that needs the rules
// loaded shows up as a name the daemon does not export).
std::set<std::string> tcptune_names(const std::string& expr) {
    static const std::regex identifier(R"([A-Za-z_:][A-Za-z0-9_:]*)");
    std::set<std::string> out;
    for (std::sregex_iterator it(expr.begin(), expr.end(), identifier), end; it != end; ++it) {
        const std::string name = it->str();
        if (name.find("tcptune_") != std::string::npos) {
            out.insert(name);
        }
    }
    return out;
}

// "# TYPE name type" lines: the families the page declares, with their type.
std::map<std::string, std::string> scraped_families(const std::string& exposition) {
    std::map<std::string, std::string> out;
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string hash;
        std::string keyword;
        std::string name;
        std::string type;
        if (words >> hash >> keyword >> name >> type && hash == "#" && keyword == "TYPE") {
            out[name] = type;
        }
    }
    return out;
}

// A series name a family exports: the family itself, or a histogram's parts.
bool exported(const std::map<std::string, std::string>& families, const std::string& name) {
    if (families.count(name) != 0) {
        return true;
    }
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const auto family = families.find(name.substr(0, name.size() - suffix.size()));
            if (family != families.end() && family->second == "histogram") {
                return true;
            }
        }
    }
    return false;
}

// Grafana's variables replaced by what they expand to, so promtool can parse it.
std::string with_variables_filled(std::string expr) {
    const std::vector<std::pair<std::string, std::string>> values = {
        {"$__rate_interval", "1m"}, {"$__range", "3h"}, {"$instance", ".*"},
        {"$netns", ".*"},           {"$state", ".*"},   {"$key", ".*"}};
    for (const auto& [variable, value] : values) {
        for (auto at = expr.find(variable); at != std::string::npos; at = expr.find(variable)) {
            expr.replace(at, variable.size(), value);
        }
    }
    return expr;
}

json load_dashboard() {
    std::ifstream in(kDashboard);
    return json::parse(in);  // throws (and fails the test) when it is not JSON
}

TEST(GrafanaDashboardTest, EveryQueryNamesAMetricTheDaemonExports) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    const json dashboard = load_dashboard();
    const auto queries = dashboard_queries(dashboard);
    ASSERT_GE(queries.size(), 20U) << "the dashboard lost its panels";

    TempDir dir;
    const std::uint16_t port = free_loopback_port();
    ASSERT_NE(port, 0);
    DaemonProcess daemon(
        isolated_launch({.dir = dir.path(),
                         .profile_dir = std::filesystem::path(TCPTUNE_SOURCE_DIR) / "profiles",
                         .metrics = "127.0.0.1:" + std::to_string(port),
                         .extra = {"--advise", "--interval", "0.2"}}));
    ASSERT_TRUE(daemon.start().has_value());
    std::string page;
    ASSERT_TRUE(eventually(
        [&] {
            auto response = http_get("127.0.0.1", port, "/metrics", 5s);
            if (!response || response->status != 200 ||
                !series_value(response->body, R"(tcptune_tcp_sockets{state="listen"})")) {
                return false;
            }
            page = response->body;
            return true;
        },
        10s))
        << daemon.log();
    const auto families = scraped_families(page);
    ASSERT_GE(families.size(), 10U) << page;

    std::set<std::string> used;
    for (const auto& query : queries) {
        const auto names = tcptune_names(query.expr);
        EXPECT_FALSE(names.empty()) << query.where << " names no tcptune metric: " << query.expr;
        for (const auto& name : names) {
            used.insert(name);
            EXPECT_TRUE(exported(families, name))
                << query.where << " asks for " << name
                << ", which the daemon does not export: " << query.expr;
        }
    }
    // The panels the issue asks for are there.
    for (const std::string needed :
         {"tcptune_tcp_sockets", "tcptune_listener_accept_queue", "tcptune_listener_backlog",
          "tcptune_destination_port_usage_ratio", "tcptune_rule_active",
          "tcptune_sysctl_changes_total", "tcptune_poll_duration_seconds_bucket",
          "tcptune_census_engine"}) {
        EXPECT_EQ(used.count(needed), 1U) << "no panel shows " << needed;
    }
    daemon.stop();
}

// Each query parses as PromQL: promtool checks a rule file holding them all.
TEST(GrafanaDashboardTest, EveryQueryIsValidPromql) {
    const auto promtool = run_command("command -v promtool");
    if (promtool.exit_code != 0) {
        GTEST_SKIP() << "promtool is not installed (scripts/deps.sh installs prometheus)";
    }
    const auto queries = dashboard_queries(load_dashboard());
    TempDir dir;
    std::ostringstream rules;
    rules << "groups:\n  - name: dashboard\n    rules:\n";
    for (std::size_t i = 0; i < queries.size(); ++i) {
        // label_values() is Grafana's, not PromQL: its argument is the selector to check.
        std::string expr = with_variables_filled(queries[i].expr);
        static const std::regex label_values(R"(^label_values\((.*),\s*[a-z_]+\)$)");
        std::smatch match;
        if (std::regex_match(expr, match, label_values)) {
            expr = match[1].str();
        }
        rules << "      - record: dashboard:query" << i << "\n        expr: " << json(expr).dump()
              << "\n";
    }
    const auto file = dir.path() / "dashboard-queries.yml";
    ASSERT_TRUE(write_text(file, rules.str()));
    const auto check = run_process({"promtool", "check", "rules", file.string()});
    EXPECT_EQ(check.exit_code, 0) << describe(check) << "\n" << rules.str();
}

// What Grafana needs to import it: unique panel ids, a Prometheus datasource
// variable every panel uses, and the netns filter that matches series without the
// label too (tcptuned with namespaces.watch: host).
TEST(GrafanaDashboardTest, ImportsAndDegradesWithoutTheNetnsLabel) {
    const json dashboard = load_dashboard();
    EXPECT_FALSE(dashboard.value("uid", "").empty());
    std::set<int> ids;
    for (const auto& panel : dashboard.at("panels")) {
        EXPECT_TRUE(ids.insert(panel.at("id").get<int>()).second)
            << "duplicate panel id " << panel.at("id");
        if (panel.value("type", "") != "row") {
            EXPECT_EQ(panel.at("datasource").at("uid"), "${datasource}") << panel.at("title");
        }
    }
    bool netns_variable = false;
    for (const auto& variable : dashboard.at("templating").at("list")) {
        if (variable.value("name", "") == "netns") {
            netns_variable = true;
            // ".*" matches the empty value of an absent label; an "All" that Grafana
            // expands into a list of the values seen would not.
            EXPECT_EQ(variable.value("allValue", ""), ".*");
            EXPECT_TRUE(variable.value("includeAll", false));
        }
    }
    EXPECT_TRUE(netns_variable);
    for (const auto& query : dashboard_queries(dashboard)) {
        // An exact netns="..." matcher would hide everything of a daemon without the label.
        EXPECT_EQ(query.expr.find("netns=\""), std::string::npos) << query.where;
    }
}

}  // namespace
}  // namespace tcptune::test
