#include "tcptune/census/census_bpf.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "tcptune/census/proc_net.hpp"

namespace tcptune {

Result<std::uint32_t> current_netns_inode() {
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0) {
        return make_error(ErrorCode::kIo, "cannot stat /proc/self/ns/net: " + errno_text(errno));
    }
    return static_cast<std::uint32_t>(st.st_ino);
}

Result<std::unique_ptr<BpfCensusSource>> BpfCensusSource::open(BpfCensusOptions options) {
    std::unique_ptr<BpfCensusEngine> engine;
    TRY_ASSIGN(engine, BpfCensusEngine::load(options.engine));
    return attach(std::move(engine), std::move(options));
}

Result<std::unique_ptr<BpfCensusSource>> BpfCensusSource::attach(
    std::shared_ptr<BpfCensusEngine> engine, BpfCensusOptions options) {
    std::uint32_t netns = 0;
    if (options.netns) {
        netns = *options.netns;
    } else {
        TRY_ASSIGN(netns, current_netns_inode());
    }
    std::unique_ptr<NetlinkCensus> referee;
    TRY_ASSIGN(referee, NetlinkCensus::open(options.netlink));
    return std::unique_ptr<BpfCensusSource>(
        new BpfCensusSource(std::move(engine), std::move(referee), std::move(options), netns));
}

BpfCensusSource::BpfCensusSource(std::shared_ptr<BpfCensusEngine> engine,
                                 std::unique_ptr<NetlinkCensus> referee, BpfCensusOptions options,
                                 std::uint32_t netns)
    : engine_(std::move(engine)),
      referee_(std::move(referee)),
      options_(std::move(options)),
      netns_(netns) {
    report_.engine = CensusEngineKind::kBpf;
}

bool BpfCensusSource::reconcile_due(std::chrono::steady_clock::time_point now,
                                    std::uint64_t lost) const {
    if (!seeded_ || reconcile_requested_) {
        return true;
    }
    const auto since = now - last_reconcile_;
    if (since >= options_.reconcile_interval) {
        return true;
    }
    const bool suspect = lost > lost_at_last_reconcile_ || inuse_says_reconcile_;
    return suspect && since >= options_.min_reconcile_spacing;
}

// sockstat's "inuse" (TCP plus TCP6) counts the namespace's hashed full sockets:
// exactly what the program counts, so the two totals agree but for changes in
// flight. The kernel can fail to run the program for an event without saying so
// (seen on 6.18 under heavy two-CPU loopback load, ~0.1% of changes, with
// recursion_misses at 0): a difference that keeps its sign for three polls in a
// row is such a loss, and the next reconciliation repairs it.
void BpfCensusSource::check_against_sockstat(std::int64_t counted,
                                             const SockstatSummary& sockstat) {
    const auto inuse = static_cast<std::int64_t>(sockstat.tcp_inuse + sockstat.tcp6_inuse);
    const std::int64_t difference = counted - inuse;
    const bool same_sign =
        (difference > 0 && inuse_difference_ > 0) || (difference < 0 && inuse_difference_ < 0);
    inuse_difference_polls_ = difference == 0 ? 0 : same_sign ? inuse_difference_polls_ + 1 : 1;
    inuse_difference_ = difference;
    constexpr int kPollsBeforeSuspecting = 3;
    inuse_says_reconcile_ = inuse_difference_polls_ >= kPollsBeforeSuspecting;
}

Result<std::optional<StateDrift>> BpfCensusSource::reconcile() {
    const auto start = std::chrono::steady_clock::now();
    LostEvents lost;
    TRY_ASSIGN(lost, engine_->lost_events());
    SeedPoint seeded;
    const auto dump = [this](DumpCollector& collector) -> Result<void> {
        TRY(referee_->count_with(collector, kBpfSeedStateMask));
        return {};
    };
    TRY_ASSIGN(seeded, engine_->seed(netns_, dump));
    std::optional<StateDrift> drift;
    if (seeded_) {
        KernelStateCounts engine_view{};
        for (std::size_t i = 0; i < kKernelStateSlots; ++i) {
            engine_view[i] = offset_[i] + seeded.deltas[i];
        }
        // Both at the freeze: the counters stopped there.
        drift = drift_between(engine_view, seeded.exact_at_freeze);
        report_.last_drift = drift;
    }
    for (std::size_t i = 0; i < kKernelStateSlots; ++i) {
        offset_[i] = seeded.exact[i] - seeded.deltas[i];
    }
    seeded_ = true;
    reconcile_requested_ = false;
    inuse_difference_polls_ = 0;
    inuse_says_reconcile_ = false;
    last_reconcile_ = std::chrono::steady_clock::now();
    lost_at_last_reconcile_ = lost.in_counters();
    report_.reconciliations += 1;
    report_.last_reconcile_duration =
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_reconcile_ - start);
    // Namespaces that went away leave all-zero counters behind. A shared engine
    // serves other namespaces' sources too: their owner decides.
    if (engine_.use_count() == 1) {
        const std::uint32_t keep[] = {netns_};
        (void)engine_->forget_idle_namespaces(keep);
    }
    return drift;
}

Result<CensusSnapshot> BpfCensusSource::poll() {
    CensusSnapshot snapshot;
    snapshot.taken_at = std::chrono::steady_clock::now();
    LostEvents lost;
    TRY_ASSIGN(lost, engine_->lost_events());
    if (reconcile_due(snapshot.taken_at, lost.in_counters())) {
        TRY(reconcile());
    }
    KernelStateCounts deltas{};
    TRY_ASSIGN(deltas, engine_->deltas(netns_));
    SynQueues queues;
    TRY_ASSIGN(queues, engine_->syn_queues(netns_));
    TRY_ASSIGN(snapshot.netstat, read_netstat(options_.netlink.proc_net_dir));
    TRY_ASSIGN(snapshot.sockstat, read_sockstat(options_.netlink.proc_net_dir));
    KernelStateCounts full_sockets{};
    std::int64_t counted = 0;
    for (std::size_t i = 0; i < kKernelStateSlots; ++i) {
        full_sockets[i] = offset_[i] + deltas[i];
        counted += bpf_counts_kernel_state(static_cast<unsigned>(i)) ? full_sockets[i] : 0;
    }
    check_against_sockstat(counted, snapshot.sockstat);
    snapshot.counts = engine_state_counts(full_sockets, queues.requests, snapshot.sockstat.tcp_tw);
    report_.lost_events = lost.total();
    snapshot.engine = report_;
    snapshot.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - snapshot.taken_at);
    return snapshot;
}

Result<CensusSnapshot> BpfCensusSource::poll_for(const SignalRequest& request) {
    CensusSnapshot snapshot;
    TRY_ASSIGN(snapshot, poll());
    if (request.sockets()) {
        CensusSnapshot dumped;
        TRY_ASSIGN(dumped, referee_->poll_for(request));
        snapshot.pressure = std::move(dumped.pressure);
        snapshot.segments = dumped.segments;
    } else if (request.rates) {
        TRY_ASSIGN(snapshot.segments, read_snmp_tcp(options_.netlink.proc_net_dir));
    }
    // The poll's cost includes the signals.
    snapshot.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - snapshot.taken_at);
    return snapshot;
}

}  // namespace tcptune
