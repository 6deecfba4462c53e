#include "tcptune/census/census_engine.hpp"

#include <string>

namespace tcptune {

std::string_view to_string(CensusEngineChoice choice) {
    switch (choice) {
        case CensusEngineChoice::kAuto:
            return "auto";
        case CensusEngineChoice::kBpf:
            return "bpf";
        case CensusEngineChoice::kNetlink:
            return "netlink";
    }
    return "unknown";
}

std::string_view to_string(CensusEngineKind kind) {
    return kind == CensusEngineKind::kBpf ? "bpf" : "netlink";
}

Result<CensusEngineChoice> parse_census_engine(std::string_view text) {
    for (auto choice :
         {CensusEngineChoice::kAuto, CensusEngineChoice::kBpf, CensusEngineChoice::kNetlink}) {
        if (text == to_string(choice)) {
            return choice;
        }
    }
    return make_error(ErrorCode::kParse, "unknown census engine \"" + std::string(text) +
                                             "\" (use auto, bpf or netlink)");
}

}  // namespace tcptune
