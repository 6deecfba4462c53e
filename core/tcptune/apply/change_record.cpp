#include "tcptune/apply/change_record.hpp"

#include <algorithm>
#include <cctype>

namespace tcptune {

std::string_view to_string(ChangeResult result) {
    return name_of(kChangeResultNames, result);
}

std::optional<ChangeResult> parse_change_result(std::string_view name) {
    return value_of(kChangeResultNames, name);
}

std::string sysctl_replay_command(std::string_view key, std::string_view value) {
    const bool needs_quotes = std::any_of(value.begin(), value.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
    });
    std::string line = "sysctl -w ";
    line.append(key);
    line += '=';
    if (needs_quotes) {
        // Values are normalized integers separated by single spaces; a double
        // quote is all a shell needs.
        line += '"';
        line.append(value);
        line += '"';
    } else {
        line.append(value);
    }
    return line;
}

std::string describe(const ChangeRecord& record) {
    std::string line(to_string(record.result));
    line += ' ';
    line += record.key;
    line += ' ';
    line += record.old_value.empty() ? "?" : record.old_value;
    line += " -> ";
    line += record.new_value.empty() ? "?" : record.new_value;
    if (!record.profile.empty() || !record.rule.empty()) {
        line += " (";
        if (!record.profile.empty()) {
            line += "profile " + record.profile;
        }
        if (!record.rule.empty()) {
            line += record.profile.empty() ? "rule " : ", rule ";
            line += record.rule;
        }
        line += ')';
    }
    if (!record.detail.empty()) {
        line += ": " + record.detail;
    }
    return line;
}

}  // namespace tcptune
