// libFuzzer target for the profile loader: arbitrary bytes must never crash,
// hang or leak, and every profile the loader accepts must survive a round trip
// through the writer (what `tcptune profile show` prints must load again).
// Built only with -DTCPTUNE_FUZZ=ON and clang; run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tcptune/profile/profile_loader.hpp"
#include "tcptune/profile/profile_resolver.hpp"
#include "tcptune/profile/profile_writer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = tcptune::parse_profile(text, "fuzz.yaml");
    if (!parsed) {
        for (const auto& d : parsed.error()) {
            (void)d.to_string();  // formatting must be safe for any diagnostic
        }
        return 0;
    }
    // `extends` is not followed here (no files); resolve the profile on its own.
    auto resolved = tcptune::merge_profiles({*parsed});
    if (!resolved) {
        return 0;
    }
    const std::string printed = tcptune::profile_to_yaml(*resolved);
    auto reparsed = tcptune::parse_profile(printed, "printed.yaml");
    if (!reparsed || reparsed->rules.size() != resolved->rules.size() ||
        reparsed->sysctls.size() != resolved->sysctls.size()) {
        std::fprintf(stderr, "round trip failed for printed profile:\n%s\n", printed.c_str());
        if (!reparsed) {
            std::fprintf(stderr, "%s\n", tcptune::to_error(reparsed.error()).message.c_str());
        }
        std::abort();
    }
    (void)tcptune::profile_to_json(*resolved).dump();
    return 0;
}
