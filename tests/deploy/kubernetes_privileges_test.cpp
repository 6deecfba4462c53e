// The DaemonSet's privileges, measured on the real kernel (root; each test in its
// own network namespace). A root process left with only the capabilities
// deploy/kubernetes/tcptune.yaml adds (setpriv empties the rest of its bounding
// set, as the container runtime does) can find and enter another process's network
// namespace and write its TCP sysctls, and loses that when any one of them is
// taken away; the container's command makes a read-only /proc/sys writable with
// them; and the real tcptuned, holding only them, applies a profile's sysctls (and
// is not refused the bpf census engine).

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "manifest.hpp"
#include "support/daemon_process.hpp"
#include "support/files.hpp"
#include "support/netns.hpp"
#include "support/run_command.hpp"
#include "support/skip.hpp"
#include "support/traffic.hpp"

namespace tcptune::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTwReuse = "/proc/sys/net/ipv4/tcp_tw_reuse";

std::set<std::string> manifest_capabilities() {
    return string_set(tcptuned_container()["securityContext"]["capabilities"]["add"]);
}

// setpriv's --bounding-set argument that keeps exactly `caps` ("SYS_ADMIN" ...).
std::string bounding_set(const std::set<std::string>& caps) {
    std::string out = "-all";
    for (const auto& cap : caps) {
        std::string lower;
        for (char c : cap) {
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        out += ",+" + lower;
    }
    return out;
}

// Runs `script` with sh as root holding only `caps`.
CommandOutput run_with_only(const std::set<std::string>& caps, const std::string& script) {
    return run_process({"setpriv", "--bounding-set", bounding_set(caps), "--inh-caps", "-all", "sh",
                        "-c", script});
}

std::string ns_link(const std::string& pid) {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/" + pid + "/ns/net", ec).string();
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// Skips unless util-linux's setpriv, unshare and nsenter are there (scripts/deps.sh
// installs util-linux).
bool util_linux_installed() {
    return run_command("command -v setpriv && command -v unshare && command -v nsenter")
               .exit_code == 0;
}
#define REQUIRE_UTIL_LINUX()                    \
    TCPTUNE_SKIP_UNLESS(util_linux_installed(), \
                        "util-linux (setpriv, unshare, nsenter) is not installed")

TEST(KubernetesPrivilegesTest, TheCapabilitiesReachAnotherNamespaceAndEachIsNeeded) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    REQUIRE_UTIL_LINUX();
    const auto caps = manifest_capabilities();
    ASSERT_FALSE(caps.empty());

    // A pod's process: root with every capability, in a network namespace of its own.
    TempDir dir;
    DaemonLaunch launch;
    launch.binary = "/usr/bin/unshare";
    launch.args = {"-n", "sleep", "60"};
    launch.log_file = dir.path() / "pod.log";
    DaemonProcess pod(launch);
    ASSERT_TRUE(pod.start().has_value());
    const std::string pid = std::to_string(pod.pid());
    ASSERT_TRUE(eventually([&] { return ns_link(pid) != ns_link("self"); }, 5s))
        << "the pod process never entered its own namespace";

    const std::string ours = trimmed(read_text(kTwReuse));
    const std::string enter_and_write = "readlink /proc/" + pid +
                                        "/ns/net && nsenter --net=/proc/" + pid +
                                        "/ns/net sh -c 'echo 1 > " + kTwReuse + "'";
    // Each capability alone taken away: the namespace is out of reach.
    for (const auto& missing : caps) {
        auto fewer = caps;
        fewer.erase(missing);
        const auto denied = run_with_only(fewer, enter_and_write);
        EXPECT_NE(denied.exit_code, 0) << "without " << missing << " it still works, so " << missing
                                       << " is not needed: " << describe(denied);
    }
    const auto written = run_with_only(caps, enter_and_write);
    ASSERT_EQ(written.exit_code, 0) << describe(written);
    const auto theirs = run_process({"nsenter", "--net=/proc/" + pid + "/ns/net", "cat", kTwReuse});
    EXPECT_EQ(trimmed(theirs.out), "1") << describe(theirs);
    EXPECT_EQ(trimmed(read_text(kTwReuse)), ours) << "the write landed in the wrong namespace";
    pod.stop(2s);
}

// The container runtime mounts /proc/sys read-only; the DaemonSet's command makes it
// writable with the manifest's capabilities before it becomes tcptuned.
TEST(KubernetesPrivilegesTest, TheCommandMakesAReadOnlyProcSysWritable) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    REQUIRE_UTIL_LINUX();
    const auto command = tcptuned_container()["command"];
    ASSERT_EQ(command.size(), 4U);
    std::string script = command[2].as<std::string>();
    const std::string exec = R"(exec /usr/sbin/tcptuned "$@")";
    const auto at = script.find(exec);
    ASSERT_NE(at, std::string::npos) << script;
    const std::string write = std::string("echo 1 > ") + kTwReuse;
    script.replace(at, exec.size(), write);

    // What the runtime does, in a mount namespace of this test's own.
    const std::string runtime =
        "mount --bind /proc/sys /proc/sys && "
        "mount -o remount,bind,ro /proc/sys && ";
    const std::string only = "setpriv --bounding-set " + bounding_set(manifest_capabilities()) +
                             " --inh-caps -all sh -c ";
    const auto read_only = run_process({"unshare", "-m", "--propagation", "private", "sh", "-c",
                                        runtime + only + "'" + write + "'"});
    EXPECT_NE(read_only.exit_code, 0) << "the read-only /proc/sys was writable anyway";
    EXPECT_NE(trimmed(read_text(kTwReuse)), "1");

    const auto remounted = run_process({"unshare", "-m", "--propagation", "private", "sh", "-c",
                                        runtime + only + "'" + script + "'"});
    EXPECT_EQ(remounted.exit_code, 0) << describe(remounted);
    EXPECT_EQ(trimmed(read_text(kTwReuse)), "1");
}

// The real tcptuned with only the manifest's capabilities writes sysctls.
TEST(KubernetesPrivilegesTest, TcptunedAppliesAProfileWithOnlyTheseCapabilities) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    REQUIRE_UTIL_LINUX();
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "profiles");
    ASSERT_TRUE(write_text(dir.path() / "profiles" / "caps.yaml", R"(name: caps
description: fires while the namespace has more than 2 listeners
interval: 100ms
rules:
  - name: listeners
    when: { state: listen, above: 2, for: 1 }
    clear: { below: 1, for: 1 }
    apply:
      net.ipv4.tcp_tw_reuse: 1
      net.core.somaxconn: 8192
    why: "test: the DaemonSet's capabilities are enough to write"
)"));
    std::vector<int> listeners;
    for (int i = 0; i < 3; ++i) {
        auto fd = listen_on({"127.0.0.9", static_cast<std::uint16_t>(7100 + i)}, 8);
        ASSERT_TRUE(fd.has_value()) << fd.error().message;
        listeners.push_back(*fd);
    }
    auto launch = isolated_launch({.dir = dir.path(), .profile = "caps"});
    launch.args.insert(launch.args.begin(),
                       {"--bounding-set", bounding_set(manifest_capabilities()), "--inh-caps",
                        "-all", (std::filesystem::path(TCPTUNE_BIN_DIR) / "tcptuned").string()});
    launch.binary = "/usr/bin/setpriv";
    DaemonProcess daemon(launch);
    ASSERT_TRUE(daemon.start().has_value());
    EXPECT_TRUE(daemon.wait_for_log("applied net.ipv4.tcp_tw_reuse", 10s)) << daemon.log();
    EXPECT_TRUE(daemon.wait_for_log("applied net.core.somaxconn", 10s)) << daemon.log();
    EXPECT_EQ(trimmed(read_text(kTwReuse)), "1");
    EXPECT_EQ(trimmed(read_text("/proc/sys/net/core/somaxconn")), "8192");
    // CAP_SYS_ADMIN passes the bpf census engine's checks too: whatever engine it
    // picked (a kernel without BTF means netlink), it was not for want of privilege.
    ASSERT_TRUE(daemon.wait_for_log("census engine: ", 10s)) << daemon.log();
    EXPECT_EQ(daemon.count_in_log("permission denied"), 0U) << daemon.log();
    // It really ran with only those: nothing else in its bounding set.
    const std::string status = read_text("/proc/" + std::to_string(daemon.pid()) + "/status");
    const std::map<std::string, int> bits = {
        {"NET_ADMIN", 12}, {"SYS_PTRACE", 19}, {"SYS_ADMIN", 21}, {"PERFMON", 38}, {"BPF", 39}};
    unsigned long long expected = 0;
    for (const auto& cap : manifest_capabilities()) {
        ASSERT_EQ(bits.count(cap), 1U) << "unknown capability " << cap;
        expected |= 1ULL << bits.at(cap);
    }
    const auto line = status.find("CapBnd:\t");
    ASSERT_NE(line, std::string::npos);
    EXPECT_EQ(std::stoull(status.substr(line + 8, 16), nullptr, 16), expected);
    daemon.stop();
    for (int fd : listeners) {
        ::close(fd);
    }
}

}  // namespace
}  // namespace tcptune::test
