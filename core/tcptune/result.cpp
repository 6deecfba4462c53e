#include "tcptune/result.hpp"

#include <string.h>

#include <system_error>

namespace tcptune {

std::string errno_text(int err) {
    std::string text = std::generic_category().message(err);
    text += " (";
    if (const char* name = ::strerrorname_np(err); name != nullptr) {
        text += name;
        text += ", ";
    }
    text += "errno " + std::to_string(err) + ")";
    return text;
}

}  // namespace tcptune
