#include "tcptune/census/census_engine.hpp"

#include "tcptune/enum_names.hpp"

namespace tcptune {

namespace {

constexpr EnumNames<CensusEngineChoice, 3> kChoiceNames = {{
    {CensusEngineChoice::kAuto, "auto"},
    {CensusEngineChoice::kBpf, "bpf"},
    {CensusEngineChoice::kNetlink, "netlink"},
}};
static_assert(lists_every_value(kChoiceNames));

constexpr EnumNames<CensusEngineKind, 2> kKindNames = {{
    {CensusEngineKind::kNetlink, "netlink"},
    {CensusEngineKind::kBpf, "bpf"},
}};
static_assert(lists_every_value(kKindNames));

}  // namespace

std::string_view to_string(CensusEngineChoice choice) {
    return name_of(kChoiceNames, choice);
}

std::string_view to_string(CensusEngineKind kind) {
    return name_of(kKindNames, kind);
}

Result<CensusEngineChoice> parse_census_engine(std::string_view text) {
    return parse_enum(kChoiceNames, text, "census engine");
}

}  // namespace tcptune
