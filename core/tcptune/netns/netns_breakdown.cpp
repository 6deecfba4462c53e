#include "tcptune/netns/netns_breakdown.hpp"

#include "tcptune/netns/netns_enter.hpp"

namespace tcptune {

Result<Breakdown> take_namespace_breakdown(const NetnsInfo& ns, BreakdownOptions options) {
    // /proc/net follows the thread-group leader's namespace, not this thread's.
    if (options.proc_net_dir == "/proc/net") {
        options.proc_net_dir = "/proc/thread-self/net";
    }
    return run_in_namespace<Breakdown>(ns, [&] { return take_breakdown(options); });
}

}  // namespace tcptune
