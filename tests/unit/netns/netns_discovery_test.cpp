#include "tcptune/netns/netns_discovery.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/files.hpp"

namespace tcptune {
namespace {

namespace fs = std::filesystem;

// A fixture /proc and /run/netns: namespace "files" are plain files in one directory
// (one inode each, all on one device, as nsfs files are); /proc/<pid>/ns/net and
// /run/netns/<name> are symlinks to them, so stat() dedupes them by inode as on a host.
class FakeHost {
  public:
    FakeHost() {
        fs::create_directories(nsfs());
        fs::create_directories(run_netns());
        make_ns("own");
        fs::create_directories(proc() / "thread-self/ns");
        fs::create_symlink(nsfs() / "own", proc() / "thread-self/ns/net");
    }
    fs::path proc() const { return dir_.path() / "proc"; }
    fs::path run_netns() const { return dir_.path() / "run/netns"; }
    fs::path nsfs() const { return dir_.path() / "nsfs"; }

    void make_ns(const std::string& ns) { EXPECT_TRUE(test::write_text(nsfs() / ns, "")); }
    void add_process(int pid, const std::string& ns, const std::string& cgroup = "0::/\n") {
        const auto dir = proc() / std::to_string(pid);
        fs::create_directories(dir / "ns");
        fs::create_symlink(nsfs() / ns, dir / "ns/net");
        EXPECT_TRUE(test::write_text(dir / "cgroup", cgroup));
    }
    void add_ip_netns(const std::string& name, const std::string& ns) {
        fs::create_symlink(nsfs() / ns, run_netns() / name);
    }
    NetnsDiscoveryOptions options() const {
        return {.proc_dir = proc(), .run_netns_dir = run_netns()};
    }

  private:
    test::TempDir dir_;
};

const NetnsInfo* find(const std::vector<NetnsInfo>& all, const std::string& name) {
    for (const auto& ns : all) {
        if (ns.name == name) {
            return &ns;
        }
    }
    return nullptr;
}

TEST(NetnsDiscovery, NamesEveryNamespaceOnceOwnFirst) {
    FakeHost host;
    for (const char* ns : {"a", "b", "c", "d"}) {
        host.make_ns(ns);
    }
    host.add_process(1, "own");
    host.add_process(50, "own");
    host.add_ip_netns("edge-1", "a");
    host.add_process(700, "a");  // a process inside an ip netns: still one namespace
    host.add_process(
        900, "b",
        "0::/system.slice/"
        "docker-3f1e8a9b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7.scope\n");
    host.add_process(901, "b", "0::/system.slice/other.scope\n");
    host.add_process(1200, "c", "0::/user.slice/session-1.scope\n");
    host.add_process(1100, "c", "0::/user.slice/session-1.scope\n");
    host.add_ip_netns("lonely", "d");  // a namespace without processes

    auto all = discover_namespaces(host.options());
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 5U);

    EXPECT_EQ((*all)[0].name, "host");
    EXPECT_TRUE((*all)[0].own);
    EXPECT_EQ((*all)[0].processes, 2U);

    const auto* edge = find(*all, "edge-1");
    ASSERT_NE(edge, nullptr);
    EXPECT_EQ(edge->ip_netns_name, "edge-1");
    EXPECT_EQ(edge->handle, host.run_netns() / "edge-1");
    EXPECT_EQ(edge->pid, 700);

    const auto* docker = find(*all, "docker:3f1e8a9b2c4d");
    ASSERT_NE(docker, nullptr);
    EXPECT_EQ(docker->pid, 900);  // the lowest pid names the namespace
    EXPECT_EQ(docker->processes, 2U);
    EXPECT_EQ(docker->handle, host.proc() / "900/ns/net");

    const auto* plain = find(*all, "pid:1100");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->cgroup, "/user.slice/session-1.scope");

    const auto* lonely = find(*all, "lonely");
    ASSERT_NE(lonely, nullptr);
    EXPECT_FALSE(lonely->pid);
    EXPECT_EQ(lonely->id, *netns_id_of(host.nsfs() / "d"));
}

TEST(NetnsDiscovery, VanishedProcessesAndStrayFilesAreSkipped) {
    FakeHost host;
    host.make_ns("a");
    host.add_process(10, "a");
    // A process that exited between readdir and stat: its ns link dangles.
    fs::create_directories(host.proc() / "11/ns");
    fs::create_symlink(host.nsfs() / "gone", host.proc() / "11/ns/net");
    fs::create_directories(host.proc() / "sys");  // not a pid
    // An ip netns name whose target is gone.
    fs::create_symlink(host.nsfs() / "gone", host.run_netns() / "dangling");

    auto all = discover_namespaces(host.options());
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[1].name, "pid:10");
}

TEST(NetnsDiscovery, MissingRunNetnsIsNoNamespaces) {
    FakeHost host;
    fs::remove(host.run_netns());
    auto all = discover_namespaces(host.options());
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(all->size(), 1U);
}

TEST(NetnsDiscovery, DuplicateWorkloadNamesGetTheInode) {
    FakeHost host;
    host.make_ns("a");
    host.make_ns("b");
    const std::string cgroup = "0::/machine.slice/systemd-nspawn@web.service/payload\n";
    host.add_process(20, "a", cgroup);
    host.add_process(30, "b", cgroup);
    auto all = discover_namespaces(host.options());
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3U);
    EXPECT_EQ((*all)[1].name, "machine:web");
    EXPECT_EQ((*all)[2].name, "machine:web@" + std::to_string((*all)[2].id.inode));
}

TEST(NetnsDiscovery, SelectByAllNamePidAndPath) {
    FakeHost host;
    host.make_ns("a");
    host.make_ns("b");
    host.add_ip_netns("edge-1", "a");
    host.add_process(40, "b");
    auto all = discover_namespaces(host.options());
    ASSERT_TRUE(all);

    EXPECT_EQ(select_namespaces(*all, "all", host.options())->size(), 3U);
    EXPECT_EQ(select_namespaces(*all, "host", host.options())->at(0).name, "host");
    EXPECT_EQ(select_namespaces(*all, "edge-1", host.options())->at(0).name, "edge-1");
    EXPECT_EQ(select_namespaces(*all, "40", host.options())->at(0).name, "pid:40");
    EXPECT_EQ(
        select_namespaces(*all, (host.run_netns() / "edge-1").string(), host.options())->at(0).name,
        "edge-1");

    // By inode, as lsns and `ip netns identify` print it.
    const auto edge = select_namespaces(*all, "edge-1", host.options());
    ASSERT_TRUE(edge);
    EXPECT_EQ(
        select_namespaces(*all, std::to_string(edge->at(0).id.inode), host.options())->at(0).name,
        "edge-1");
    auto no_inode = select_namespaces(*all, "4026599999", host.options());
    ASSERT_FALSE(no_inode);
    EXPECT_EQ(no_inode.error().code, ErrorCode::kNotFound);

    auto missing = select_namespaces(*all, "nope", host.options());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    EXPECT_FALSE(select_namespaces(*all, "99999", host.options()));
}

}  // namespace
}  // namespace tcptune
