#include "tcptune/netns/cgroup_name.hpp"

#include <gtest/gtest.h>

namespace tcptune {
namespace {

constexpr const char* kId = "3f1e8a9b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

struct Layout {
    const char* what;
    std::string path;
    std::optional<std::string> name;
};

class CgroupLayouts : public ::testing::TestWithParam<Layout> {};

TEST_P(CgroupLayouts, NamesTheWorkload) {
    EXPECT_EQ(workload_name_from_cgroup(GetParam().path), GetParam().name) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, CgroupLayouts,
    ::testing::Values(
        Layout{"kubelet, systemd driver, containerd",
               std::string("/kubepods.slice/kubepods-burstable.slice/"
                           "kubepods-burstable-pod0f4a2b6c_1d2e_4f30_9a8b_7c6d5e4f3a2b.slice/"
                           "cri-containerd-") +
                   kId + ".scope",
               "pod:0f4a2b6c-1d2e-4f30-9a8b-7c6d5e4f3a2b"},
        Layout{"kubelet, systemd driver, guaranteed QoS, CRI-O",
               std::string("/kubepods.slice/kubepods-pod0f4a2b6c_1d2e_4f30_9a8b_7c6d5e4f3a2b.slice/"
                           "crio-") +
                   kId + ".scope",
               "pod:0f4a2b6c-1d2e-4f30-9a8b-7c6d5e4f3a2b"},
        Layout{"kubelet, cgroupfs driver",
               std::string("/kubepods/besteffort/pod0f4a2b6c-1d2e-4f30-9a8b-7c6d5e4f3a2b/") + kId,
               "pod:0f4a2b6c-1d2e-4f30-9a8b-7c6d5e4f3a2b"},
        Layout{"Docker, systemd driver", std::string("/system.slice/docker-") + kId + ".scope",
               "docker:3f1e8a9b2c4d"},
        Layout{"Docker, cgroupfs driver", std::string("/docker/") + kId, "docker:3f1e8a9b2c4d"},
        Layout{"containerd without Kubernetes",
               std::string("/system.slice/cri-containerd-") + kId + ".scope",
               "containerd:3f1e8a9b2c4d"},
        Layout{"CRI-O conmon", std::string("/machine.slice/crio-conmon-") + kId + ".scope",
               "crio:3f1e8a9b2c4d"},
        Layout{"Podman", std::string("/machine.slice/libpod-") + kId + ".scope/container",
               "podman:3f1e8a9b2c4d"},
        Layout{"systemd-nspawn service", "/machine.slice/systemd-nspawn@web1.service/payload",
               "machine:web1"},
        Layout{"machined scope, escaped dash",
               "/machine.slice/machine-edge\\x2dproxy.scope/payload", "machine:edge-proxy"},
        Layout{"an ordinary service", "/system.slice/nginx.service", std::nullopt},
        Layout{"a user session", "/user.slice/user-1000.slice/session-3.scope", std::nullopt},
        Layout{"docker word but no id", "/docker/not-an-id", std::nullopt},
        Layout{"root", "/", std::nullopt}));

TEST(CgroupPathFromProc, PrefersTheUnifiedHierarchy) {
    EXPECT_EQ(cgroup_path_from_proc("0::/system.slice/docker-abc.scope\n"),
              "/system.slice/docker-abc.scope");
    EXPECT_EQ(cgroup_path_from_proc("12:memory:/docker/abc\n0::/system.slice/x.scope\n"),
              "/system.slice/x.scope");
}

TEST(CgroupPathFromProc, FallsBackToTheFirstV1PathOnHybridHosts) {
    // The shape of a hybrid host: v2 is "/" and one v1 controller says more.
    EXPECT_EQ(cgroup_path_from_proc("9:name=systemd:/\n4:memory:/docker/abc\n3:cpuset:/\n0::/\n"),
              "/docker/abc");
}

TEST(CgroupPathFromProc, KeepsColonsInsideThePath) {
    EXPECT_EQ(cgroup_path_from_proc("0::/a:b/c\n"), "/a:b/c");
}

TEST(CgroupPathFromProc, EmptyForGarbageOrRootOnly) {
    EXPECT_EQ(cgroup_path_from_proc(""), "");
    EXPECT_EQ(cgroup_path_from_proc("no colons here\n0::/\n"), "");
}

}  // namespace
}  // namespace tcptune
