#include "tcptune/netns/netns_sysctl_store.hpp"

#include <functional>
#include <utility>

#include "tcptune/netns/netns_enter.hpp"

namespace tcptune {

Result<std::uint64_t> read_netns_cookie(const NetnsInfo& ns) {
    return run_in_namespace<std::uint64_t>(
        ns, []() -> Result<std::uint64_t> { return current_netns_cookie(); });
}

NetnsSysctlStore::NetnsSysctlStore(NetnsInfo ns) : ns_(std::move(ns)) {}

Result<std::string> NetnsSysctlStore::read(std::string_view key) const {
    return run_in_namespace<std::string>(ns_, [&] { return ProcSysctlStore().read(key); });
}

Result<void> NetnsSysctlStore::write(std::string_view key, std::string_view value) {
    return run_in_namespace<void>(ns_, [&] { return ProcSysctlStore().write(key, value); });
}

}  // namespace tcptune
