// The bpf census engine against the real kernel (root): it loads, counts every
// state exactly like a full dump on real populations (built after it attached,
// and existing before, which seeding must pick up), keeps exact through churn
// and through reconciliations, follows namespaces that come and go, and reports
// drift when its counters are wrong.
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TCPTUNE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/churn.hpp"
#include "support/netns.hpp"
#include "support/skip.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/census/bpf/bpf_census_engine.hpp"
#include "tcptune/census/census_bpf.hpp"
#include "tcptune/census/census_netlink.hpp"

namespace tcptune {
namespace {

using namespace std::chrono_literals;
using test::IpFamily;
using test::SocketFactory;

#define TCPTUNE_REQUIRE_BPF_ENGINE()                                                   \
    do {                                                                               \
        TCPTUNE_REQUIRE_PRIVATE_NETNS();                                               \
        TCPTUNE_SKIP_UNLESS(bpf_census_engine_built_in(),                              \
                            "this build has no bpf census engine (TCPTUNE_BPF=OFF or " \
                            "clang/bpftool/libbpf/BTF missing at configure time)");    \
    } while (0)

// Sockstat-triggered repairs allowed after one second: see agree_within().
constexpr std::chrono::milliseconds kRepairSpacing = 1s;

std::unique_ptr<BpfCensusSource> open_engine(
    std::chrono::milliseconds min_reconcile_spacing = kRepairSpacing) {
    BpfCensusOptions options;
    options.reconcile_interval = 1h;  // only the reconciliations a test asks for
    options.min_reconcile_spacing = min_reconcile_spacing;
    auto source = BpfCensusSource::open(options);
    EXPECT_TRUE(source) << source.error().message;
    return source ? std::move(*source) : nullptr;
}

// The referee: a full sock_diag dump counted as the engine reports.
EngineViewCounter dump_now() {
    auto census = NetlinkCensus::open();
    EXPECT_TRUE(census) << census.error().message;
    EngineViewCounter view;
    if (census) {
        auto counted = (*census)->count_with(view);
        EXPECT_TRUE(counted) << counted.error().message;
    }
    return view;
}

StateCounts poll_counts(BpfCensusSource& engine) {
    auto snapshot = engine.poll();
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return snapshot ? snapshot->counts : StateCounts{};
}

std::string differences(const StateCounts& engine, const StateCounts& referee) {
    std::string text;
    for (TcpState s : kAllTcpStates) {
        if (engine[s] != referee[s]) {
            text += " " + std::string(state_name(s)) + ": engine " + std::to_string(engine[s]) +
                    ", dump " + std::to_string(referee[s]) + ";";
        }
    }
    return text;
}

// Kernel timers (request sockets of a closed listener, timewait sockets being
// replaced) settle on their own: compare until both agree or time runs out.
//
// Polling is also how the source repairs what the kernel did not deliver: on
// 6.18 a state change now and then never reaches the program (a few in a
// hundred runs of these tests, recursion_misses at 0, cause not found; one run
// lost every FIN_WAIT1 -> FIN_WAIT2 change of 60 half-closed clients).
//  - A socket whose opening or closing was lost leaves the total off: the
//    sockstat check sees it and reconciles (min_reconcile_spacing apart).
//  - A lost change between two counted states leaves the total right: only the
//    periodic reconciliation repairs it. After kRepairAfter of such a
//    disagreement this brings that reconciliation forward, once, and fails if
//    the total was off too (the sockstat check should have caught that).
// That is the guarantee tcptuned gives; the raw counters alone are not exact
// and no test pretends they are.
constexpr auto kRepairAfter = 5s;

std::int64_t total(const StateCounts& counts) {
    return static_cast<std::int64_t>(counts.total());
}

std::string agree_within(BpfCensusSource& engine, std::chrono::seconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    bool repaired = false;
    std::string last;
    for (;;) {
        const StateCounts counted = poll_counts(engine);
        const StateCounts referee = dump_now().counts;
        last = differences(counted, referee);
        const auto waited = std::chrono::steady_clock::now() - start;
        if (last.empty() || waited > timeout) {
            return last;
        }
        if (!repaired && waited > kRepairAfter) {
            repaired = true;
            EXPECT_EQ(total(counted), total(referee))
                << "the sockstat check should have repaired:" << last;
            std::cout << "note: states mixed up by an undelivered change, repaired by a "
                         "reconciliation:"
                      << last << "\n";
            auto drift = engine.reconcile();
            EXPECT_TRUE(drift) << drift.error().message;
            continue;
        }
        std::this_thread::sleep_for(100ms);
    }
}

void build_full_sockets(SocketFactory& factory) {
    for (auto [family, k] : {std::pair{IpFamily::kV4, 1U}, std::pair{IpFamily::kV6, 2U}}) {
        ASSERT_TRUE(factory.add_listeners(family, 3 * k));
        ASSERT_TRUE(factory.add_established(family, 40 * k));
        ASSERT_TRUE(factory.add_close_wait(family, 20 * k));
        ASSERT_TRUE(factory.add_time_wait(family, 30 * k));
    }
}

std::uint64_t reconciliations(BpfCensusSource& engine) {
    auto snapshot = engine.poll();
    return snapshot ? snapshot->engine.reconciliations : 0;
}

TEST(CensusBpfEngine, LoadsAndSeedsAnEmptyNamespace) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine();
    ASSERT_NE(engine, nullptr);
    auto snapshot = engine->poll();
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    EXPECT_EQ(snapshot->engine.engine, CensusEngineKind::kBpf);
    EXPECT_EQ(snapshot->engine.reconciliations, 1U);  // the seeding
    EXPECT_EQ(snapshot->counts.total(), 0U);
    struct stat st {};
    ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0);
    EXPECT_EQ(engine->netns(), static_cast<std::uint32_t>(st.st_ino));
}

TEST(CensusBpfEngine, CountsAPopulationBuiltAfterAttachExactlyAndAfterTheClientsClose) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine();
    ASSERT_NE(engine, nullptr);
    ASSERT_EQ(poll_counts(*engine).total(), 0U);

    auto factory = std::make_unique<SocketFactory>();
    build_full_sockets(*factory);
    if (HasFatalFailure()) {
        return;
    }
    const StateCounts expected = factory->expected();
    auto settled = test::wait_until_ss_shows(expected);
    ASSERT_TRUE(settled) << settled.error().message;

    EXPECT_EQ(agree_within(*engine, 30s), "") << "engine vs dump";
    EXPECT_EQ(differences(poll_counts(*engine), expected), "") << "engine vs built";

    factory.reset();  // every holder dies: clients and servers close
    EXPECT_EQ(agree_within(*engine, 30s), "") << "after the clients closed";
    // Counted, not re-dumped every poll: the seeding, plus at most a repair or
    // two of a change the kernel did not deliver (see agree_within).
    EXPECT_LE(reconciliations(*engine), 5U);
}

TEST(CensusBpfEngine, SourcesShareOneEngineAndDumpOnlyForTheSignalsAskedFor) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto loaded = BpfCensusEngine::load();
    ASSERT_TRUE(loaded) << loaded.error().message;
    std::shared_ptr<BpfCensusEngine> engine = std::move(*loaded);
    BpfCensusOptions options;
    options.reconcile_interval = 1h;
    options.min_reconcile_spacing = kRepairSpacing;
    auto first = BpfCensusSource::attach(engine, options);
    ASSERT_TRUE(first) << first.error().message;
    options.netns = (*first)->netns();  // named by inode, as per-namespace work does
    auto second = BpfCensusSource::attach(engine, options);
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_EQ(poll_counts(**first).total(), 0U);
    ASSERT_EQ(poll_counts(**second).total(), 0U);

    SocketFactory factory;
    build_full_sockets(factory);
    if (HasFatalFailure()) {
        return;
    }
    auto settled = test::wait_until_ss_shows(factory.expected());
    ASSERT_TRUE(settled) << settled.error().message;
    EXPECT_EQ(agree_within(**first, 30s), "") << "first source";
    EXPECT_EQ(agree_within(**second, 30s), "") << "second source";

    // No signals asked for: the counters only, no dump behind them.
    auto plain = (*first)->poll_for(SignalRequest{});
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_FALSE(plain->pressure.listeners.has_value());
    EXPECT_FALSE(plain->segments.has_value());
    // Listeners asked for: the same counts, and the listeners from a dump.
    SignalRequest listeners;
    listeners.listeners = true;
    listeners.rates = true;
    auto with_signals = (*first)->poll_for(listeners);
    ASSERT_TRUE(with_signals) << with_signals.error().message;
    EXPECT_EQ(differences(with_signals->counts, factory.expected()), "");
    ASSERT_TRUE(with_signals->pressure.listeners.has_value());
    EXPECT_EQ(with_signals->pressure.listeners->listeners, factory.expected()[TcpState::kListen]);
    EXPECT_TRUE(with_signals->segments.has_value());
    EXPECT_EQ(with_signals->engine.engine, CensusEngineKind::kBpf);

    // A reconciliation of one source leaves the shared engine's other namespaces be.
    auto drift = (*second)->reconcile();
    ASSERT_TRUE(drift) << drift.error().message;
    EXPECT_EQ(agree_within(**first, 30s), "") << "after reconcile";
}

TEST(CensusBpfEngine, CountsRequestSocketsFromTheListenersSynQueues) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine();
    ASSERT_NE(engine, nullptr);
    ASSERT_EQ(poll_counts(*engine).total(), 0U);

    SocketFactory factory;
    for (auto family : {IpFamily::kV4, IpFamily::kV6}) {
        auto made = factory.add_syn_recv(family, 25);
        ASSERT_TRUE(made) << made.error().message;
    }
    auto settled = test::wait_until_ss_shows(factory.expected());
    ASSERT_TRUE(settled) << settled.error().message;
    const StateCounts counted = poll_counts(*engine);
    EXPECT_EQ(counted[TcpState::kSynRecv], 50U);
    EXPECT_EQ(differences(counted, factory.expected()), "");
    EXPECT_EQ(differences(counted, dump_now().counts), "");
}

TEST(CensusBpfEngine, SeedsAPopulationThatExistedBeforeItAttached) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    SocketFactory factory;
    build_full_sockets(factory);
    if (HasFatalFailure()) {
        return;
    }
    for (auto family : {IpFamily::kV4, IpFamily::kV6}) {
        auto made = factory.add_syn_recv(family, 10);
        ASSERT_TRUE(made) << made.error().message;
    }
    const StateCounts expected = factory.expected();
    auto settled = test::wait_until_ss_shows(expected);
    ASSERT_TRUE(settled) << settled.error().message;

    auto engine = open_engine();
    ASSERT_NE(engine, nullptr);
    StateCounts counted = poll_counts(*engine);
    StateCounts without_requests = expected;
    without_requests[TcpState::kSynRecv] = 0;
    StateCounts counted_without_requests = counted;
    counted_without_requests[TcpState::kSynRecv] = 0;
    EXPECT_EQ(differences(counted_without_requests, without_requests), "") << "seeded";

    // The request sockets were not seeded (they never change state, so seeding
    // them would count them forever): they come from the listeners' SYN queues,
    // and listeners that existed before the attach are learnt when they
    // retransmit a SYN-ACK (1, 3, 7, 15, 31 s after the SYN).
    EXPECT_EQ(counted[TcpState::kSynRecv], engine->engine().syn_queues(engine->netns())->requests);
    const auto deadline = std::chrono::steady_clock::now() + 40s;
    while (engine->engine().syn_queues(engine->netns())->listeners < 2 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(engine->engine().syn_queues(engine->netns())->listeners, 2U)
        << "the two SYN_RECV listeners were never learnt";
    counted = poll_counts(*engine);
    EXPECT_EQ(counted[TcpState::kSynRecv], expected[TcpState::kSynRecv]);
    EXPECT_EQ(differences(counted, expected), "");
    EXPECT_EQ(differences(counted, dump_now().counts), "");
}

TEST(CensusBpfEngine, SeedingAndReconcilingUnderChurnCountNothingTwiceAndLoseNothing) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    SocketFactory factory;  // a standing population the dump has to walk past
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 2000));
    test::ChurnOptions churn_options;
    if (const char* path = std::getenv("CHURN_PATH")) {
        churn_options.only_path = std::atoi(path);
    }
    auto churn = test::ConnectionChurn::start(churn_options);
    ASSERT_TRUE(churn) << churn.error().message;

    auto engine = open_engine(1h);  // seeded while connections come and go
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->poll());
    const int rounds = std::getenv("ROUNDS") ? std::atoi(std::getenv("ROUNDS")) : 5;
    // A window that counted a socket twice or lost one would drift in most
    // rounds; a change the kernel did not deliver (see agree_within) is rare.
    constexpr std::int64_t kUndeliveredAllowed = 2;
    std::int64_t drifted = 0;
    std::string where;
    for (int round = 0; round < rounds; ++round) {
        auto drift = engine->reconcile();
        ASSERT_TRUE(drift) << drift.error().message;
        ASSERT_TRUE(drift->has_value());
        for (TcpState s : kAllTcpStates) {
            if (const std::int64_t d = (**drift)[state_index(s)]; d != 0) {
                drifted += d < 0 ? -d : d;
                where += " round " + std::to_string(round) + " " + std::string(state_name(s)) +
                         " " + std::to_string(d) + ";";
            }
        }
    }
    EXPECT_LE(drifted, kUndeliveredAllowed) << where;
    auto made = (*churn)->stop();
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_GT(*made, 1000U) << "the churn should have made thousands of connections";
    EXPECT_EQ(agree_within(*engine, 30s), "") << "after the churn stopped";
    auto lost = engine->engine().lost_events();
    ASSERT_TRUE(lost);
    EXPECT_EQ(lost->total(), 0U);
}

#ifdef TCPTUNE_HAVE_BPF
// +7 ESTABLISHED on CPU 0, behind the engine's back: the counters are wrong.
void corrupt_established_count(BpfCensusSource& engine) {
    const int fd = bpf_map_get_fd_by_id(engine.engine().counters_map_id());
    ASSERT_GE(fd, 0) << "bpf_map_get_fd_by_id: " << std::strerror(errno);
    const int cpus = libbpf_num_possible_cpus();
    std::vector<std::int64_t> values(static_cast<std::size_t>(cpus) * kKernelStateSlots);
    std::uint32_t netns = engine.netns();
    ASSERT_EQ(bpf_map_lookup_elem(fd, &netns, values.data()), 0);
    values[static_cast<std::size_t>(TcpState::kEstablished)] += 7;
    ASSERT_EQ(bpf_map_update_elem(fd, &netns, values.data(), BPF_EXIST), 0);
    ::close(fd);
}

TEST(CensusBpfEngine, ReconciliationReportsAndCorrectsDrift) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine(1h);  // only the reconciliation asked for
    ASSERT_NE(engine, nullptr);
    SocketFactory factory;
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 10));
    ASSERT_TRUE(test::wait_until_ss_shows(factory.expected()));
    ASSERT_EQ(differences(poll_counts(*engine), factory.expected()), "");

    corrupt_established_count(*engine);
    if (HasFatalFailure()) {
        return;
    }
    EXPECT_EQ(poll_counts(*engine)[TcpState::kEstablished], 27U);

    auto drift = engine->reconcile();
    ASSERT_TRUE(drift) << drift.error().message;
    ASSERT_TRUE(drift->has_value());
    EXPECT_EQ((**drift)[state_index(TcpState::kEstablished)], 7);
    auto snapshot = engine->poll();
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(snapshot->engine.last_drift.has_value());
    EXPECT_EQ((*snapshot->engine.last_drift)[state_index(TcpState::kEstablished)], 7);
    EXPECT_EQ(snapshot->counts[TcpState::kEstablished], 20U) << "corrected";
}

TEST(CensusBpfEngine, ATotalThatDisagreesWithSockstatReconcilesOnItsOwn) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine(0ms);  // no spacing: react at once
    ASSERT_NE(engine, nullptr);
    SocketFactory factory;
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 10));
    ASSERT_TRUE(test::wait_until_ss_shows(factory.expected()));
    ASSERT_EQ(differences(poll_counts(*engine), factory.expected()), "");
    const auto before = reconciliations(*engine);

    corrupt_established_count(*engine);  // as if the kernel had dropped 7 events
    if (HasFatalFailure()) {
        return;
    }
    // Three polls see the total 7 above sockstat's inuse; the fourth reconciles.
    for (int poll = 0; poll < 3; ++poll) {
        EXPECT_EQ(poll_counts(*engine)[TcpState::kEstablished], 27U) << "poll " << poll;
    }
    auto snapshot = engine->poll();
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(snapshot->engine.reconciliations, before + 1);
    ASSERT_TRUE(snapshot->engine.last_drift.has_value());
    EXPECT_EQ((*snapshot->engine.last_drift)[state_index(TcpState::kEstablished)], 7);
    EXPECT_EQ(snapshot->counts[TcpState::kEstablished], 20U);
}
#endif

// A child that makes its own namespace with `pairs` established pairs and one
// listener, reports its namespace inode, waits for a byte, and exits (its
// namespace goes with it).
struct NamespaceChild {
    pid_t pid = -1;
    int to_child = -1;
    std::uint32_t netns = 0;
};

NamespaceChild spawn_namespace_child(std::size_t pairs) {
    int up[2];
    int down[2];
    NamespaceChild child;
    if (::pipe(up) != 0 || ::pipe(down) != 0) {
        return child;
    }
    child.pid = ::fork();
    if (child.pid == 0) {
        ::close(up[0]);
        ::close(down[1]);
        std::uint32_t inode = 0;
        if (test::enter_fresh_netns().empty()) {
            SocketFactory factory;
            if (factory.add_established(IpFamily::kV4, pairs) &&
                test::wait_until_ss_shows(factory.expected())) {
                struct stat st {};
                ::stat("/proc/self/ns/net", &st);
                inode = static_cast<std::uint32_t>(st.st_ino);
            }
            (void)!::write(up[1], &inode, sizeof inode);
            // A byte, not EOF: later children inherit this pipe's write end.
            char byte = 0;
            (void)!::read(down[0], &byte, 1);
        } else {
            (void)!::write(up[1], &inode, sizeof inode);
        }
        ::_exit(0);
    }
    ::close(up[1]);
    ::close(down[0]);
    child.to_child = down[1];
    if (::read(up[0], &child.netns, sizeof child.netns) != sizeof child.netns) {
        child.netns = 0;
    }
    ::close(up[0]);
    return child;
}

void end_namespace_child(NamespaceChild& child) {
    const char byte = 1;
    (void)!::write(child.to_child, &byte, 1);
    ::close(child.to_child);
    ::waitpid(child.pid, nullptr, 0);
}

TEST(CensusBpfEngine, FollowsNamespacesCreatedAndDestroyedDuringTheRun) {
    TCPTUNE_REQUIRE_BPF_ENGINE();
    auto engine = open_engine();
    ASSERT_NE(engine, nullptr);
    SocketFactory factory;
    ASSERT_TRUE(factory.add_established(IpFamily::kV4, 15));
    ASSERT_TRUE(test::wait_until_ss_shows(factory.expected()));

    for (int generation = 0; generation < 3; ++generation) {
        std::vector<NamespaceChild> children;
        for (std::size_t i = 0; i < 4; ++i) {
            children.push_back(spawn_namespace_child(5 + i));
            ASSERT_NE(children.back().netns, 0U) << "child namespace " << i;
        }
        // Born after the attach: their counters are exact without any seeding.
        for (std::size_t i = 0; i < children.size(); ++i) {
            auto deltas = engine->engine().deltas(children[i].netns);
            ASSERT_TRUE(deltas) << deltas.error().message;
            EXPECT_EQ((*deltas)[static_cast<std::size_t>(TcpState::kEstablished)],
                      static_cast<std::int64_t>(2 * (5 + i)));
            // The factory's own listener; its accepted ends outlive it.
            EXPECT_EQ((*deltas)[static_cast<std::size_t>(TcpState::kListen)], 0);
        }
        for (auto& child : children) {
            end_namespace_child(child);
        }
        // Our own namespace never noticed.
        EXPECT_EQ(differences(poll_counts(*engine), factory.expected()), "");
        auto drift = engine->reconcile();  // also drops the counters of the dead ones
        ASSERT_TRUE(drift) << drift.error().message;
        for (TcpState s : kAllTcpStates) {
            EXPECT_EQ((**drift)[state_index(s)], 0) << state_name(s);
        }
    }
}

}  // namespace
}  // namespace tcptune
