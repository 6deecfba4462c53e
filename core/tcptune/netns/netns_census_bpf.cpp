#include "tcptune/netns/netns_census_bpf.hpp"

#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tcptune/census/bpf/bpf_census_engine.hpp"
#include "tcptune/census/census_bpf.hpp"
#include "tcptune/netns/netns_enter.hpp"

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
    using SourceKey = std::pair<NetnsId, std::uint64_t>;  // (inode, device), cookie

    Result<NamespaceCensusReport> run(std::span<const NetnsInfo> namespaces) {
        const auto started = Clock::now();
        NamespaceCensusReport report;
        std::map<SourceKey, std::unique_ptr<BpfCensusSource>> kept;
        std::vector<std::uint32_t> keep;
        for (const NetnsInfo& ns : namespaces) {
            const auto one_started = Clock::now();
            auto entered = enter_namespace(ns);
            if (!entered) {
                report.failed.push_back({ns, entered.error()});
                continue;
            }
            if (!*entered) {
                report.vanished.push_back(ns);
                continue;
            }
            NetnsInfo here = ns;
            here.cookie = current_netns_cookie();
            // A namespace that got a vanished one's inode is a new namespace: the
            // old one's source (seeded from the old one's sockets) must not count it.
            const SourceKey key{ns.id, here.cookie};
            auto& source = sources_[key];
            if (!source) {
                BpfCensusOptions options;
                options.netns = static_cast<std::uint32_t>(ns.id.inode);
                options.netlink.proc_net_dir = "/proc/thread-self/net";
                options.reconcile_interval = reconcile_;
                auto attached = BpfCensusSource::attach(engine_, options);
                if (!attached) {
                    report.failed.push_back({ns, attached.error()});
                    sources_.erase(key);
                    continue;
                }
                source = std::move(*attached);
            }
            auto snapshot = source->poll();
            if (!snapshot) {
                report.failed.push_back({ns, snapshot.error()});
                sources_.erase(key);
                continue;
            }
            keep.push_back(static_cast<std::uint32_t>(ns.id.inode));
            kept[key] = std::move(source);
            sources_.erase(key);
            report.namespaces.push_back(
                {here, snapshot->counts, snapshot->sockstat,
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
    std::map<SourceKey, std::unique_ptr<BpfCensusSource>> sources_;
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
