#include "tcptune/apply/sysctl_store.hpp"

#include <cerrno>
#include <filesystem>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"

namespace tcptune {
namespace {

using test::FakeProcSys;

TEST(SysctlStore, ReadsDottedKeysBelowTheRootAndNormalizes) {
    FakeProcSys proc;
    proc.set("net.ipv4.ip_local_port_range", "32768\t60999");
    proc.set("net.ipv4.tcp_fin_timeout", "60");
    ProcSysctlStore store(proc.root());
    EXPECT_EQ(store.read("net.ipv4.ip_local_port_range").value(), "32768 60999");
    EXPECT_EQ(store.read("net.ipv4.tcp_fin_timeout").value(), "60");
}

TEST(SysctlStore, WriteReplacesTheWholeValue) {
    FakeProcSys proc;
    proc.set("net.ipv4.tcp_max_syn_backlog", "131072");
    ProcSysctlStore store(proc.root());
    ASSERT_TRUE(store.write("net.ipv4.tcp_max_syn_backlog", "512"));
    EXPECT_EQ(proc.raw("net.ipv4.tcp_max_syn_backlog"), "512\n");
    EXPECT_EQ(store.read("net.ipv4.tcp_max_syn_backlog").value(), "512");
}

TEST(SysctlStore, NeverCreatesAKeyThatDoesNotExist) {
    FakeProcSys proc;
    proc.set("net.ipv4.tcp_fin_timeout", "60");
    ProcSysctlStore store(proc.root());
    auto written = store.write("net.ipv4.tcp_no_such_key", "1");
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code, ErrorCode::kNotFound);
    EXPECT_NE(written.error().message.find("ENOENT"), std::string::npos) << written.error().message;
    EXPECT_FALSE(std::filesystem::exists(proc.root() / "net/ipv4/tcp_no_such_key"));
    EXPECT_EQ(store.read("net.ipv4.tcp_no_such_key").error().code, ErrorCode::kNotFound);
}

TEST(SysctlStore, ReportsTheKernelErrnoOnFailedWrites) {
    FakeProcSys proc;
    proc.set("net.ipv4.tcp_fin_timeout", "60");
    // A directory where a value is expected: open(O_WRONLY) fails with EISDIR,
    // standing in for any errno the kernel answers with.
    std::filesystem::create_directories(proc.root() / "net/ipv4/conf");
    ProcSysctlStore store(proc.root());
    auto written = store.write("net.ipv4.conf", "1");
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("EISDIR"), std::string::npos) << written.error().message;
    EXPECT_NE(written.error().message.find("errno " + std::to_string(EISDIR)), std::string::npos);
}

TEST(SysctlStore, RefusesKeysThatCouldEscapeTheRoot) {
    const std::filesystem::path root = "/proc/sys";
    for (const char* bad : {"", ".", "net..ipv4", "net.ipv4.", ".net", "net/ipv4/tcp_fin_timeout",
                            "net.ipv4.tcp fin", "..", "net.ipv4.*"}) {
        EXPECT_FALSE(sysctl_key_path(root, bad)) << bad;
    }
    EXPECT_EQ(sysctl_key_path(root, "net.ipv4.tcp_fin_timeout").value(),
              root / "net/ipv4/tcp_fin_timeout");
    EXPECT_EQ(sysctl_key_path(root, "net.ipv4.conf.eth-0.rp_filter").value(),
              root / "net/ipv4/conf/eth-0/rp_filter");
}

TEST(SysctlStore, DescribeErrnoNamesTheErrno) {
    EXPECT_EQ(errno_text(EINVAL), "Invalid argument (EINVAL, errno 22)");
}

}  // namespace
}  // namespace tcptune
