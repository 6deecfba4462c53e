// libFuzzer target for the journal parser: whoever can write the state
// directory controls these bytes. They must never crash, and an accepted
// journal must never widen the allowlist (every key is a registry key that
// still exists, every recorded value has its key's shape) and must survive a
// round trip through the writer unchanged.
// Built only with -DTCPTUNE_FUZZ=ON and clang; run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tcptune/apply/journal.hpp"
#include "tcptune/apply/sysctl_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = tcptune::parse_journal(text);
    if (!parsed) {
        if (parsed.error().code != tcptune::ErrorCode::kCorruptJournal) {
            std::abort();
        }
        return 0;
    }
    for (const auto& [key, entry] : *parsed) {
        const tcptune::SysctlSpec* spec = tcptune::find_sysctl(key);
        if (spec == nullptr || spec->removed() || !tcptune::parse_sysctl_integers(entry.original) ||
            !tcptune::parse_sysctl_integers(entry.last_written)) {
            std::fprintf(stderr, "journal accepted a key or value outside the allowlist: %s\n",
                         key.c_str());
            std::abort();
        }
    }
    auto again = tcptune::parse_journal(tcptune::serialize_journal(*parsed));
    if (!again || *again != *parsed) {
        std::fprintf(stderr, "journal round trip changed the entries\n");
        std::abort();
    }
    return 0;
}
