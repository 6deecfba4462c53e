// libFuzzer target for the D-Bus adaptor's argument handling: what any local
// user can send to GetTop, GetNamespaceTop and ShowProfile. Arbitrary strings and limits must
// never crash, and every answer must stay within its bounds: rows 1..1000, a
// known view, refusals that quote at most a short prefix of the input.
// Built only with -DTCPTUNE_FUZZ=ON and clang; run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "dbus_arguments.hpp"
#include "tcptune/diagnosis/diagnosis.hpp"

namespace {

// Input layout: 4 bytes of limit, then state, by and a profile name separated
// by NUL bytes (missing parts are empty).
std::string_view next_part(std::string_view& rest) {
    const auto end = rest.find('\0');
    const std::string_view part = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return part;
}

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint32_t limit = 0;
    if (size >= sizeof limit) {
        std::memcpy(&limit, data, sizeof limit);
        data += sizeof limit;
        size -= sizeof limit;
    }
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const std::string_view state = next_part(rest);
    const std::string_view by = next_part(rest);
    const std::string_view name = next_part(rest);

    // A reply or log line never carries more than a short prefix of the input.
    constexpr std::size_t kMaxMessage = 256;
    auto top = tcptune::daemon::parse_top_arguments(state, by, limit);
    if (top) {
        check(top->rows >= 1 && top->rows <= tcptune::kMaxTopLimit);
        check(tcptune::parse_top_view(tcptune::to_string(top->view)).value() == top->view);
        check(top->by_process == (top->view == tcptune::TopView::kProcess));
        check(limit <= tcptune::kMaxTopLimit);
    } else {
        check(top.error().code == tcptune::ErrorCode::kParse);
        check(top.error().message.size() <= kMaxMessage);
    }
    auto profile = tcptune::daemon::check_profile_name(name);
    if (!profile) {
        check(profile.error().message.size() <= kMaxMessage);
    } else {
        check(name.find('/') == std::string_view::npos && name.size() <= 255);
    }
    // GetNamespaceTop's netns: the profile-name part doubles as it.
    auto netns = tcptune::daemon::check_netns_argument(name);
    if (!netns) {
        check(netns.error().code == tcptune::ErrorCode::kParse);
        check(netns.error().message.size() <= kMaxMessage);
    } else {
        check(!name.empty() && name.size() <= 255 && name != "all" &&
              name.find('/') == std::string_view::npos);
    }
    check(tcptune::daemon::quoted_argument(rest).size() <= 64 + 5);
    return 0;
}
