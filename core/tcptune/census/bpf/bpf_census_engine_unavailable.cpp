// The census engine in a build without BPF support (TCPTUNE_BPF=OFF, or clang,
// bpftool, libbpf or kernel BTF missing when it was configured).
#include "tcptune/census/bpf/bpf_census_engine.hpp"

namespace tcptune {

namespace {
tl::unexpected<Error> not_built_in() {
    return make_error(ErrorCode::kNotFound,
                      "this tcptune was built without the bpf census engine (TCPTUNE_BPF)");
}
}  // namespace

struct BpfCensusEngine::Impl {};

bool bpf_census_engine_built_in() {
    return false;
}

BpfCensusEngine::BpfCensusEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfCensusEngine::~BpfCensusEngine() = default;

Result<std::unique_ptr<BpfCensusEngine>> BpfCensusEngine::load(BpfEngineOptions /*options*/) {
    return not_built_in();
}
Result<KernelStateCounts> BpfCensusEngine::deltas(std::uint32_t /*netns*/) {
    return not_built_in();
}
Result<SynQueues> BpfCensusEngine::syn_queues(std::uint32_t /*netns*/) {
    return not_built_in();
}
Result<SeedPoint> BpfCensusEngine::seed(std::uint32_t /*netns*/, const DumpInto& /*dump*/) {
    return not_built_in();
}
Result<LostEvents> BpfCensusEngine::lost_events() {
    return not_built_in();
}
std::uint32_t BpfCensusEngine::counters_map_id() const {
    return 0;
}
Result<std::size_t> BpfCensusEngine::forget_idle_namespaces(
    std::span<const std::uint32_t> /*keep*/) {
    return not_built_in();
}

}  // namespace tcptune
