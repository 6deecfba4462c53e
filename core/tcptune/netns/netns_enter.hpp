#pragma once

// Working inside another network namespace without moving the caller: setns() changes
// the calling thread only, so the work runs on a thread of its own that enters the
// namespace, and the caller's thread (the CLI's main thread, the daemon's loop) never
// changes namespace. Shared by the census of other namespaces (netns_census.hpp), `top
// --netns` and the daemon's GetNamespaceTop.

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tcptune/netns/netns_discovery.hpp"
#include "tcptune/result.hpp"
#include "tcptune/unique_fd.hpp"

namespace tcptune {

// Runs `work` on a thread of its own and returns what it returned. An exception
// becomes a kInternal error naming `what`.
template <typename T>
Result<T> run_on_worker_thread(const std::function<Result<T>()>& work, std::string_view what) {
    Result<T> result = make_error(ErrorCode::kInternal, std::string(what) + ": worker did not run");
    std::thread worker([&] {
        try {
            result = work();
        } catch (const std::exception& e) {
            result = make_error(ErrorCode::kInternal, std::string(what) + ": " + e.what());
        }
    });
    worker.join();
    return result;
}

// Opens the namespace file of `ns` and checks it is still the namespace discovery saw
// (a pid reused by a process of another namespace, or an inode reused, counts as
// vanished): nullopt when it vanished.
Result<std::optional<UniqueFd>> open_namespace(const NetnsInfo& ns);

// Moves the calling thread into `ns` (its own namespace: `home`, a descriptor of it).
// false: the namespace vanished. kPermissionDenied without CAP_SYS_ADMIN.
Result<bool> enter_namespace(const NetnsInfo& ns, int home = -1);

// The calling thread's namespace cookie (SO_NETNS_COOKIE, Linux 5.14+): unlike the
// inode, never reused while the system runs, so state kept across polls can tell a new
// namespace on an old inode from the old one. 0 when the kernel does not tell.
std::uint64_t current_netns_cookie();

// `--netns SPEC` resolved the one way every verb does: discovery, then
// select_namespaces() ("all", a name, an inode, a pid or a path).
Result<std::vector<NetnsInfo>> resolve_namespaces(std::string_view spec,
                                                  const NetnsDiscoveryOptions& options = {});
// Exactly one namespace ("all" is a usage error, kParse).
Result<NetnsInfo> resolve_one_namespace(std::string_view spec,
                                        const NetnsDiscoveryOptions& options = {});

// Runs `work` on a thread that entered `ns` (kNotFound when the namespace vanished).
template <typename T>
Result<T> run_in_namespace(const NetnsInfo& ns, const std::function<Result<T>()>& work) {
    return run_on_worker_thread<T>(
        [&]() -> Result<T> {
            bool entered = false;
            TRY_ASSIGN(entered, enter_namespace(ns));
            if (!entered) {
                return make_error(ErrorCode::kNotFound,
                                  "network namespace " + ns.name + " vanished");
            }
            return work();
        },
        "namespace " + ns.name);
}

}  // namespace tcptune
