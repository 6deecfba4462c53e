#pragma once

// namespaces.watch: all — one Controller per other network namespace whose selected
// profile is not `none`, each with the same Applier and SafetyGate as the daemon's
// own, over that namespace's sysctls (NetnsSysctlStore: a worker thread that
// setns()es for each read and write) and its own journal (<state-dir>/netns/<inode>/,
// netns/netns_journal.hpp). Its census is what the namespace monitor counted: the
// state counts and the namespace's sockstat. Socket-table signals (listeners,
// destinations, dead peers) and counter rates are NOT computed in other namespaces:
// rules that read them never fire there, and the fleet says so when it opens one.
//
// Threading: single-threaded, like Controller; the daemon calls it on its loop. The
// only blocking it does is the tiny setns'd sysctl reads and writes, each on a
// short-lived worker thread; never a socket dump.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/apply/applier.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/config/namespace_config.hpp"
#include "tcptune/engine/controller.hpp"
#include "tcptune/netns/netns_census.hpp"
#include "tcptune/netns/netns_journal.hpp"
#include "tcptune/netns/netns_sysctl_store.hpp"

namespace tcptune {

// A CensusSource fed from outside: the namespace monitor's latest counts of one
// namespace. Each count is handed out once; a poll without a new one is an error
// (the controller counts it and tries again next round).
class FedCensusSource final : public CensusSource {
  public:
    void feed(const NamespaceCounts& counts);
    void feed_failure(Error error);
    Result<CensusSnapshot> poll() override;

  private:
    std::optional<Result<CensusSnapshot>> next_;
};

struct NamespaceFleetConfig {
    std::filesystem::path state_dir = "/var/lib/tcptune";
    NamespaceSettings settings;
    // The daemon's own controller config: profile dirs, mode, interval, stop
    // policy. profile and netns are set per namespace.
    ControllerConfig controller;
    GateLimits limits{};
};

// One managed namespace: its identity, sysctl store, applier and controller.
class ManagedNamespace {
  public:
    ManagedNamespace(NetnsInfo ns, NetnsIdentity identity, const Clock& clock,
                     const NamespaceFleetConfig& config, const std::string& profile);
    ManagedNamespace(const ManagedNamespace&) = delete;
    ManagedNamespace& operator=(const ManagedNamespace&) = delete;

    const NetnsInfo& ns() const { return ns_; }
    const NetnsIdentity& identity() const { return identity_; }
    const std::filesystem::path& journal_dir() const { return journal_dir_; }
    const std::string& profile() const { return profile_; }
    Controller& controller() { return controller_; }
    const Controller& controller() const { return controller_; }
    // Rules of the active profile that read signals other namespaces do not have.
    const std::vector<std::string>& unavailable_rules() const { return unavailable_rules_; }

    void feed(const NamespaceCounts& counts) { census_.feed(counts); }
    void feed_failure(Error error) { census_.feed_failure(std::move(error)); }

  private:
    friend class NamespaceFleet;
    NetnsInfo ns_;
    NetnsIdentity identity_;
    std::filesystem::path journal_dir_;
    std::string profile_;
    FedCensusSource census_;
    NetnsSysctlStore store_;
    Applier applier_;
    Controller controller_;
    std::vector<std::string> unavailable_rules_;
};

// What the fleet tells the daemon's log: one line per event (opened, refused,
// vanished, journal closed), never one per poll.
struct FleetNote {
    enum class Level { kInfo, kWarning };
    Level level = Level::kInfo;
    std::string message;
};

// A namespace whose profile could not be put in force, and why (an invalid profile,
// a host-wide key, a namespace that cannot be entered).
struct RefusedNamespace {
    NetnsInfo ns;
    std::string profile;
    Error error;
};

class NamespaceFleetObserver {
  public:
    virtual ~NamespaceFleetObserver() = default;
    // After the controller started, before its first poll: attach observers here.
    virtual void on_opened(ManagedNamespace& /*managed*/) {}
    // Before the managed namespace is destroyed (it vanished, or its profile is
    // now none).
    virtual void on_closing(ManagedNamespace& /*managed*/) {}
};

class NamespaceFleet {
  public:
    NamespaceFleet(NamespaceFleetConfig config, const Clock& clock);
    ~NamespaceFleet();
    NamespaceFleet(const NamespaceFleet&) = delete;
    NamespaceFleet& operator=(const NamespaceFleet&) = delete;

    void set_observer(NamespaceFleetObserver* observer) { observer_ = observer; }

    // One round: `discovered` is every namespace that exists now (tcptuned's own
    // included, and ignored), `counted` the monitor's counts of this round. Opens
    // controllers for newly selected namespaces, drops those that vanished (their
    // journals closed) or whose identity changed, and polls each managed one with
    // its counts. The first round also closes every stored journal whose namespace
    // is gone or was recycled.
    std::vector<FleetNote> update(const std::vector<NetnsInfo>& discovered,
                                  const std::vector<NamespaceCounts>& counted);

    // NAME (a namespace name or ip netns name) or INODE.
    ManagedNamespace* find(std::string_view name_or_inode);
    std::vector<ManagedNamespace*> managed();
    const std::map<std::uint64_t, RefusedNamespace>& refused() const { return refused_; }
    // The profile selected for `ns` (none for tcptuned's own: the daemon's
    // profile runs there).
    std::string selected_profile(const NetnsInfo& ns) const;

    // Applies the stop policy of every managed namespace (daemon shutdown).
    std::vector<ChangeRecord> stop();

    const NamespaceFleetConfig& config() const { return config_; }
    // Reload: the new settings and controller config take effect now for managed
    // namespaces whose selected profile is unchanged (profile file, mode, interval
    // re-read; on error the old profile stays, with a note); refused namespaces are
    // tried again; the next update() replaces the controller of a namespace that now
    // selects another profile (same journal: its originals stay) and releases one
    // that now selects none under the stop policy, as at daemon shutdown.
    std::vector<FleetNote> reconfigure(NamespaceFleetConfig config);

  private:
    void close_stale_journals(const std::vector<NetnsInfo>& discovered,
                              std::vector<FleetNote>& notes);
    void drop(std::uint64_t inode, bool close_journal, const std::string& why,
              std::vector<FleetNote>& notes);
    void release(ManagedNamespace& managed, std::vector<FleetNote>& notes);
    void open(const NetnsInfo& ns, const std::string& profile, std::vector<FleetNote>& notes);
    Result<NetnsIdentity> live_identity(const NetnsInfo& ns) const;

    NamespaceFleetConfig config_;
    const Clock& clock_;
    NamespaceFleetObserver* observer_ = nullptr;
    std::map<std::uint64_t, std::unique_ptr<ManagedNamespace>> managed_;
    std::map<std::uint64_t, RefusedNamespace> refused_;
    std::string boot_id_;
    bool first_round_ = true;
};

}  // namespace tcptune
