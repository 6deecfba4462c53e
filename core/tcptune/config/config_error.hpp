#pragma once

// Errors in tcptune.yaml name their place as an editor jumps to it:
// "SOURCE:LINE:COL: message" (1-based). One helper for every config section.

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "tcptune/result.hpp"

namespace tcptune {

inline std::string config_position(std::string_view source, const YAML::Mark& mark) {
    return std::string(source) + ":" + std::to_string(mark.line + 1) + ":" +
           std::to_string(mark.column + 1) + ": ";
}

inline tl::unexpected<Error> config_error(std::string_view source, const YAML::Node& node,
                                          const std::string& message) {
    return make_error(ErrorCode::kParse, config_position(source, node.Mark()) + message);
}

}  // namespace tcptune
