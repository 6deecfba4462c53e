#pragma once

// The bpf census engine as a CensusSource for one network namespace (by default
// this process's): counts come from the BPF program's counters (bpf/), request
// sockets from the listeners' SYN queues, TIME_WAIT from sockstat, and a full
// sock_diag dump seeds the counters and referees them every reconcile_interval,
// on request (tcptune reload), and early when the program reports lost events.
// docs/census-engine.md has the whole story.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "tcptune/census/bpf/bpf_census_engine.hpp"
#include "tcptune/census/census.hpp"
#include "tcptune/census/census_netlink.hpp"

namespace tcptune {

struct BpfCensusOptions {
    NetlinkCensusOptions netlink;  // the referee's dump and the /proc/net files
    std::chrono::milliseconds reconcile_interval = kDefaultReconcileInterval;
    // After the program lost events, reconcile at the next poll, but at most once
    // per this long.
    std::chrono::milliseconds min_reconcile_spacing{30 * 1000};
    std::optional<std::uint32_t> netns;  // inode; unset: this process's namespace
    BpfEngineOptions engine;
};

// The inode number of this process's network namespace (/proc/self/ns/net).
Result<std::uint32_t> current_netns_inode();

class BpfCensusSource final : public CensusSource {
  public:
    // Loads the engine and opens the referee's netlink socket. Does not seed yet:
    // the first poll does.
    static Result<std::unique_ptr<BpfCensusSource>> open(BpfCensusOptions options = {});
    // A source over an engine that is already loaded: one engine counts every
    // namespace, so per-namespace sources share it. The referee's netlink socket
    // is opened in the calling thread's network namespace (sock_diag dumps the
    // namespace its socket was created in): call this from inside the namespace
    // named by options.netns, with options.netlink.proc_net_dir pointing at its
    // /proc/<pid>/net.
    static Result<std::unique_ptr<BpfCensusSource>> attach(std::shared_ptr<BpfCensusEngine> engine,
                                                           BpfCensusOptions options);

    Result<CensusSnapshot> poll() override;
    // The engine's counts; the socket-table signals (listeners, destinations,
    // dead peers) come from a sock_diag dump run only when `request` asks for
    // them: the counters cannot tell which listener or destination is under
    // pressure.
    Result<CensusSnapshot> poll_for(const SignalRequest& request) override;
    void request_reconciliation() override { reconcile_requested_ = true; }

    // Seeds (first time) or reconciles now. Returns the drift the reconciliation
    // found (engine minus dump); nullopt for the seeding one.
    Result<std::optional<StateDrift>> reconcile();

    std::uint32_t netns() const { return netns_; }
    BpfCensusEngine& engine() { return *engine_; }

  private:
    BpfCensusSource(std::shared_ptr<BpfCensusEngine> engine, std::unique_ptr<NetlinkCensus> referee,
                    BpfCensusOptions options, std::uint32_t netns);
    bool reconcile_due(std::chrono::steady_clock::time_point now, std::uint64_t lost) const;
    void check_against_sockstat(std::int64_t counted, const SockstatSummary& sockstat);

    std::shared_ptr<BpfCensusEngine> engine_;
    std::unique_ptr<NetlinkCensus> referee_;
    BpfCensusOptions options_;
    std::uint32_t netns_;
    KernelStateCounts offset_{};
    bool seeded_ = false;
    bool reconcile_requested_ = false;
    std::chrono::steady_clock::time_point last_reconcile_{};
    std::uint64_t lost_at_last_reconcile_ = 0;
    // Counted full sockets minus sockstat's inuse, over the last polls: a
    // difference that stays means events were lost (see check_against_sockstat).
    std::int64_t inuse_difference_ = 0;
    int inuse_difference_polls_ = 0;
    bool inuse_says_reconcile_ = false;
    CensusEngineReport report_;
};

}  // namespace tcptune
