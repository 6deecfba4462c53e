#include "tcptune/netns/netns_census_bpf.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <vector>

#include <fmt/format.h>

#include "tcptune/census/bpf/bpf_census_engine.hpp"
#include "tcptune/census/census_bpf.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune {

namespace {

using Clock = std::chrono::steady_clock;

class BpfNamespaceCensusEngine final : public NamespaceCensusEngine {
  public:
    BpfNamespaceCensusEngine(std::shared_ptr<BpfCensusEngine> engine,
                             std::chrono::milliseconds reconcile)
        : engine_(std::move(engine)), reconcile_(reconcile) {}

    std::string_view name() const override { return "bpf"; }

    Result<NamespaceCensusReport> count(std::span<const NetnsInfo> namespaces) override {
        return run_on_census_thread([&] { return run(namespaces); });
    }

  private:
    Result<NamespaceCensusReport> run(std::span<const NetnsInfo> namespaces) {
        const auto started = Clock::now();
        NamespaceCensusReport report;
        std::map<NetnsId, std::unique_ptr<BpfCensusSource>> kept;
        std::vector<std::uint32_t> keep;
        for (const NetnsInfo& ns : namespaces) {
            const auto one_started = Clock::now();
            UniqueFd fd(::open(ns.handle.c_str(), O_RDONLY | O_CLOEXEC));
            struct stat st {};
            if (!fd || ::fstat(fd.get(), &st) != 0 ||
                NetnsId{static_cast<std::uint64_t>(st.st_ino),
                        static_cast<std::uint64_t>(st.st_dev)} != ns.id) {
                report.vanished.push_back(ns);
                continue;
            }
            if (::setns(fd.get(), CLONE_NEWNET) != 0) {
                const int err = errno;
                report.failed.push_back(
                    {ns, Error{err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kIo,
                               fmt::format("cannot enter network namespace {}: {}", ns.name,
                                           errno_text(err))}});
                continue;
            }
            auto& source = sources_[ns.id];
            if (!source) {
                BpfCensusOptions options;
                options.netns = static_cast<std::uint32_t>(ns.id.inode);
                options.netlink.proc_net_dir = "/proc/thread-self/net";
                options.reconcile_interval = reconcile_;
                auto attached = BpfCensusSource::attach(engine_, options);
                if (!attached) {
                    report.failed.push_back({ns, attached.error()});
                    sources_.erase(ns.id);
                    continue;
                }
                source = std::move(*attached);
            }
            auto snapshot = source->poll();
            if (!snapshot) {
                report.failed.push_back({ns, snapshot.error()});
                sources_.erase(ns.id);
                continue;
            }
            keep.push_back(static_cast<std::uint32_t>(ns.id.inode));
            kept[ns.id] = std::move(source);
            sources_.erase(ns.id);
            report.namespaces.push_back(
                {ns, snapshot->counts, snapshot->sockstat,
                 std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - one_started)});
        }
        // Namespaces not seen this round lose their source; their counters go once idle.
        sources_ = std::move(kept);
        (void)engine_->forget_idle_namespaces(keep);
        report.duration = Clock::now() - started;
        return report;
    }

    std::shared_ptr<BpfCensusEngine> engine_;
    std::chrono::milliseconds reconcile_;
    std::map<NetnsId, std::unique_ptr<BpfCensusSource>> sources_;
};

}  // namespace

Result<OpenedNamespaceCensus> open_namespace_census(CensusEngineChoice choice,
                                                    std::chrono::milliseconds reconcile_interval) {
    if (choice == CensusEngineChoice::kNetlink) {
        return OpenedNamespaceCensus{make_setns_census_engine(), ""};
    }
    auto loaded = BpfCensusEngine::load();
    if (!loaded) {
        if (choice == CensusEngineChoice::kBpf) {
            return tl::unexpected(loaded.error());
        }
        return OpenedNamespaceCensus{make_setns_census_engine(), loaded.error().message};
    }
    return OpenedNamespaceCensus{
        std::make_unique<BpfNamespaceCensusEngine>(
            std::shared_ptr<BpfCensusEngine>(std::move(*loaded)), reconcile_interval),
        ""};
}

}  // namespace tcptune
