#pragma once

// The arithmetic of the bpf census engine, kept pure so it is tested without a
// kernel: summing per-CPU deltas, and turning a sock_diag dump plus what the BPF
// program recorded during it into exact counts (seeding and reconciliation).
//
// The seeding window (docs/census-engine.md). The program counts state changes
// from the moment it attaches, but sockets that existed before have to come from
// a dump, and a dump is not a snapshot: a socket may change state before or after
// the dump reaches it. So, per namespace:
//   1. freeze: the program stops counting the namespace and instead records each
//      socket of it that changes state (where it ended: window socket) and every
//      socket cookie it can read at that moment (window cookie); then a grace
//      period, so no program run still counts;
//   2. read the counters B0 (they no longer move) and dump the namespace D;
//   3. still frozen, read the cookies of window sockets that had none when they
//      changed state (the dump gave them one if it saw them);
//   4. thaw, grace period, read the window.
// Exact counts at the thaw: S = D - (what D saw of window sockets, matched by
// cookie) + (where window sockets ended). Counting resumes from B0, so from then
// on count = (S - B0) + B. Nothing is counted twice (a window socket is taken out
// of D by its cookie) or lost (every change during the freeze is in the window).

#include <linux/inet_diag.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tcptune/census/bpf/mmap_allocator.hpp"
#include "tcptune/census/census_engine.hpp"
#include "tcptune/census/census_snapshot.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune {

// Counts indexed by the kernel's state number (1..12; 16 slots, as in the BPF map).
inline constexpr std::size_t kKernelStateSlots = 16;
using KernelStateCounts = std::array<std::int64_t, kKernelStateSlots>;

// The states the program counts: full sockets a dump lists. Not TIME_WAIT (the
// timewait socket appears without a state change), not CLOSE (not in a table),
// not TCP_NEW_SYN_RECV (request sockets never change state).
constexpr bool bpf_counts_kernel_state(unsigned state) {
    return state >= 1 && state <= 11 && state != 6 && state != 7;
}

// The sock_diag state mask of the seeding dump: the counted states only. The
// kernel adds request sockets whenever SYN_RECV is asked for and lists them as
// SYN_RECV, and timewait sockets in the FIN_WAIT2 substate match bit 5: the
// collector drops both (no INET_DIAG_SHUTDOWN attribute; timer 3).
constexpr std::uint32_t kBpfSeedStateMask = (1U << 1) | (1U << 2) | (1U << 3) | (1U << 4) |
                                            (1U << 5) | (1U << 8) | (1U << 9) | (1U << 10) |
                                            (1U << 11);

// Whether a run of netlink attributes (rtattr/nlattr: u16 length, u16 type,
// payload, 4-byte aligned) holds one of `type`. Malformed runs end the walk.
bool has_netlink_attribute(std::span<const std::byte> attributes, std::uint16_t type);

// Sums `cpus` per-CPU copies of kKernelStateSlots signed deltas laid out one CPU
// after the other (the layout of a per-CPU map lookup). Wrapping arithmetic: one
// CPU may only ever add and another only subtract; the sum is still exact.
KernelStateCounts sum_per_cpu(std::span<const std::int64_t> per_cpu, std::size_t cpus);

// Collects what one dump saw of the sockets the program counts, by cookie: a
// sock_diag visitor (NetlinkCensus::count_with). Timewait sockets (idiag_timer 3,
// listed with their substate) and request sockets are left out. Memory is mmap'd
// and freed with the collector.
class DumpCollector {
  public:
    // `attributes`: the rtattrs after the message. Only full sockets carry
    // INET_DIAG_SHUTDOWN; a request socket is listed as SYN_RECV like a full
    // child, and asking for SYN_RECV makes the kernel list request sockets too.
    void operator()(const inet_diag_msg& msg, TcpState state,
                    std::span<const std::byte> attributes);
    void reset();  // a retried dump starts over
    // Sorts and drops duplicates (a dump resumed in a changing hash bucket can
    // list a socket twice). Call once after the dump, before the lookups below.
    void finish();

    std::optional<std::uint8_t> state_of(std::uint64_t cookie) const;
    KernelStateCounts counts() const;
    std::size_t sockets() const { return entries_.size(); }

  private:
    struct Entry {
        std::uint64_t cookie;
        std::uint8_t kernel_state;
    };
    std::vector<Entry, MmapAllocator<Entry>> entries_;
    bool finished_ = false;
};

// A socket that changed state during the freeze: where it was when the freeze
// began (CLOSE for one born during it) and where it ended.
struct WindowSocket {
    std::uint8_t first_state = 0;
    std::uint8_t last_state = 0;
};

// S = D - D's view of window sockets + where they ended (see above). Negative
// slots cannot happen with a consistent window; they are returned as they are
// for the caller to report.
KernelStateCounts seeded_counts(const DumpCollector& dump, std::span<const WindowSocket> window,
                                std::span<const std::uint64_t> window_cookies);

// What the window sockets' changes added up to (where they ended minus where
// they were). Exact counts at the freeze = seeded_counts(...) - window_change(...):
// the moment the engine's own counters stopped, so drift compares like with like.
KernelStateCounts window_change(std::span<const WindowSocket> window);

// Public StateCounts from the engine's parts: counted full sockets (negative
// transients clamp to 0), request sockets (SYN queues) added to syn_recv, and
// timewait sockets (sockstat's tw) as time_wait. CLOSE stays 0: a closed socket
// is in no table, so a dump never lists it either.
StateCounts engine_state_counts(const KernelStateCounts& full_sockets,
                                std::uint64_t request_sockets, std::uint64_t timewait_sockets);

// Counts a dump (a NetlinkCensus visitor) the way the bpf engine reports it, so
// the two compare state by state: every timewait socket as time_wait (sockstat's
// tw counts them all, while ss lists an orphaned FIN_WAIT2 timewait socket as
// fin_wait2), closed sockets not at all (they are in no table but a dump may
// catch one mid-close).
struct EngineViewCounter {
    StateCounts counts;
    std::uint64_t timewait_as_fin_wait2 = 0;  // how many timewait sockets ss shows as fin_wait2

    void operator()(const inet_diag_msg& msg, TcpState state);
    void reset() { *this = EngineViewCounter{}; }
};

// Engine minus referee per public state, for the states the program counts.
StateDrift drift_between(const KernelStateCounts& engine, const KernelStateCounts& exact);

}  // namespace tcptune
