#include "dbus_arguments.hpp"

#include "tcptune/diagnosis/diagnosis.hpp"
#include "tcptune/profile/profile_resolver.hpp"

namespace tcptune::daemon {

std::string quoted_argument(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string out = "'";
    out += text.substr(0, kMax);
    if (text.size() > kMax) {
        out += "...";
    }
    return out + "'";
}

Result<TopArguments> parse_top_arguments(std::string_view state, std::string_view by,
                                         std::uint32_t limit) {
    TopArguments out;
    const std::string_view state_text = state.empty() ? "time_wait" : state;
    const auto parsed = parse_state(state_text);
    if (!parsed) {
        return make_error(ErrorCode::kParse, "unknown TCP state " + quoted_argument(state_text));
    }
    out.state = *parsed;
    if (limit > kMaxTopLimit) {
        return make_error(ErrorCode::kParse, "limit " + std::to_string(limit) +
                                                 " is out of range (0 = 10, at most " +
                                                 std::to_string(kMaxTopLimit) + ")");
    }
    out.rows = limit == 0 ? 10 : limit;
    if (!by.empty()) {
        const auto view = parse_top_view(by);
        if (!view) {
            return make_error(ErrorCode::kParse, "unknown view " + quoted_argument(by) +
                                                     " (port, peer, endpoint, prefix or process)");
        }
        out.view = *view;
    }
    out.by_process = out.view == TopView::kProcess;
    return out;
}

Result<void> check_profile_name(std::string_view name) {
    if (name.size() > 255) {
        return make_error(ErrorCode::kParse, "a profile name has at most 255 bytes");
    }
    if (looks_like_profile_path(name)) {
        return make_error(ErrorCode::kParse,
                          "takes a profile name, not a path (" + quoted_argument(name) +
                              "); use `tcptune profile show FILE` to read a file yourself");
    }
    for (const char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return make_error(ErrorCode::kParse, "a profile name has no control characters");
        }
    }
    return {};
}

Result<void> check_netns_argument(std::string_view netns) {
    if (netns.empty()) {
        return make_error(ErrorCode::kParse,
                          "name a network namespace (see ListNamespaces; \"host\" is the "
                          "daemon's own)");
    }
    if (netns.size() > 255) {
        return make_error(ErrorCode::kParse, "a namespace name has at most 255 bytes");
    }
    if (netns == "all") {
        return make_error(ErrorCode::kParse, "takes one namespace, not 'all'");
    }
    if (netns.find('/') != std::string_view::npos) {
        return make_error(ErrorCode::kParse, "takes a namespace name, inode or pid, not a path (" +
                                                 quoted_argument(netns) + ")");
    }
    for (const char c : netns) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return make_error(ErrorCode::kParse, "a namespace name has no control characters");
        }
    }
    return {};
}

}  // namespace tcptune::daemon
