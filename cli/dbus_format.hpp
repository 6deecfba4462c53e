#pragma once

// Human output shared by the verbs that talk to tcptuned (status, watch, apply,
// rollback, resume): pure string builders over the D-Bus client's structs, so
// they are testable byte for byte. Colour is decided by the caller.

#include <string>
#include <vector>

#include "dbus_client.hpp"

namespace tcptune::cli {

// "profile web (apply mode, every 5s)" header block plus poll and journal health.
std::string render_daemon_header(const DaemonStatus& s, bool colour);
// STATE / SOCKETS table (watched states highlighted when non-zero).
std::string render_counts(const DaemonCounts& c, bool colour);
std::string render_rules(const std::vector<RuleRow>& rules, bool colour);
std::string render_sysctls(const std::vector<SysctlRow>& sysctls, bool colour);
// AT / RESULT / KEY / OLD -> NEW / RULE / DETAIL; failures and refusals highlighted.
std::string render_changes(const std::vector<ChangeRecord>& changes, bool colour);

// Exit code for a batch of change records: 1 if any failed, 5 if any was
// refused by the safety gate, 0 otherwise.
int exit_code_for_changes(const std::vector<ChangeRecord>& changes);

// Prints "tcptune VERB: ..." for a failed daemon call, with the next step an
// operator needs (how to start the daemon, that root is required), and returns
// the exit code.
int report_daemon_error(const std::string& verb, const DaemonError& error);

}  // namespace tcptune::cli
