#include "tcptune/profile/profile_loader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/duration.hpp"
#include "tcptune/profile/profile_suggest.hpp"
#include "tcptune/read_file.hpp"

namespace tcptune {

namespace {

constexpr std::array<std::string_view, 7> kProfileKeys = {
    "name", "description", "extends", "interval", "verify_within", "sysctls", "rules"};
constexpr std::array<std::string_view, 8> kRuleKeys = {"name",  "when",   "clear",  "cooldown",
                                                       "apply", "revert", "verify", "why"};
// The metric keys: a condition names exactly one.
constexpr std::array<std::string_view, 7> kMetricKeys = {
    "state", "increase", "listener", "destination", "rate", "ratio", "dead_peers"};
constexpr std::array<std::string_view, 10> kWhenKeys = {
    "state", "increase",   "listener", "destination", "rate",
    "ratio", "dead_peers", "above",    "of",          "for"};
constexpr std::array<std::string_view, 8> kVerifyKeys = {
    "state", "increase", "listener", "destination", "rate", "ratio", "dead_peers", "within"};
constexpr std::array<std::string_view, 2> kClearKeys = {"below", "for"};

// Limits that keep a profile meaningful rather than merely parseable.
constexpr std::chrono::milliseconds kMinInterval{100};
constexpr std::chrono::milliseconds kMaxInterval{3600 * 1000};
constexpr std::chrono::milliseconds kMaxCooldown{24 * 3600 * 1000};
constexpr int kMaxPolls = 1000;
constexpr double kMaxPercent = 1000;
constexpr std::size_t kMaxNameLength = 64;

// "a, b, c": the names of `values` for a diagnostic's "valid:" list.
template <typename Values, typename NameOf>
std::string comma_list(const Values& values, NameOf name_of) {
    std::string out;
    bool first = true;
    for (const auto& value : values) {
        out += (first ? "" : ", ") + std::string(name_of(value));
        first = false;
    }
    return out;
}

std::string quoted_list(std::span<const std::string_view> words) {
    return comma_list(words, [](std::string_view word) { return word; });
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) {
        return false;
    }
    auto is_lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!is_lower_alnum(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [&](char c) {
        return is_lower_alnum(c) || c == '-' || c == '_' || c == '.';
    });
}

// Checks what yaml-cpp does not: that the text is UTF-8 (YAML requires Unicode,
// and profile text ends up in JSON and D-Bus strings, which require it too),
// and that nesting is shallow, because yaml-cpp 0.7 parses nested collections
// recursively and a deep enough document overflows the stack. Real profiles
// nest four levels deep. Returns the 1-based line/column of the problem.
constexpr std::size_t kMaxProfileBytes = kMaxProfileFileBytes;
constexpr int kMaxNesting = 32;
constexpr std::size_t kMaxDiagnosticsKept = 1000;

// A word quoted from the file, cut short: messages name the offending key,
// they do not reproduce whatever text a file holds.
std::string abbreviated(const std::string& word) {
    constexpr std::size_t kMax = 40;
    if (word.size() <= kMax) {
        return word;
    }
    std::size_t cut = kMax;  // never inside a UTF-8 character
    while (cut > 0 && (static_cast<unsigned char>(word[cut]) & 0xC0u) == 0x80u) {
        --cut;
    }
    return word.substr(0, cut) + "...";
}

struct TextProblem {
    int line = 1;
    int column = 1;
    std::string message;
};

// The length of the UTF-8 character starting at text[i] (a byte >= 0x80), or 0
// when it is not valid UTF-8: a bad lead or continuation byte, a truncated,
// overlong or surrogate form, or a code point above U+10FFFF.
std::size_t utf8_length_at(std::string_view text, std::size_t i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (byte >= 0xC2 && byte <= 0xDF) {
        length = 2;
        cp = byte & 0x1Fu;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
        length = 3;
        cp = byte & 0x0Fu;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
        length = 4;
        cp = byte & 0x07u;
    } else {
        return 0;
    }
    if (i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xC0u) != 0x80u) {
            return 0;
        }
        cp = (cp << 6) | (next & 0x3Fu);
    }
    if ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (length == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return length;
}

bool is_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t length = utf8_length_at(text, i);
        if (length == 0) {
            return false;
        }
        i += length;
    }
    return true;
}

std::optional<TextProblem> check_text(std::string_view text) {
    if (text.size() > kMaxProfileBytes) {
        return TextProblem{
            1, 1, "profile is larger than " + std::to_string(kMaxProfileBytes / 1024) + " KiB"};
    }
    int line = 1;
    int column = 1;
    int flow_depth = 0;
    int line_dashes = 0;     // "- - - x" nests sequences on one line
    bool line_start = true;  // only indentation and dashes seen so far on this line
    char quote = 0;          // inside '...' or "..."
    bool comment = false;
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = 1;
        if (byte >= 0x80) {
            length = utf8_length_at(text, i);
            if (length == 0) {
                return TextProblem{line, column, "not valid UTF-8 (profiles must be UTF-8 text)"};
            }
            line_start = false;
        } else if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7F) {
            // YAML streams hold printable characters only; yaml-cpp turns a NUL into
            // bytes that are not UTF-8, which JSON and D-Bus strings then refuse.
            return TextProblem{line, column,
                               fmt::format("control character 0x{:02X} (YAML allows only tab, "
                                           "line feed and carriage return)",
                                           byte)};
        } else if (byte == '\n') {
            ++line;
            column = 0;
            line_dashes = 0;
            line_start = true;
            comment = false;
            if (quote == '\'') {
                quote = 0;  // keep the estimate local to a line for single quotes
            }
        } else if (comment) {
            // ignore
        } else if (quote != 0) {
            if (byte == static_cast<unsigned char>(quote)) {
                quote = 0;
            } else if (byte == '\\' && quote == '"' && i + 1 < text.size() && text[i + 1] >= 0x20 &&
                       text[i + 1] <= 0x7E) {
                // Skip the escaped character: printable ASCII only, so a byte
                // that is not UTF-8 or a control character is still checked.
                ++i;
                ++column;
            }
        } else if (byte == '#') {
            comment = true;
        } else if (byte == '"' || byte == '\'') {
            quote = static_cast<char>(byte);
            line_start = false;
        } else if (byte == '[' || byte == '{') {
            if (++flow_depth > kMaxNesting) {
                return TextProblem{line, column,
                                   "nested deeper than " + std::to_string(kMaxNesting) + " levels"};
            }
            line_start = false;
        } else if (byte == ']' || byte == '}') {
            flow_depth = std::max(0, flow_depth - 1);
            line_start = false;
        } else if (byte == '-' && line_start) {
            if (++line_dashes > kMaxNesting) {
                return TextProblem{line, column,
                                   "nested deeper than " + std::to_string(kMaxNesting) + " levels"};
            }
        } else if (byte != ' ' && byte != '\t') {
            line_start = false;
        } else if (line_start && column > 4 * kMaxNesting) {
            return TextProblem{
                line, column,
                "indented deeper than " + std::to_string(4 * kMaxNesting) + " columns"};
        }
        i += length;
        ++column;
    }
    return std::nullopt;
}

// Walks one YAML document and collects every problem it finds.
class ProfileParser {
  public:
    explicit ProfileParser(std::string_view source) : source_(source) {}

    ProfileResult<Profile> parse(std::string_view text) {
        if (auto problem = check_text(text)) {
            add(SourceLocation{source_, problem->line, problem->column}, problem->message);
            return tl::unexpected(take_diagnostics());
        }
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text));
        } catch (const YAML::Exception& e) {
            add(at_mark(e.mark), "YAML syntax error: " + e.msg);
            return tl::unexpected(take_diagnostics());
        }
        Profile profile;
        profile.source = source_;
        if (!root.IsMap()) {
            add(root.IsDefined() && !root.IsNull() ? at(root) : SourceLocation{source_, 1, 1},
                "a profile must be a YAML mapping with at least `name:` and `description:`");
            return tl::unexpected(take_diagnostics());
        }
        parse_top(root, profile);
        if (!diags_.empty()) {
            return tl::unexpected(take_diagnostics());
        }
        return profile;
    }

  private:
    SourceLocation at_mark(const YAML::Mark& mark) const {
        if (mark.is_null()) {
            return SourceLocation{source_, 0, 0};
        }
        return SourceLocation{source_, mark.line + 1, mark.column + 1};
    }
    SourceLocation at(const YAML::Node& node) const { return at_mark(node.Mark()); }
    void add(SourceLocation where, std::string message) {
        // Kept in memory up to a hard bound; a file of 100k aliases of one bad
        // rule must not become 100k messages.
        if (diags_.size() < kMaxDiagnosticsKept) {
            diags_.push_back(ProfileDiagnostic{std::move(where), std::move(message)});
        } else {
            ++dropped_;
        }
    }

    std::size_t problems() const { return diags_.size() + dropped_; }

    // In file order, at most kMaxDiagnosticsPerFile, then one line saying how
    // many more there are.
    ProfileDiagnostics take_diagnostics() {
        std::stable_sort(diags_.begin(), diags_.end(), [](const auto& a, const auto& b) {
            return std::pair(a.where.line, a.where.column) <
                   std::pair(b.where.line, b.where.column);
        });
        std::size_t more = dropped_;
        if (diags_.size() > kMaxDiagnosticsPerFile) {
            more += diags_.size() - kMaxDiagnosticsPerFile;
            diags_.resize(kMaxDiagnosticsPerFile);
        }
        if (more > 0) {
            diags_.push_back(ProfileDiagnostic{
                SourceLocation{source_, 0, 0},
                "... and " + std::to_string(more) + " more problems (fix these first)"});
        }
        dropped_ = 0;
        return std::move(diags_);
    }

    // A rule's `when`, `clear` or `verify` must be a mapping (checked before its keys);
    // where it is not, says "<label>: <section> must be <expected>".
    bool is_section_mapping(const YAML::Node& node, const std::string& label,
                            std::string_view section, std::string_view expected) {
        if (node.IsMap()) {
            return true;
        }
        add(at(node), fmt::format("{}: {} must be {}", label, section, expected));
        return false;
    }

    // Checks a mapping's keys: known, unique, scalar. Returns key -> (key node, value node).
    std::map<std::string, std::pair<YAML::Node, YAML::Node>> keys_of(
        const YAML::Node& map, std::span<const std::string_view> allowed, std::string_view what) {
        std::map<std::string, std::pair<YAML::Node, YAML::Node>> out;
        hinted_.clear();
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar()) {
                add(at(key), "keys in " + std::string(what) +
                                 " must be plain words; valid: " + quoted_list(allowed));
                continue;
            }
            const std::string& word = key.Scalar();
            if (!is_utf8(word)) {
                add(at(key), "a key in " + std::string(what) + " is not valid UTF-8");
                continue;
            }
            if (std::find(allowed.begin(), allowed.end(), word) == allowed.end()) {
                std::string message =
                    "unknown key '" + abbreviated(word) + "' in " + std::string(what);
                const std::string hint = closest_match(word, allowed);
                if (!hint.empty()) {
                    message += " (did you mean '" + hint + "'?)";
                    hinted_.insert(hint);
                }
                add(at(key), message + "; valid: " + quoted_list(allowed));
                continue;
            }
            if (out.contains(word)) {
                add(at(key), "duplicate key '" + word + "' in " + std::string(what) +
                                 "; each key may appear once");
                continue;
            }
            out.emplace(word, std::pair(key, it->second));
        }
        return out;
    }

    std::optional<std::string> scalar(const YAML::Node& node, std::string_view what) {
        if (!node.IsScalar()) {
            add(at(node), std::string(what) + " must be a single value, not " +
                              (node.IsMap()        ? "a mapping"
                               : node.IsSequence() ? "a list"
                                                   : "empty"));
            return std::nullopt;
        }
        // yaml-cpp 0.7 decodes the escapes \N and \_ (U+0085, U+00A0) into single
        // bytes that are not UTF-8; such text would break JSON and D-Bus strings.
        if (!is_utf8(node.Scalar())) {
            add(at(node), std::string(what) +
                              " is not valid UTF-8 once its escapes are decoded (write "
                              "the character itself instead of \\N or \\_)");
            return std::nullopt;
        }
        return node.Scalar();
    }

    std::optional<std::string> text(const YAML::Node& node, std::string_view what) {
        auto s = scalar(node, what);
        if (s && s->empty()) {
            add(at(node), std::string(what) + " must not be empty");
            return std::nullopt;
        }
        return s;
    }

    std::optional<std::string> name(const YAML::Node& node, std::string_view what) {
        auto s = text(node, what);
        if (s && !valid_name(*s)) {
            add(at(node), "invalid " + std::string(what) + " '" + *s +
                              "': use 1-64 lower-case letters, digits, '-', '_' or '.', "
                              "starting with a letter or digit");
            return std::nullopt;
        }
        return s;
    }

    std::optional<std::chrono::milliseconds> duration(const YAML::Node& node, std::string_view what,
                                                      std::chrono::milliseconds min,
                                                      std::chrono::milliseconds max) {
        auto s = scalar(node, what);
        if (!s) {
            return std::nullopt;
        }
        auto d = parse_duration(*s);
        if (!d) {
            add(at(node), std::string(what) + ": " + d.error().message);
            return std::nullopt;
        }
        if (*d < min || *d > max) {
            add(at(node), std::string(what) + " " + *s + " is out of range; valid: " +
                              format_duration(min) + " to " + format_duration(max));
            return std::nullopt;
        }
        return *d;
    }

    std::optional<int> polls(const YAML::Node& node, std::string_view what) {
        auto s = scalar(node, what);
        if (!s) {
            return std::nullopt;
        }
        int n = 0;
        const char* end = s->data() + s->size();
        auto [ptr, ec] = std::from_chars(s->data(), end, n);
        if (s->empty() || ec != std::errc{} || ptr != end || n < 1 || n > kMaxPolls) {
            add(at(node), std::string(what) + " must be a whole number of consecutive polls, 1.." +
                              std::to_string(kMaxPolls) + ", got '" + *s + "'");
            return std::nullopt;
        }
        return n;
    }

    std::optional<bool> boolean(const YAML::Node& node, std::string_view what) {
        auto s = scalar(node, what);
        if (!s) {
            return std::nullopt;
        }
        if (*s == "true") {
            return true;
        }
        if (*s == "false") {
            return false;
        }
        add(at(node), std::string(what) + " must be true or false, got '" + *s + "'");
        return std::nullopt;
    }

    // "20000", "1.5" or "80%".
    std::optional<Threshold> threshold(const YAML::Node& node, std::string_view what) {
        auto s = scalar(node, what);
        if (!s) {
            return std::nullopt;
        }
        Threshold t;
        std::string_view number = *s;
        if (!number.empty() && number.back() == '%') {
            t.percent = true;
            number.remove_suffix(1);
        }
        const char* end = number.data() + number.size();
        auto [ptr, ec] = std::from_chars(number.data(), end, t.value);
        if (number.empty() || ec != std::errc{} || ptr != end || !std::isfinite(t.value)) {
            add(at(node), std::string(what) + " must be a number (e.g. 20000) or a percentage " +
                              "(e.g. 80%), got '" + *s + "'");
            return std::nullopt;
        }
        if (t.value < 0) {
            add(at(node), std::string(what) + " must not be negative, got '" + *s +
                              "'; socket counts and increases start at 0");
            return std::nullopt;
        }
        if (t.percent && t.value > kMaxPercent) {
            add(at(node), std::string(what) + " " + *s + " is out of range; valid: 0% to " +
                              format_number(kMaxPercent) + "%");
            return std::nullopt;
        }
        return t;
    }

    // A map of sysctl key -> value, each validated against the registry.
    std::vector<SysctlSetting> sysctl_map(const YAML::Node& node, std::string_view what) {
        std::vector<SysctlSetting> out;
        if (node.IsNull()) {
            return out;
        }
        if (!node.IsMap()) {
            add(at(node), std::string(what) +
                              " must be a mapping of sysctl keys to values, e.g. "
                              "`net.ipv4.tcp_fin_timeout: 30`");
            return out;
        }
        std::set<std::string> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            auto k = text(key, "a sysctl key");
            if (!k) {
                continue;
            }
            if (!seen.insert(*k).second) {
                add(at(key), "duplicate sysctl '" + *k + "' in " + std::string(what) +
                                 "; each key may appear once");
                continue;
            }
            const SysctlSpec* spec = find_sysctl(*k);
            if (spec == nullptr || spec->removed()) {
                // validate_sysctl_value words unknown and removed keys (with hints).
                add(at(key), validate_sysctl_value(*k, "0").error().message);
                continue;
            }
            std::string raw;
            if (value.IsSequence()) {
                for (std::size_t i = 0; i < value.size(); ++i) {
                    if (!value[i].IsScalar()) {
                        raw = "?";
                        break;
                    }
                    raw += (i == 0 ? "" : " ") + value[i].Scalar();
                }
            } else if (value.IsScalar()) {
                raw = value.Scalar();
            } else {
                add(at(value.IsDefined() && !value.IsNull() ? value : key),
                    "missing value for " + *k + "; valid: " + spec->describe_valid_values());
                continue;
            }
            if (!is_utf8(raw)) {
                add(at(value), "the value for " + *k + " is not valid UTF-8");
                continue;
            }
            auto checked = validate_value_for(*spec, raw);
            if (!checked) {
                add(at(value), checked.error().message);
                continue;
            }
            out.push_back(SysctlSetting{*k, *checked, at(key)});
        }
        return out;
    }

    void parse_top(const YAML::Node& root, Profile& profile) {
        auto keys = keys_of(root, kProfileKeys, "the profile");
        const auto hints = hinted_;
        if (auto it = keys.find("name"); it != keys.end()) {
            profile.name_where = at(it->second.second);
            profile.name = name(it->second.second, "profile name").value_or("");
        } else if (missing(hints, "name")) {
            add(at(root), "missing required key 'name' (the profile's name, e.g. `name: web`)");
        }
        if (auto it = keys.find("description"); it != keys.end()) {
            profile.description = text(it->second.second, "description").value_or("");
        } else if (missing(hints, "description")) {
            add(at(root),
                "missing required key 'description' (one line saying what the "
                "profile is for)");
        }
        if (auto it = keys.find("extends"); it != keys.end()) {
            profile.extends_where = at(it->second.second);
            // `extends: <own name>` is the override pattern; the resolver finds
            // the next profile of that name down the search path.
            profile.extends = text(it->second.second, "extends").value_or("");
        }
        if (auto it = keys.find("interval"); it != keys.end()) {
            profile.interval = duration(it->second.second, "interval", kMinInterval, kMaxInterval);
        }
        if (auto it = keys.find("verify_within"); it != keys.end()) {
            profile.verify_within = polls(it->second.second, "verify_within");
        }
        if (auto it = keys.find("sysctls"); it != keys.end()) {
            profile.sysctls = sysctl_map(it->second.second, "sysctls");
        }
        if (auto it = keys.find("rules"); it != keys.end()) {
            parse_rules(it->second.second, profile);
        }
    }

    void parse_rules(const YAML::Node& node, Profile& profile) {
        if (node.IsNull()) {
            return;
        }
        if (!node.IsSequence()) {
            add(at(node), "rules must be a list of rules, each starting with `- name: ...`");
            return;
        }
        if (node.size() > kMaxRules) {
            add(at(node), "a profile may have at most " + std::to_string(kMaxRules) +
                              " rules, not " + std::to_string(node.size()));
            return;
        }
        std::map<std::string, SourceLocation> names;
        for (const YAML::Node& item : node) {
            if (!item.IsMap()) {
                add(at(item),
                    "each rule must be a mapping with name, when, why (and optionally "
                    "clear, cooldown, apply, revert)");
                continue;
            }
            auto [rule, ok] = parse_rule(item);
            rule.defined_in = profile.name;
            // Names are checked even for rules with other errors, so a duplicate
            // is reported in the same run.
            if (rule.name.empty()) {
                continue;
            }
            if (auto [it, inserted] = names.emplace(rule.name, rule.where); !inserted) {
                add(rule.where, "duplicate rule name '" + rule.name + "' (first defined at line " +
                                    std::to_string(it->second.line) +
                                    "); rule names must be unique within a profile");
                continue;
            }
            if (ok) {
                profile.rules.push_back(std::move(rule));
            }
        }
    }

    // The rule and whether it is free of errors.
    std::pair<Rule, bool> parse_rule(const YAML::Node& item) {
        const std::size_t errors_before = problems();
        auto keys = keys_of(item, kRuleKeys, "a rule");
        const auto hints = hinted_;
        Rule rule;
        rule.where = at(item);
        if (auto it = keys.find("name"); it != keys.end()) {
            rule.where = at(it->second.second);
            rule.name = name(it->second.second, "rule name").value_or("");
        } else if (missing(hints, "name")) {
            add(at(item), "rule without 'name'; every rule needs a unique name");
        }
        const std::string label = rule.name.empty() ? "rule" : "rule '" + rule.name + "'";
        bool when_ok = false;
        if (auto it = keys.find("when"); it != keys.end()) {
            const std::size_t before_when = problems();
            parse_when(it->second.second, rule, label);
            when_ok = problems() == before_when;
        } else if (missing(hints, "when")) {
            add(at(item), label +
                              " has no 'when'; e.g. `when: { state: time_wait, above: 20000, "
                              "for: 3 }`");
        }
        rule.clear.below = rule.when.above;
        rule.clear.polls = rule.when.polls;
        if (auto it = keys.find("clear"); it != keys.end()) {
            parse_clear(it->second.second, rule, label, when_ok);
        }
        if (auto it = keys.find("cooldown"); it != keys.end()) {
            rule.cooldown =
                duration(it->second.second, "cooldown", std::chrono::milliseconds(0), kMaxCooldown)
                    .value_or(std::chrono::milliseconds(0));
        }
        if (auto it = keys.find("apply"); it != keys.end()) {
            rule.apply = sysctl_map(it->second.second, label + " apply");
            // `apply:` with nothing under it (or only a comment) would pass here
            // and silently turn revert/verify into settings about nothing.
            if (const YAML::Node& value = it->second.second;
                value.IsNull() || (value.IsMap() && value.size() == 0)) {
                add(at(it->second.first),
                    label + " has an empty `apply`; list the sysctls to set, or remove it");
            }
        }
        if (auto it = keys.find("revert"); it != keys.end()) {
            rule.revert = boolean(it->second.second, "revert").value_or(false);
            if (rule.revert && keys.find("apply") == keys.end()) {
                add(at(it->second.first),
                    label + " has `revert: true` but no `apply`; there is nothing to revert");
            }
        }
        if (auto it = keys.find("verify"); it != keys.end()) {
            parse_verify(it->second.first, it->second.second, rule, label,
                         keys.find("apply") != keys.end());
        }
        if (auto it = keys.find("why"); it != keys.end()) {
            rule.why = text(it->second.second, "why").value_or("");
        } else if (missing(hints, "why")) {
            add(at(item), label + " has no 'why'; say in one sentence why the change helps");
        }
        // Within one profile a key is driven by one rule, so revert has one meaning.
        for (const SysctlSetting& s : rule.apply) {
            if (auto [it, inserted] = applied_keys_.emplace(s.key, rule.name); !inserted) {
                add(s.where, "rules '" + it->second + "' and '" + rule.name + "' both apply " +
                                 s.key + "; a key may be driven by one rule only (merge them)");
            }
        }
        const bool ok = problems() == errors_before;
        return {std::move(rule), ok};
    }

    // The one metric key of a condition (`when` or `verify`). Reports none, or more
    // than one, when `required`.
    std::optional<Metric> metric_of(std::map<std::string, std::pair<YAML::Node, YAML::Node>>& keys,
                                    const YAML::Node& node, const std::string& label,
                                    const std::set<std::string>& hints, bool required) {
        std::vector<std::string_view> present;
        for (std::string_view k : kMetricKeys) {
            if (keys.contains(std::string(k))) {
                present.push_back(k);
            }
        }
        if (present.size() > 1 || (present.empty() && required)) {
            bool hinted = false;
            for (std::string_view k : kMetricKeys) {
                hinted = hinted || !missing(hints, std::string(k));
            }
            if (!hinted) {
                add(at(node), label +
                                  ": a condition needs exactly one of `state: STATE`, "
                                  "`increase: COUNTER`, `listener: syn_queue|accept_queue`, "
                                  "`destination: ports`, `rate: COUNTER`, `ratio: retransmits` or "
                                  "`dead_peers: any|keepalive|retransmit|zero_window`");
            }
            return std::nullopt;
        }
        if (present.empty()) {
            return std::nullopt;
        }
        const std::string key(present.front());
        const YAML::Node& v = keys[key].second;
        auto word = scalar(v, key);
        if (!word) {
            return std::nullopt;
        }
        if (key == "state") {
            return word_metric(v, *word, parse_state(*word), Metric::Kind::kState, &Metric::state,
                               "state", comma_list(kAllTcpStates, state_name));
        }
        if (key == "increase") {
            return word_metric(v, *word, parse_counter(*word), Metric::Kind::kIncrease,
                               &Metric::counter, "counter",
                               comma_list(kAllNetstatCounters, counter_name));
        }
        if (key == "listener") {
            return word_metric(v, *word, parse_listener_queue(*word), Metric::Kind::kListener,
                               &Metric::queue, "listener queue", "syn_queue, accept_queue");
        }
        if (key == "destination") {
            return known_metric(v, *word, *word == "ports", Metric::Kind::kDestination,
                                "destination signal", "ports (ephemeral-port occupancy)");
        }
        if (key == "rate") {
            return word_metric(v, *word, parse_rate_counter(*word), Metric::Kind::kRate,
                               &Metric::rate, "counter",
                               comma_list(kAllRateCounters, rate_counter_name));
        }
        if (key == "ratio") {
            return known_metric(v, *word, *word == "retransmits", Metric::Kind::kRatio, "ratio",
                                "retransmits (RetransSegs / OutSegs)");
        }
        return word_metric(v, *word, parse_dead_peer_kind(*word), Metric::Kind::kDeadPeers,
                           &Metric::dead, "dead-peer evidence",
                           "any, keepalive, retransmit, zero_window");
    }

    // A metric of `kind` when the condition's word is `known`, otherwise a diagnostic
    // at `v`: "unknown WHAT 'WORD'; valid: VALID".
    std::optional<Metric> known_metric(const YAML::Node& v, const std::string& word, bool known,
                                       Metric::Kind kind, const std::string& what,
                                       const std::string& valid) {
        if (!known) {
            add(at(v), "unknown " + what + " '" + word + "'; valid: " + valid);
            return std::nullopt;
        }
        Metric m;
        m.kind = kind;
        return m;
    }

    // The same for a word its parse function turned into the value of `field`.
    template <typename T>
    std::optional<Metric> word_metric(const YAML::Node& v, const std::string& word,
                                      std::optional<T> parsed, Metric::Kind kind, T Metric::*field,
                                      const std::string& what, const std::string& valid) {
        auto m = known_metric(v, word, parsed.has_value(), kind, what, valid);
        if (m) {
            (*m).*field = *parsed;
        }
        return m;
    }

    void parse_when(const YAML::Node& node, Rule& rule, const std::string& label) {
        if (!is_section_mapping(node, label, "when",
                                "a mapping, e.g. `{ state: time_wait, above: 20000, for: 3 }`")) {
            return;
        }
        auto keys = keys_of(node, kWhenKeys, "when");
        const auto hints = hinted_;
        const auto metric = metric_of(keys, node, label, hints, true);
        if (metric) {
            rule.when.metric = *metric;
        }
        std::optional<Threshold> above;
        if (auto it = keys.find("above"); it != keys.end()) {
            above = threshold(it->second.second, "above");
            if (above) {
                rule.when.above = *above;
            }
        } else if (missing(hints, "above")) {
            add(at(node), label +
                              ": when has no 'above' threshold (a count such as 20000, or a "
                              "percentage such as 80% with `of: SYSCTL`)");
        }
        // The unit of `above` depends on the metric: without a valid metric there
        // is nothing to check it against (one defect, one message).
        if (!metric) {
        } else if (metric->intrinsic_percent()) {
            check_intrinsic_percent(*metric, keys, above, label);
        } else if (metric->kind == Metric::Kind::kRate ||
                   metric->kind == Metric::Kind::kDeadPeers) {
            check_plain_number(*metric, keys, above, label);
        } else {
            parse_of(keys, above, label, rule);
        }
        if (auto it = keys.find("for"); it != keys.end()) {
            rule.when.polls = polls(it->second.second, "for").value_or(1);
        }
    }

    // listener / destination / ratio: a percentage of what the metric itself
    // knows, never `of`.
    void check_intrinsic_percent(const Metric& metric,
                                 std::map<std::string, std::pair<YAML::Node, YAML::Node>>& keys,
                                 const std::optional<Threshold>& above, const std::string& label) {
        const std::string what =
            metric.kind == Metric::Kind::kListener      ? "each listener's own backlog"
            : metric.kind == Metric::Kind::kDestination ? "the usable ephemeral ports"
                                                        : "the segments sent";
        if (auto it = keys.find("of"); it != keys.end()) {
            add(at(it->second.first), label + ": " + metric.describe() + " is a percentage of " +
                                          what + "; `of` does not apply");
        }
        if (above && !above->percent) {
            add(at(keys["above"].second), label + ": " + metric.describe() +
                                              " needs a percentage (of " + what +
                                              "), e.g. `above: 80%`");
        }
    }

    // rate / dead_peers: plain numbers (per second, sockets).
    void check_plain_number(const Metric& metric,
                            std::map<std::string, std::pair<YAML::Node, YAML::Node>>& keys,
                            const std::optional<Threshold>& above, const std::string& label) {
        if (auto it = keys.find("of"); it != keys.end()) {
            add(at(it->second.first),
                label + ": `of` does not apply to " + metric.describe() + "; write a plain number");
        }
        if (above && above->percent) {
            add(at(keys["above"].second),
                label + ": " + metric.describe() + " is " +
                    (metric.kind == Metric::Kind::kRate ? "a rate per second" : "a socket count") +
                    "; write a plain number, e.g. `above: 10`");
        }
    }

    void parse_of(std::map<std::string, std::pair<YAML::Node, YAML::Node>>& keys,
                  const std::optional<Threshold>& above, const std::string& label, Rule& rule) {
        if (auto it = keys.find("of"); it != keys.end()) {
            const YAML::Node& v = it->second.second;
            if (auto key = scalar(v, "of")) {
                const SysctlSpec* spec = find_sysctl(*key);
                if (spec == nullptr || spec->removed() ||
                    (spec->type != SysctlType::kInt && spec->type != SysctlType::kEnum)) {
                    std::string message =
                        "`of` must name a single-number sysctl from the "
                        "registry, got '" +
                        *key + "'";
                    const std::string hint = suggest_sysctl_key(*key);
                    if (!hint.empty() && hint != *key) {
                        message += " (did you mean " + hint + "?)";
                    }
                    add(at(v), message);
                } else {
                    rule.when.of = *key;
                }
            }
            if (above && !above->percent) {
                add(at(v), label +
                               ": `of` makes the threshold relative; write `above` as a "
                               "percentage, e.g. `above: 80%`");
            }
        } else if (above && above->percent) {
            add(at(keys["above"].second),
                label +
                    ": a percentage threshold needs `of: SYSCTL` naming what it is a "
                    "percentage of, e.g. `of: net.core.somaxconn`");
        }
    }

    // `verify: false`, or `verify: { within: N }` with optionally the metric the
    // change should improve (default: the rule's `when` metric).
    void parse_verify(const YAML::Node& key_node, const YAML::Node& node, Rule& rule,
                      const std::string& label, bool has_apply) {
        if (!has_apply) {
            add(at(key_node), label +
                                  " has `verify` but no `apply`; only a rule that changes "
                                  "sysctls has an effect to verify");
            return;
        }
        if (node.IsScalar()) {
            if (auto b = boolean(node, "verify")) {
                rule.verify.enabled = *b;
            }
            return;
        }
        if (!is_section_mapping(node, label, "verify",
                                "true, false or a mapping such as `{ within: 3 }` or "
                                "`{ rate: reqq_full_drop, within: 5 }`")) {
            return;
        }
        auto keys = keys_of(node, kVerifyKeys, "verify");
        const auto hints = hinted_;
        rule.verify.metric = metric_of(keys, node, label + " verify", hints, false);
        if (auto it = keys.find("within"); it != keys.end()) {
            rule.verify.within = polls(it->second.second, "within").value_or(0);
        }
    }

    // `when_ok`: compare with when.above only when it parsed, to avoid a cascade.
    void parse_clear(const YAML::Node& node, Rule& rule, const std::string& label, bool when_ok) {
        if (!is_section_mapping(node, label, "clear",
                                "a mapping, e.g. `{ below: 10000, for: 6 }`")) {
            return;
        }
        auto keys = keys_of(node, kClearKeys, "clear");
        if (auto it = keys.find("below"); it != keys.end()) {
            const YAML::Node& v = it->second.second;
            if (auto below = threshold(v, "below"); below && when_ok) {
                if (below->percent != rule.when.above.percent) {
                    add(at(v), label + ": clear.below must use the same unit as when.above (" +
                                   std::string(rule.when.above.percent ? "a percentage"
                                                                       : "a plain number") +
                                   ")");
                } else if (below->value >= rule.when.above.value) {
                    add(at(v), label + ": clear.below (" + format_threshold(*below) +
                                   ") must be below when.above (" +
                                   format_threshold(rule.when.above) +
                                   ") so the rule does not flap; e.g. half of it");
                } else {
                    rule.clear.below = *below;
                }
            }
        }
        if (auto it = keys.find("for"); it != keys.end()) {
            rule.clear.polls = polls(it->second.second, "for").value_or(1);
        }
    }

    // A required key is not reported missing when a typo of it was already
    // reported ("abov" -> "above"): one defect, one message.
    bool missing(const std::set<std::string>& hints, const std::string& key) const {
        return !hints.contains(key);
    }

    std::string source_;
    ProfileDiagnostics diags_;
    std::size_t dropped_ = 0;                          // diagnostics beyond kMaxDiagnosticsKept
    std::set<std::string> hinted_;                     // keys suggested by the latest keys_of()
    std::map<std::string, std::string> applied_keys_;  // sysctl -> rule applying it
};

}  // namespace

ProfileResult<Profile> parse_profile(std::string_view yaml_text, std::string_view source) {
    ProfileParser parser(source);
    return parser.parse(yaml_text);
}

ProfileResult<Profile> load_profile_file(const std::filesystem::path& path) {
    const std::string label = path.string();
    auto text = read_file_bounded(path, {.max_bytes = kMaxProfileFileBytes});
    if (!text) {
        return tl::unexpected(ProfileDiagnostics{ProfileDiagnostic{
            SourceLocation{label, 0, 0}, "cannot read profile file: " + text.error().message}});
    }
    auto profile = parse_profile(*text, label);
    if (profile && profile->name != path.stem().string()) {
        return tl::unexpected(ProfileDiagnostics{ProfileDiagnostic{
            profile->name_where, "profile name '" + profile->name +
                                     "' does not match its file name '" + path.filename().string() +
                                     "'; profiles are found by file name, so rename one of them"}});
    }
    return profile;
}

}  // namespace tcptune
