#pragma once

#include <chrono>
#include <string>

#include "tcptune/apply/journal.hpp"

namespace tcptune {

// Renders the set tcptune currently has applied (from the journal) as an
// /etc/sysctl.d/ snippet: a header saying where it came from, then per key a
// comment saying why (profile, rule, reason, when, original) and `key = value`.
// Overridden keys are not exported (an administrator owns them); they are listed
// as comments so the operator sees the gap. Pure: the same input gives the same text.
std::string render_sysctl_snippet(const JournalEntries& entries,
                                  std::chrono::system_clock::time_point generated_at);

}  // namespace tcptune
