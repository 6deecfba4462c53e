#include "tcptune/apply/sysctl_export.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

using namespace std::chrono_literals;
const std::chrono::system_clock::time_point kT0{std::chrono::seconds(1'700'000'000)};

JournalEntry entry(std::string original, std::string last, std::string rule, std::string reason) {
    JournalEntry e;
    e.original = std::move(original);
    e.last_written = std::move(last);
    e.written_at = kT0;
    e.profile = "web";
    e.rule = std::move(rule);
    e.reason = std::move(reason);
    return e;
}

TEST(SysctlExport, OneCommentedSettingPerAppliedKey) {
    JournalEntries entries;
    entries["net.ipv4.tcp_fin_timeout"] =
        entry("60", "30", "fin-wait2", "fin_wait2 above 1000\nfor 60 s");
    entries["net.ipv4.ip_local_port_range"] = entry("32768 60999", "1024 65535", "", "baseline");
    const std::string text = render_sysctl_snippet(entries, kT0 + 60s);
    EXPECT_NE(text.find("at 2023-11-14T22:14:20Z"), std::string::npos) << text;
    EXPECT_NE(text.find("# net.ipv4.tcp_fin_timeout: profile web, rule fin-wait2 - "
                        "fin_wait2 above 1000 for 60 s\n"
                        "#   set 2023-11-14T22:13:20Z; value before tcptune: 60\n"
                        "net.ipv4.tcp_fin_timeout = 30\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("net.ipv4.ip_local_port_range = 1024 65535\n"), std::string::npos);
    // Every line is either a comment, blank, or a setting sysctl.d understands.
    std::size_t settings = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        EXPECT_NE(line.find(" = "), std::string::npos) << line;
        ++settings;
    }
    EXPECT_EQ(settings, 2u);
}

TEST(SysctlExport, OverriddenKeysAreNotExported) {
    JournalEntries entries;
    JournalEntry e = entry("2", "1", "tw", "why");
    e.overridden = true;
    e.overridden_at = kT0 + 10s;
    e.overridden_value = "0";
    entries["net.ipv4.tcp_tw_reuse"] = e;
    const std::string text = render_sysctl_snippet(entries, kT0);
    EXPECT_EQ(text.find("net.ipv4.tcp_tw_reuse ="), std::string::npos) << text;
    EXPECT_NE(text.find("# net.ipv4.tcp_tw_reuse: not exported, changed by someone else"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("nothing to make permanent"), std::string::npos);
}

TEST(SysctlExport, EmptyJournalSaysSo) {
    const std::string text = render_sysctl_snippet({}, kT0);
    EXPECT_NE(text.find("nothing to make permanent"), std::string::npos);
}

}  // namespace
}  // namespace tcptune
