#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/socket_factory.hpp"
#include "tcptune/result.hpp"

namespace tcptune::test {

// Moves the calling thread (gtest runs tests on the main thread) into a brand-new
// network namespace with loopback up, so sockets and net.* sysctls are private
// to the test and the host is never touched. Children forked afterwards inherit
// it. Returns an empty string on success, otherwise why it could not be done.
std::string enter_fresh_netns();

// Sets the flags of the current namespace's "lo" to up; "" or why it failed.
std::string bring_loopback_up();

// More namespaces besides the test's own, for the per-namespace tests. Each one is
// created in the constructor (ok() says whether it worked, why() why not) and gone
// after the destructor, also when the test fails.

// `ip netns add NAME` with loopback up; `ip netns delete NAME` on destruction.
class IpNetns {
  public:
    explicit IpNetns(std::string name);
    ~IpNetns();
    IpNetns(const IpNetns&) = delete;
    IpNetns& operator=(const IpNetns&) = delete;
    bool ok() const { return why_.empty(); }
    const std::string& why() const { return why_; }
    const std::string& name() const { return name_; }
    std::filesystem::path path() const { return "/run/netns/" + name_; }
    // Deletes it now (the destructor then does nothing).
    void remove();

  private:
    std::string name_;
    std::string why_;
    bool exists_ = false;
};

// A child process that unshare(CLONE_NEWNET)s, brings loopback up and waits; the
// namespace lives while the child (or anything forked into the namespace) does.
class UnsharedProcess {
  public:
    UnsharedProcess();
    ~UnsharedProcess();
    UnsharedProcess(const UnsharedProcess&) = delete;
    UnsharedProcess& operator=(const UnsharedProcess&) = delete;
    bool ok() const { return why_.empty(); }
    const std::string& why() const { return why_; }
    pid_t pid() const { return pid_; }
    std::filesystem::path path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
    // Kills and reaps it now.
    void stop();

  private:
    pid_t pid_ = -1;
    std::string why_;
};

// Moves the calling thread into the namespace at `path` for the scope's lifetime
// (processes it forks meanwhile are born there), then back.
class InsideNetns {
  public:
    explicit InsideNetns(const std::filesystem::path& path);
    ~InsideNetns();
    InsideNetns(const InsideNetns&) = delete;
    InsideNetns& operator=(const InsideNetns&) = delete;
    bool ok() const { return why_.empty(); }
    const std::string& why() const { return why_; }

  private:
    int home_ = -1;
    std::string why_;
};

// A factory whose sockets live in the network namespace at `netns`: made and
// filled by `fill` from inside it (the calling thread returns home after), used
// and destroyed from anywhere. The error says what failed.
Result<std::unique_ptr<SocketFactory>> sockets_in(
    const std::filesystem::path& netns, const std::function<Result<void>(SocketFactory&)>& fill);

}  // namespace tcptune::test

// Skips the current test, with the reason printed, when not root or when a
// network namespace cannot be created. In CI (root) the test always runs.
#define TCPTUNE_REQUIRE_PRIVATE_NETNS()                                             \
    do {                                                                            \
        const std::string tcptune_netns_why = ::tcptune::test::enter_fresh_netns(); \
        if (!tcptune_netns_why.empty()) {                                           \
            GTEST_SKIP() << tcptune_netns_why;                                      \
        }                                                                           \
    } while (0)

namespace tcptune::test {

// A fixture for tests that each run in a private network namespace of their own
// (TCPTUNE_REQUIRE_PRIVATE_NETNS in SetUp: skipped, with the reason, where one
// cannot be made), so no test body can forget it.
class PrivateNetnsTest : public ::testing::Test {
  protected:
    void SetUp() override { TCPTUNE_REQUIRE_PRIVATE_NETNS(); }
};

}  // namespace tcptune::test
