#include "tcptune/diagnosis/process_map.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fake_proc.hpp"

namespace tcptune {
namespace {

TEST(ParseSocketLink, AcceptsOnlySocketLinks) {
    EXPECT_EQ(parse_socket_link("socket:[12345]"), 12345U);
    EXPECT_EQ(parse_socket_link("socket:[4294967295]"), 4294967295U);
    EXPECT_FALSE(parse_socket_link("socket:[]"));
    EXPECT_FALSE(parse_socket_link("socket:[12a]"));
    EXPECT_FALSE(parse_socket_link("socket:[-1]"));
    EXPECT_FALSE(parse_socket_link("socket:[12"));
    EXPECT_FALSE(parse_socket_link("pipe:[12]"));
    EXPECT_FALSE(parse_socket_link("anon_inode:[eventpoll]"));
    EXPECT_FALSE(parse_socket_link("/dev/null"));
    EXPECT_FALSE(parse_socket_link(""));
}

class ProcTree : public ::testing::Test {
  protected:
    void process(int pid, const std::string& comm, const std::vector<std::string>& links) {
        proc_.process(pid, comm, links);
    }
    const std::filesystem::path& root() const { return proc_.root(); }
    test::FakeProc proc_;
};

TEST_F(ProcTree, FindsOnlyWantedInodesAndNamesTheirProcesses) {
    process(100, "nginx", {"socket:[5]", "socket:[6]", "socket:[99]", "/dev/null"});
    process(200, "postgres", {"socket:[7]"});
    process(300, "idle", {"socket:[8]"});
    std::filesystem::create_directories(root() / "net");  // not a pid
    const std::vector<std::uint64_t> wanted = {5, 6, 7};
    auto scan = scan_socket_owners(root(), wanted);
    ASSERT_TRUE(scan) << scan.error().message;
    EXPECT_EQ(scan->processes_scanned, 3U);
    EXPECT_EQ(scan->processes_unreadable, 0U);
    ASSERT_EQ(scan->processes.size(), 2U) << "only processes holding a wanted inode";
    ASSERT_EQ(scan->hits.size(), 3U);
    for (const auto& hit : scan->hits) {
        const auto& p = scan->processes.at(hit.process);
        if (hit.inode == 7) {
            EXPECT_EQ(p.pid, 200);
            EXPECT_EQ(p.comm, "postgres");
        } else {
            EXPECT_EQ(p.pid, 100);
            EXPECT_EQ(p.comm, "nginx");
        }
    }
}

TEST_F(ProcTree, ASharedSocketIsReportedForEveryHolder) {
    process(10, "parent", {"socket:[42]"});
    process(11, "child", {"socket:[42]"});
    const std::vector<std::uint64_t> wanted = {42};
    auto scan = scan_socket_owners(root(), wanted);
    ASSERT_TRUE(scan);
    EXPECT_EQ(scan->hits.size(), 2U);
    EXPECT_EQ(scan->processes.size(), 2U);
}

TEST_F(ProcTree, MissingCommAndMissingFdDirectoryAreNotFatal) {
    process(10, "", {"socket:[1]"});
    std::filesystem::create_directories(root() / "11");  // no fd directory: unreadable
    const std::vector<std::uint64_t> wanted = {1};
    auto scan = scan_socket_owners(root(), wanted);
    ASSERT_TRUE(scan);
    ASSERT_EQ(scan->processes.size(), 1U);
    EXPECT_EQ(scan->processes[0].comm, "?");
    EXPECT_EQ(scan->processes_unreadable, 1U);
}

TEST_F(ProcTree, NothingWantedMeansNothingScanned) {
    process(10, "a", {"socket:[1]"});
    auto scan = scan_socket_owners(root(), {});
    ASSERT_TRUE(scan);
    EXPECT_TRUE(scan->hits.empty());
}

TEST(ScanSocketOwners, AnUnlistableRootIsAnError) {
    const std::vector<std::uint64_t> wanted = {1};
    auto scan = scan_socket_owners("/nonexistent/proc", wanted);
    ASSERT_FALSE(scan);
    EXPECT_EQ(scan.error().code, ErrorCode::kIo);
}

TEST(ScanSocketOwners, FindsASocketThisProcessHoldsInTheRealProc) {
    // socket(2) needs no privileges and no network; its inode is what sock_diag reports.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    const std::vector<std::uint64_t> wanted = {static_cast<std::uint64_t>(st.st_ino)};
    auto scan = scan_socket_owners("/proc", wanted);
    ::close(fd);
    ASSERT_TRUE(scan) << scan.error().message;
    ASSERT_EQ(scan->hits.size(), 1U);
    EXPECT_EQ(scan->processes.at(scan->hits[0].process).pid, ::getpid());
}

}  // namespace
}  // namespace tcptune
