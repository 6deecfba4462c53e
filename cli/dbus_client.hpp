#pragma once

// The CLI's side of net.tcptune.Manager1: a proxy generated from
// dbus/net.tcptune.Manager1.xml, wrapped so commands see plain structs and
// one exception type that already knows its exit code.
//
// No sdbus-c++ event-loop thread is started: the CLI owns the connection and
// only makes synchronous calls.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/config/daemon_config.hpp"

namespace sdbus {
class IConnection;
class Error;
}  // namespace sdbus

namespace tcptune::cli {

// Adds `--bus system|session` (default system; the system bus honours
// DBUS_SYSTEM_BUS_ADDRESS) to a verb that talks to the daemon.
void add_bus_option(CLI::App& cmd, BusKind& bus);

// A failed call, classified. `exit_code` follows command.hpp; `unreachable`
// is true when no daemon answered at all.
class DaemonError : public std::runtime_error {
  public:
    DaemonError(std::string name, const std::string& message, int exit_code, bool unreachable);
    const std::string& name() const { return name_; }
    int exit_code() const { return exit_code_; }
    bool unreachable() const { return unreachable_; }

  private:
    std::string name_;
    int exit_code_;
    bool unreachable_;
};

struct DaemonStatus {
    std::string profile;
    std::string profile_file;
    std::string description;
    std::string mode;  // "apply" | "advise"
    double interval_seconds = 0;
    std::uint64_t polls = 0;
    std::uint64_t poll_errors = 0;
    std::string last_poll_error;  // "" = none
    std::string journal_error;    // "" = none
    std::string version;
    std::string census_engine;       // "bpf" | "netlink" | "" (no poll yet)
    std::string census_engine_note;  // why not bpf under auto; "" = none
};

struct DaemonCounts {
    bool valid = false;  // false before the daemon's first successful poll
    std::map<std::string, std::uint64_t> states;
    std::map<std::string, std::uint64_t> netstat;
    double duration_seconds = 0;
    double age_seconds = 0;
};

// One row of ListNamespaces.
struct NamespaceRow {
    std::string name;
    std::uint64_t inode = 0;
    bool own = false;
    std::uint32_t pid = 0;  // 0: no process known
    std::string profile;
    std::map<std::string, std::uint64_t> states;
};

// One row of ListRefusedNamespaces: a namespace whose selected profile was refused.
struct RefusedNamespaceRow {
    std::uint64_t inode = 0;
    std::string name;
    std::string profile;  // the selected one, not in force
    std::string reason;   // one line
};

struct SysctlRow {
    std::string key;
    std::string current;
    std::string original;  // "" = none
    std::string desired;   // "" = none
    std::string owner;     // tcptune | administrator | unmanaged | not-applied
};

struct RuleRow {
    std::string name;
    std::string metric;
    std::string threshold;
    bool active = false;
    std::int64_t since_unix_usec = 0;  // 0 = inactive
    bool has_last = false;
    double last_observed = 0;
    std::uint64_t trigger_count = 0;
    std::string subject{};  // listener / destination it fired on
    std::string reading{};  // the last reading of its signal, for humans
    std::string verdict{};  // "", "verifying", "helped", "did not help"
};

struct ProfileRow {
    std::string name;
    std::string description;
    std::string file;
    std::string extends;
    bool valid = false;
    bool shadowed = false;
    std::string problems;
};

struct DaemonProperties {
    std::string active_profile;
    std::string mode;
    double interval_seconds = 0;
    std::string version;
};

class DaemonClient {
  public:
    // Connects to the bus (throws DaemonError, exit 3, when it cannot).
    explicit DaemonClient(BusKind bus);  // kSystem or kSession
    ~DaemonClient();
    DaemonClient(const DaemonClient&) = delete;
    DaemonClient& operator=(const DaemonClient&) = delete;

    // Every call throws DaemonError on failure.
    DaemonStatus status();
    DaemonCounts counts();
    std::vector<NamespaceRow> namespaces();
    // Empty from a daemon that predates ListRefusedNamespaces.
    std::vector<RefusedNamespaceRow> refused_namespaces();
    std::vector<SysctlRow> sysctls();
    std::vector<RuleRow> rules();
    std::vector<ChangeRecord> recent_changes(std::uint32_t limit);
    std::vector<ProfileRow> profiles();
    DaemonProperties properties();
    std::vector<ChangeRecord> set_profile(const std::string& name, bool dry_run);
    std::vector<ChangeRecord> rollback(bool force);
    // Another namespace (namespaces.watch: all): GetNamespaceStatus's JSON text,
    // and RollbackNamespace (NAME, INODE or "all").
    std::string namespace_status(const std::string& netns);
    std::vector<ChangeRecord> rollback_namespace(const std::string& netns, bool force);
    void reload();
    ChangeRecord resume(const std::string& key);

  private:
    class Proxy;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<Proxy> proxy_;
};

// JSON shapes (documented in docs/dbus-api.md, shared by status/apply/...).
nlohmann::json to_json(const DaemonStatus& s);
nlohmann::json to_json(const DaemonCounts& c);
nlohmann::json to_json(const SysctlRow& s);
nlohmann::json to_json(const RuleRow& r);
nlohmann::json to_json(const ChangeRecord& c);
// A JSON array of to_json(row) for each row.
template <typename Row>
nlohmann::json to_json(const std::vector<Row>& rows) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : rows) {
        out.push_back(to_json(row));
    }
    return out;
}

// "2024-05-01T12:00:00Z" (UTC), "" for 0.
std::string format_unix_usec(std::int64_t usec);

}  // namespace tcptune::cli
