#include "tcptune/census/bpf/bpf_census_engine.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "tcp_census.skel.h"
#include "tcp_census_shared.h"

namespace tcptune {

static_assert(kKernelStateSlots == TCPTUNE_STATE_SLOTS);
static_assert(sizeof(tcptune_state_deltas) == kKernelStateSlots * sizeof(std::int64_t));

bool bpf_census_engine_built_in() {
    return true;
}

namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

// libbpf reports through a global print callback. While loading, keep its
// warnings (the verifier's log among them) to explain a failure; never print.
std::string& captured_log() {
    static std::string log;
    return log;
}

// libbpf hands us its own printf format: not a literal, by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int capture_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG) {
        return 0;
    }
    va_list measure;
    va_copy(measure, args);
    const int n = std::vsnprintf(nullptr, 0, format, measure);
    va_end(measure);
    if (n <= 0) {
        return 0;
    }
    // The verifier's log comes as one message; keep whole messages, bounded.
    std::string message(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(message.data(), message.size(), format, args);
    message.pop_back();
    auto& log = captured_log();
    constexpr std::size_t kKeep = 64 * 1024;
    log += message;
    if (log.size() > kKeep) {
        log.erase(0, log.size() - kKeep);
    }
    return 0;
}
#pragma GCC diagnostic pop

int quiet_libbpf(enum libbpf_print_level /*level*/, const char* /*format*/, va_list /*args*/) {
    return 0;
}

// The verifier's verdict: the last line of the program load log.
std::string verifier_verdict(const std::string& log) {
    const auto end = log.find("-- END PROG LOAD LOG --");
    if (end == std::string::npos) {
        return "";
    }
    std::string body = log.substr(0, end);
    while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) {
        body.pop_back();
    }
    std::size_t start = body.rfind('\n');
    std::string last = body.substr(start == std::string::npos ? 0 : start + 1);
    // "processed N insns ..." follows the verdict: take the line before it.
    if (last.rfind("processed ", 0) == 0 && start != std::string::npos) {
        body.resize(start);
        start = body.rfind('\n');
        last = body.substr(start == std::string::npos ? 0 : start + 1);
    }
    return last;
}

std::string kernel_release() {
    utsname u{};
    return ::uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

tl::unexpected<Error> load_failure(std::string message) {
    return make_error(ErrorCode::kIo, std::move(message));
}

// libbpf returns -errno.
std::string error_text(int err) {
    return errno_text(err < 0 ? -err : err);
}

bool permission_error(int err) {
    err = err < 0 ? -err : err;
    return err == EPERM || err == EACCES;
}

// "CAP_BPF and CAP_PERFMON", one of them, or "" when the process has what it
// needs (CAP_SYS_ADMIN covers both).
std::string missing_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (::syscall(SYS_capget, &header, data) != 0) {
        return "";  // cannot tell: let the kernel decide
    }
    auto has = [&](unsigned cap) { return (data[cap / 32].effective & (1U << (cap % 32))) != 0; };
    if (has(CAP_SYS_ADMIN)) {
        return "";
    }
    const bool bpf = has(CAP_BPF);
    const bool perfmon = has(CAP_PERFMON);
    if (bpf && perfmon) {
        return "";
    }
    if (!bpf && !perfmon) {
        return "CAP_BPF and CAP_PERFMON";
    }
    return bpf ? "CAP_PERFMON" : "CAP_BPF";
}

constexpr const char* kNeedCaps =
    "permission denied: the bpf census engine needs CAP_BPF and "
    "CAP_PERFMON (or CAP_SYS_ADMIN)";

}  // namespace

struct BpfCensusEngine::Impl {
    tcp_census* skel = nullptr;
    std::size_t cpus = 0;
    int deltas_fd = -1;
    int window_fd = -1;
    int cookies_fd = -1;
    int errors_fd = -1;
    int grace_fd = -1;
    int grace_inner_fd = -1;
    int state_prog_fd = -1;
    int syn_queue_prog_fd = -1;
    int collect_prog_fd = -1;

    ~Impl() {
        if (skel != nullptr) {
            tcp_census__destroy(skel);
        }
    }

    // Every BPF program that could have seen the old frozen_netns has finished:
    // a map-in-map update from user space waits for them (synchronize_rcu).
    Result<void> grace_period() const {
        const std::uint32_t slot = 0;
        if (bpf_map_update_elem(grace_fd, &slot, &grace_inner_fd, BPF_ANY) != 0) {
            const int err = errno;
            return make_error(ErrorCode::kIo,
                              "bpf census: grace period (map-in-map update): " + error_text(err));
        }
        return {};
    }

    void set_frozen(std::uint32_t netns) const {
        __atomic_store_n(&skel->bss->frozen_netns, netns, __ATOMIC_SEQ_CST);
    }

    Result<int> run_on_demand(int prog_fd, std::uint32_t netns) const {
        std::uint64_t args[1] = {netns};
        // What LIBBPF_OPTS does, without its C99 compound literal.
        bpf_test_run_opts run{};
        run.sz = sizeof run;
        run.ctx_in = args;
        run.ctx_size_in = sizeof args;
        if (bpf_prog_test_run_opts(prog_fd, &run) != 0) {
            const int err = errno;
            return make_error(ErrorCode::kIo,
                              "bpf census: running a program on demand: " + error_text(err));
        }
        return static_cast<int>(run.retval);
    }

    // Every key of a hash map (nothing else writes it while this runs).
    template <typename Key>
    Result<std::vector<Key>> keys_of(int fd) const {
        std::vector<Key> keys;
        Key key{};
        Key next{};
        const Key* previous = nullptr;
        while (bpf_map_get_next_key(fd, previous, &next) == 0) {
            keys.push_back(next);
            key = next;
            previous = &key;
        }
        if (errno != ENOENT) {
            const int err = errno;
            return make_error(ErrorCode::kIo, "bpf census: walking a map: " + error_text(err));
        }
        return keys;
    }

    Result<KernelStateCounts> read_deltas(std::uint32_t netns) const {
        std::vector<std::int64_t> per_cpu(cpus * kKernelStateSlots);
        if (bpf_map_lookup_elem(deltas_fd, &netns, per_cpu.data()) != 0) {
            if (errno == ENOENT) {
                return KernelStateCounts{};
            }
            const int err = errno;
            return make_error(ErrorCode::kIo, "bpf census: reading counters: " + error_text(err));
        }
        return sum_per_cpu(per_cpu, cpus);
    }
};

BpfCensusEngine::BpfCensusEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfCensusEngine::~BpfCensusEngine() = default;

Result<std::unique_ptr<BpfCensusEngine>> BpfCensusEngine::load(BpfEngineOptions options) {
    if (auto caps = missing_capabilities(); !caps.empty()) {
        return load_failure("permission denied: the bpf census engine needs " + caps +
                            " (CAP_SYS_ADMIN would also do)");
    }
    if (::access(kKernelBtf, R_OK) != 0) {
        return load_failure(std::string("no kernel BTF (") + kKernelBtf +
                            " is missing; the kernel needs CONFIG_DEBUG_INFO_BTF)");
    }
    captured_log().clear();
    libbpf_set_print(capture_libbpf);
    // Afterwards libbpf stays quiet: errors come back as values.
    struct QuietAfterLoad {
        ~QuietAfterLoad() { libbpf_set_print(quiet_libbpf); }
    } quiet_after_load;

    auto impl = std::make_unique<Impl>();
    impl->skel = tcp_census__open();
    if (impl->skel == nullptr) {
        const int err = errno;
        return load_failure("cannot open the bpf program: " + error_text(err));
    }
    impl->skel->rodata->force_reject = options.force_verifier_reject ? 1U : 0U;
    // Run on demand only (BPF_PROG_TEST_RUN), never attached.
    bpf_program__set_autoattach(impl->skel->progs.tcptune_syn_queue, false);
    bpf_program__set_autoattach(impl->skel->progs.tcptune_collect_cookies, false);

    if (const int err = tcp_census__load(impl->skel); err != 0) {
        // The verifier answers EACCES too: its log tells a rejection from a
        // missing capability.
        const std::string verdict = verifier_verdict(captured_log());
        if (!verdict.empty()) {
            return load_failure("the kernel's verifier rejected the bpf program (" + verdict +
                                "; kernel " + kernel_release() + ")");
        }
        if (permission_error(err)) {
            return load_failure(kNeedCaps);
        }
        return load_failure("cannot load the bpf program into kernel " + kernel_release() + ": " +
                            error_text(err));
    }
    if (const int err = tcp_census__attach(impl->skel); err != 0) {
        if (permission_error(err)) {
            return load_failure(kNeedCaps);
        }
        if (err == -ENOENT) {
            return load_failure("tracepoint sock:inet_sock_set_state not found (kernel " +
                                kernel_release() + " too old?)");
        }
        return load_failure("cannot attach to sock:inet_sock_set_state: " + error_text(err));
    }

    auto& s = *impl->skel;
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return load_failure("cannot tell the number of possible CPUs: " + error_text(cpus));
    }
    impl->cpus = static_cast<std::size_t>(cpus);
    impl->deltas_fd = bpf_map__fd(s.maps.state_deltas);
    impl->window_fd = bpf_map__fd(s.maps.window);
    impl->cookies_fd = bpf_map__fd(s.maps.window_cookies);
    impl->errors_fd = bpf_map__fd(s.maps.errors);
    impl->grace_fd = bpf_map__fd(s.maps.grace);
    impl->grace_inner_fd = bpf_map__fd(s.maps.grace_inner);
    impl->state_prog_fd = bpf_program__fd(s.progs.tcptune_state_change);
    impl->syn_queue_prog_fd = bpf_program__fd(s.progs.tcptune_syn_queue);
    impl->collect_prog_fd = bpf_program__fd(s.progs.tcptune_collect_cookies);

    // The on-demand parts must work too, or seeding could not.
    if (auto ran = impl->run_on_demand(impl->syn_queue_prog_fd, 0); !ran) {
        return load_failure("kernel " + kernel_release() +
                            " cannot run bpf programs on demand (BPF_PROG_TEST_RUN of raw "
                            "tracepoints, Linux 5.10+): " +
                            ran.error().message);
    }
    if (auto grace = impl->grace_period(); !grace) {
        return load_failure(grace.error().message);
    }
    return std::unique_ptr<BpfCensusEngine>(new BpfCensusEngine(std::move(impl)));
}

Result<KernelStateCounts> BpfCensusEngine::deltas(std::uint32_t netns) {
    return impl_->read_deltas(netns);
}

Result<SynQueues> BpfCensusEngine::syn_queues(std::uint32_t netns) {
    TRY(impl_->run_on_demand(impl_->syn_queue_prog_fd, netns));
    SynQueues queues;
    queues.requests = __atomic_load_n(&impl_->skel->bss->syn_queue_result, __ATOMIC_SEQ_CST);
    queues.listeners = __atomic_load_n(&impl_->skel->bss->syn_queue_listeners, __ATOMIC_SEQ_CST);
    return queues;
}

Result<SeedPoint> BpfCensusEngine::seed(std::uint32_t netns, const DumpInto& dump) {
    Impl& impl = *impl_;
    SeedPoint point;
    DumpCollector collector;
    LostEvents lost_before;
    TRY_ASSIGN(lost_before, lost_events());

    impl.set_frozen(netns);
    Result<void> frozen = impl.grace_period();
    Result<KernelStateCounts> base =
        frozen ? impl.read_deltas(netns)
               : Result<KernelStateCounts>(tl::unexpected(frozen.error()));
    Result<void> dumped = base ? dump(collector) : Result<void>(tl::unexpected(base.error()));
    Result<int> collected = dumped ? impl.run_on_demand(impl.collect_prog_fd, netns)
                                   : Result<int>(tl::unexpected(dumped.error()));

    // Thaw whatever happened above: the namespace must never stay uncounted.
    impl.set_frozen(0);
    auto thawed = impl.grace_period();

    auto window_keys = impl.keys_of<std::uint64_t>(impl.window_fd);
    auto cookie_keys = impl.keys_of<std::uint64_t>(impl.cookies_fd);
    std::vector<WindowSocket> window;
    std::vector<std::uint64_t> cookies;
    if (window_keys) {
        for (std::uint64_t key : *window_keys) {
            tcptune_window_socket seen{};
            if (bpf_map_lookup_elem(impl.window_fd, &key, &seen) == 0 && seen.netns == netns) {
                window.push_back(WindowSocket{seen.first_old, seen.last_new});
            }
            bpf_map_delete_elem(impl.window_fd, &key);
        }
    }
    if (cookie_keys) {
        for (std::uint64_t cookie : *cookie_keys) {
            std::uint32_t owner = 0;
            if (bpf_map_lookup_elem(impl.cookies_fd, &cookie, &owner) == 0 && owner == netns) {
                cookies.push_back(cookie);
            }
            bpf_map_delete_elem(impl.cookies_fd, &cookie);
        }
    }

    for (const auto* step : {&frozen, &dumped, &thawed}) {
        if (!*step) {
            return tl::unexpected(step->error());
        }
    }
    if (!base) {
        return tl::unexpected(base.error());
    }
    if (!collected) {
        return tl::unexpected(collected.error());
    }
    if (!window_keys) {
        return tl::unexpected(window_keys.error());
    }
    if (!cookie_keys) {
        return tl::unexpected(cookie_keys.error());
    }
    LostEvents lost_after;
    TRY_ASSIGN(lost_after, lost_events());
    if (lost_after.window_full != lost_before.window_full) {
        return make_error(ErrorCode::kIo,
                          "bpf census: the seeding window overflowed (more than " +
                              std::to_string(TCPTUNE_MAX_WINDOW_SOCKETS) +
                              " sockets changed state during the dump); retrying at the next poll");
    }
    collector.finish();
    point.exact = seeded_counts(collector, window, cookies);
    const KernelStateCounts change = window_change(window);
    for (std::size_t i = 0; i < kKernelStateSlots; ++i) {
        point.exact_at_freeze[i] = point.exact[i] - change[i];
    }
    point.deltas = *base;
    point.dumped_sockets = collector.sockets();
    point.window_sockets = window.size();
    point.window_cookies = cookies.size();
    return point;
}

Result<LostEvents> BpfCensusEngine::lost_events() {
    LostEvents lost;
    auto misses = [](int fd) -> Result<std::uint64_t> {
        bpf_prog_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
            const int err = errno;
            return make_error(ErrorCode::kIo,
                              "bpf census: reading program info: " + error_text(err));
        }
        return info.recursion_misses;
    };
    std::uint64_t primary_misses = 0;
    TRY_ASSIGN(primary_misses, misses(impl_->state_prog_fd));
    std::vector<std::uint64_t> per_cpu(impl_->cpus);
    auto slot_sum = [&](std::uint32_t slot) -> std::uint64_t {
        if (bpf_map_lookup_elem(impl_->errors_fd, &slot, per_cpu.data()) != 0) {
            return 0;
        }
        std::uint64_t sum = 0;
        for (auto n : per_cpu) {
            sum += n;
        }
        return sum;
    };
    lost.counter_map_full = slot_sum(TCPTUNE_ERR_DELTAS_FULL);
    lost.window_full = slot_sum(TCPTUNE_ERR_WINDOW_FULL);
    lost.listener_map_full = slot_sum(TCPTUNE_ERR_LISTENERS_FULL);
    // The first program's skipped runs that the second one counted are not lost.
    const std::uint64_t recovered = slot_sum(TCPTUNE_RECOVERED_NESTED);
    lost.recovered_nested = recovered;
    lost.recursion_misses = primary_misses > recovered ? primary_misses - recovered : 0;
    return lost;
}

std::uint32_t BpfCensusEngine::counters_map_id() const {
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(impl_->deltas_fd, &info, &len) == 0 ? info.id : 0;
}

Result<std::size_t> BpfCensusEngine::forget_idle_namespaces(std::span<const std::uint32_t> keep) {
    std::vector<std::uint32_t> keys;
    TRY_ASSIGN(keys, impl_->keys_of<std::uint32_t>(impl_->deltas_fd));
    std::size_t dropped = 0;
    for (std::uint32_t netns : keys) {
        if (std::find(keep.begin(), keep.end(), netns) != keep.end()) {
            continue;
        }
        auto counts = impl_->read_deltas(netns);
        if (counts && std::all_of(counts->begin(), counts->end(), [](auto n) { return n == 0; })) {
            // A state change racing with this delete is lost for that namespace
            // only; it is not served (not in keep), and seeding it later starts
            // from a dump anyway.
            if (bpf_map_delete_elem(impl_->deltas_fd, &netns) == 0) {
                ++dropped;
            }
        }
    }
    return dropped;
}

}  // namespace tcptune
