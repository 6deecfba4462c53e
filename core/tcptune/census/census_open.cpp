#include "tcptune/census/census_open.hpp"

#include <utility>

#include "tcptune/census/census_bpf.hpp"
#include "tcptune/census/census_netlink.hpp"

namespace tcptune {

namespace {

// The netlink engine when auto wanted bpf: every snapshot says why.
class FallbackCensusSource final : public CensusSource {
  public:
    FallbackCensusSource(std::unique_ptr<CensusSource> inner, std::string reason)
        : inner_(std::move(inner)), reason_(std::move(reason)) {}

    Result<CensusSnapshot> poll() override {
        auto snapshot = inner_->poll();
        if (snapshot) {
            snapshot->engine.fallback_reason = reason_;
        }
        return snapshot;
    }

    Result<CensusSnapshot> poll_for(const SignalRequest& request) override {
        auto snapshot = inner_->poll_for(request);
        if (snapshot) {
            snapshot->engine.fallback_reason = reason_;
        }
        return snapshot;
    }

  private:
    std::unique_ptr<CensusSource> inner_;
    std::string reason_;
};

}  // namespace

Result<OpenedCensus> open_census(const CensusEngineOptions& options) {
    OpenedCensus opened;
    if (options.choice != CensusEngineChoice::kNetlink) {
        BpfCensusOptions bpf;
        bpf.netlink = options.netlink;
        bpf.reconcile_interval = options.reconcile_interval;
        bpf.engine = options.bpf;
        auto source = BpfCensusSource::open(std::move(bpf));
        if (source) {
            opened.source = std::move(*source);
            opened.engine = CensusEngineKind::kBpf;
            return opened;
        }
        if (options.choice == CensusEngineChoice::kBpf) {
            return tl::unexpected(source.error());
        }
        opened.fallback_reason = source.error().message;
    }
    std::unique_ptr<CensusSource> netlink;
    TRY_ASSIGN(netlink, make_netlink_census_source(options.netlink));
    opened.source =
        opened.fallback_reason.empty()
            ? std::move(netlink)
            : std::make_unique<FallbackCensusSource>(std::move(netlink), opened.fallback_reason);
    return opened;
}

}  // namespace tcptune
