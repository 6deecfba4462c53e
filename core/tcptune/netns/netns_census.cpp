#include "tcptune/netns/netns_census.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <exception>
#include <thread>

#include <fmt/format.h>

#include "tcptune/census/netlink_diag_socket.hpp"
#include "tcptune/census/proc_net.hpp"
#include "tcptune/netns/netns_enter.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kTimeWaitBit = 1U << static_cast<unsigned>(TcpState::kTimeWait);

class SetnsCensusEngine final : public NamespaceCensusEngine {
  public:
    explicit SetnsCensusEngine(SetnsCensusOptions options) : options_(std::move(options)) {}

    std::string_view name() const override { return "netlink"; }

    Result<NamespaceCensusReport> count(std::span<const NetnsInfo> namespaces) override {
        return run_on_census_thread([&] { return run(namespaces); });
    }

  private:
    Result<NamespaceCensusReport> run(std::span<const NetnsInfo> namespaces) {
        const auto started = Clock::now();
        UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        if (!home) {
            const int err = errno;
            return make_error(ErrorCode::kIo,
                              "cannot open this thread's network namespace: " + errno_text(err));
        }
        NamespaceCensusReport report;
        for (const NetnsInfo& ns : namespaces) {
            auto counted = count_one(ns, home);
            if (!counted) {
                report.failed.push_back({ns, counted.error()});
            } else if (!*counted) {
                report.vanished.push_back(ns);
            } else {
                report.namespaces.push_back(std::move(**counted));
            }
        }
        report.duration = Clock::now() - started;
        return report;
    }

    Result<std::optional<NamespaceCounts>> count_one(const NetnsInfo& ns,
                                                     const UniqueFd& home) const {
        const auto started = Clock::now();
        bool entered = false;
        TRY_ASSIGN(entered, enter_namespace(ns, home.get()));
        if (!entered) {
            return std::optional<NamespaceCounts>{};
        }
        NamespaceCounts out;
        out.ns = ns;
        out.ns.cookie = current_netns_cookie();
        // Without entering when a process is known (the cheap path the daemon can poll
        // on its own); if that process is gone, this thread is in the namespace anyway.
        auto sockstat = ns.pid && !ns.own ? read_namespace_sockstat(ns, options_.proc_dir)
                                          : make_error(ErrorCode::kNotFound, "no process");
        if (!sockstat && sockstat.error().code == ErrorCode::kNotFound) {
            sockstat = read_sockstat(options_.proc_dir / "thread-self/net");
        }
        if (!sockstat) {
            return tl::unexpected(sockstat.error());
        }
        out.sockstat = *sockstat;

        auto opened = InetDiagSocket::open();
        if (!opened) {
            return tl::unexpected(opened.error());
        }
        InetDiagSocket& socket = *opened;
        const std::uint32_t mask = options_.time_wait_from_sockstat
                                       ? kTcpDumpStateMask & ~kTimeWaitBit
                                       : kTcpDumpStateMask;
        TRY_ASSIGN(out.counts,
                   socket.count_tcp(NoSocketVisitor{}, options_.max_dump_attempts, mask));
        if (options_.time_wait_from_sockstat) {
            out.counts[TcpState::kTimeWait] = out.sockstat.tcp_tw;
        }
        out.duration = Clock::now() - started;
        return std::optional<NamespaceCounts>{std::move(out)};
    }

    SetnsCensusOptions options_;
};

}  // namespace

Result<NamespaceCensusReport> run_on_census_thread(
    const std::function<Result<NamespaceCensusReport>()>& round) {
    return run_on_worker_thread<NamespaceCensusReport>(round, "namespace census");
}

std::unique_ptr<NamespaceCensusEngine> make_setns_census_engine(SetnsCensusOptions options) {
    return std::make_unique<SetnsCensusEngine>(std::move(options));
}

Result<SockstatSummary> read_namespace_sockstat(const NetnsInfo& ns,
                                                const std::filesystem::path& proc_dir) {
    if (!ns.pid) {
        return make_error(
            ErrorCode::kNotFound,
            fmt::format("namespace {} has no process to read its sockstat through", ns.name));
    }
    const auto pid_dir = proc_dir / std::to_string(*ns.pid);
    SockstatSummary summary;
    TRY_ASSIGN(summary, read_sockstat(pid_dir / "net"));
    // The pid may have exited and been reused, or moved: check after the read.
    auto id = netns_id_of(pid_dir / "ns/net");
    if (!id || *id != ns.id) {
        return make_error(
            ErrorCode::kNotFound,
            fmt::format("process {} left namespace {} during the read", *ns.pid, ns.name));
    }
    return summary;
}

}  // namespace tcptune
