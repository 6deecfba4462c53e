#pragma once

// The loaded BPF program of the census engine (bpf/tcp_census.bpf.c) and the
// operations on its maps: per-namespace counters, SYN queues, and the seeding
// window (seed.hpp explains the window). One engine serves every network
// namespace at once; callers name a namespace by its inode number (the st_ino of
// /proc/<pid>/ns/net).
//
// Needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) and kernel BTF; attaches as a
// raw tracepoint, so tracefs need not be mounted. When the build has no BPF
// support (TCPTUNE_BPF=OFF or missing tools) load() says so. Not thread-safe:
// one owner drives it.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "tcptune/census/bpf/seed.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// True when this build contains the BPF program.
bool bpf_census_engine_built_in();

struct BpfEngineOptions {
    // Test hook: make the kernel's verifier reject the program, so the fallback
    // is exercised by a real rejection (TCPTUNE_TEST_BPF_REJECT=1 in tcptuned).
    bool force_verifier_reject = false;
};

struct SynQueues {
    std::uint64_t requests = 0;   // request sockets in the namespace's SYN queues
    std::uint64_t listeners = 0;  // listeners the program knows in the namespace
};

// The exact counts of the counted states at the end of a seeding window (the
// thaw) and at its start (the freeze), and the program's summed deltas during it
// (the base counting resumes from).
struct SeedPoint {
    KernelStateCounts exact{};
    KernelStateCounts exact_at_freeze{};
    KernelStateCounts deltas{};
    std::size_t dumped_sockets = 0;  // full sockets of counted states in the dump
    std::size_t window_sockets = 0;  // sockets that changed state during the window
    std::size_t window_cookies = 0;
};

// Events the program could not count since it attached. Any of them means the
// counters are off until the next reconciliation.
struct LostEvents {
    std::uint64_t recursion_misses = 0;  // the kernel skipped a nested run, not caught
    std::uint64_t recovered_nested = 0;  // skipped nested runs the second program counted
    std::uint64_t counter_map_full = 0;  // a namespace got no counters
    std::uint64_t window_full = 0;       // a window socket or cookie was not recorded
    std::uint64_t listener_map_full = 0;
    std::uint64_t total() const {  // recovered_nested is not lost
        return recursion_misses + counter_map_full + window_full + listener_map_full;
    }
    // The ones a reconciliation repairs (the counters are off); a listener the
    // map had no room for stays unknown until it changes state again.
    std::uint64_t in_counters() const { return recursion_misses + counter_map_full; }
};

class BpfCensusEngine {
  public:
    // Opens, loads (CO-RE against the running kernel) and attaches the program,
    // and checks the on-demand parts work. The error message is the reason to
    // log when falling back ("permission denied ...", "the verifier rejected ...").
    static Result<std::unique_ptr<BpfCensusEngine>> load(BpfEngineOptions options = {});

    ~BpfCensusEngine();
    BpfCensusEngine(const BpfCensusEngine&) = delete;
    BpfCensusEngine& operator=(const BpfCensusEngine&) = delete;

    // Counted-state deltas of a namespace since attach, summed over CPUs. A
    // namespace that never had a state change reads as all zero.
    Result<KernelStateCounts> deltas(std::uint32_t netns);

    // Request sockets (SYN queues of the known listeners) of a namespace.
    Result<SynQueues> syn_queues(std::uint32_t netns);

    // Runs the seeding window over `netns`: freezes it, calls `dump` (which must
    // dump that namespace into the collector, e.g. NetlinkCensus::count_with),
    // collects the window and thaws. Counting of the namespace always resumes,
    // also when the dump fails.
    using DumpInto = std::function<Result<void>(DumpCollector&)>;
    Result<SeedPoint> seed(std::uint32_t netns, const DumpInto& dump);

    Result<LostEvents> lost_events();

    // The kernel id of the per-namespace counter map, for `bpftool map dump id N`
    // when debugging (and for the tests that corrupt it on purpose).
    std::uint32_t counters_map_id() const;

    // Drops the counters of namespaces that are all zero and not in `keep`
    // (namespaces that went away). Returns how many were dropped.
    Result<std::size_t> forget_idle_namespaces(std::span<const std::uint32_t> keep);

  private:
    struct Impl;
    explicit BpfCensusEngine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcptune
