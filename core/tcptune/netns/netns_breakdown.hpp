#pragma once

// `top` of another network namespace: the same one-dump breakdown as take_breakdown(),
// taken on a thread that entered the namespace (netns_enter.hpp), with the /proc/net
// and /proc/sys reads of that thread (/proc/thread-self/net; net.* sysctls resolve in
// the reading thread's namespace). Processes are still found through /proc/<pid>/fd:
// socket inodes are unique host-wide.

#include "tcptune/diagnosis/breakdown.hpp"
#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/result.hpp"

namespace tcptune {

// kNotFound when the namespace vanished, kPermissionDenied without CAP_SYS_ADMIN.
Result<Breakdown> take_namespace_breakdown(const NetnsInfo& ns, BreakdownOptions options);

}  // namespace tcptune
