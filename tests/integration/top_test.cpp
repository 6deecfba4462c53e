// `tcptune top` against the real kernel in a private network namespace: CLOSE_WAIT
// sockets held by a known forked child on a known port, TIME_WAIT sockets towards two
// peers in a known ratio, and a listener with a partly filled accept queue. The CLI must
// name the process (pid, comm), the port and the peers with exact counts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/netns.hpp"
#include "support/run_command.hpp"
#include "support/socket_factory.hpp"
#include "tcptune/census/census_snapshot.hpp"

namespace tcptune {
namespace {

constexpr const char* kLeakyComm = "tcptune-leaky";
constexpr std::uint16_t kLeakyPort = 7070;
constexpr std::size_t kCloseWaitCount = 12;

using test::run_command;

std::string tcptune(const std::string& args) {
    return std::string(TCPTUNE_BIN_DIR) + "/tcptune " + args;
}

sockaddr_in address(const char* ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

// A listening socket on ip:port; -1 on failure.
int listen_on(const char* ip, std::uint16_t port, int backlog) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a = address(ip, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, backlog) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int connect_to(const char* ip, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in a = address(ip, port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// `count` connections to ip:port where the client closes first and the server then
// closes too: each client end stays in TIME_WAIT towards ip:port, with no fd.
::testing::AssertionResult make_time_wait(const char* ip, std::uint16_t port, std::size_t count) {
    const int listener = listen_on(ip, port, 128);
    if (listener < 0) {
        return ::testing::AssertionFailure() << "cannot listen on " << ip << ":" << port;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const int client = connect_to(ip, port);
        const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0 || server < 0) {
            ::close(listener);
            return ::testing::AssertionFailure() << "connection " << i << " to " << ip << " failed";
        }
        ::close(client);  // FIN from the client: it is the one that ends in TIME_WAIT
        char byte = 0;
        if (::read(server, &byte, 1) != 0) {  // wait for that FIN (EOF)
            ::close(server);
            ::close(listener);
            return ::testing::AssertionFailure() << "expected EOF from the client";
        }
        ::close(server);
    }
    ::close(listener);  // TIME_WAIT outlives the listener
    return ::testing::AssertionSuccess();
}

// A forked child named kLeakyComm that listens on 127.0.0.4:kLeakyPort, accepts
// kCloseWaitCount connections and never closes them. Once the clients close, the
// child's sockets sit in CLOSE_WAIT — the leak the CLI must attribute to this pid.
class LeakyChild {
  public:
    LeakyChild() {
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0) {
            return;
        }
        const int listener = listen_on("127.0.0.4", kLeakyPort, 64);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            ::prctl(PR_SET_NAME, kLeakyComm, 0, 0, 0);
            ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            std::vector<int> held;
            for (std::size_t i = 0; i < kCloseWaitCount; ++i) {
                const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) {
                    ::_exit(3);
                }
                held.push_back(fd);  // never closed: that is the bug being diagnosed
            }
            const char ok = 'k';
            if (::write(ready[1], &ok, 1) != 1) {
                ::_exit(4);
            }
            for (;;) {
                ::pause();
            }
        }
        ::close(ready[1]);
        if (listener >= 0) {
            ::close(listener);  // the child keeps its copy
        }
        if (pid_ < 0 || listener < 0) {
            ::close(ready[0]);
            return;
        }
        for (std::size_t i = 0; i < kCloseWaitCount; ++i) {
            const int fd = connect_to("127.0.0.4", kLeakyPort);
            if (fd >= 0) {
                clients_.push_back(fd);
            }
        }
        char ok = 0;
        ok_ = clients_.size() == kCloseWaitCount && ::read(ready[0], &ok, 1) == 1 && ok == 'k';
        ::close(ready[0]);
        for (int fd : clients_) {
            ::close(fd);  // the clients close; the child does not: CLOSE_WAIT
        }
    }
    ~LeakyChild() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    LeakyChild(const LeakyChild&) = delete;
    LeakyChild& operator=(const LeakyChild&) = delete;

    bool ok() const { return ok_; }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    bool ok_ = false;
    std::vector<int> clients_;
};

nlohmann::json top_json(const std::string& args) {
    const auto result = run_command(tcptune("top " + args + " --json"));
    EXPECT_EQ(result.exit_code, 0) << result.out;
    auto j = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << result.out;
    return j;
}

class TopIntegration : public ::testing::Test {
  protected:
    // The population every test here looks at; returns false (with a failure) if it
    // could not be built or the kernel does not show it exactly.
    void build_population() {
        leaky_ = std::make_unique<LeakyChild>();
        ASSERT_TRUE(leaky_->ok()) << "leaky child could not be set up";
        ASSERT_TRUE(make_time_wait("127.0.0.2", 8080, 30));
        ASSERT_TRUE(make_time_wait("127.0.0.3", 9090, 10));
        // A listener whose accept queue holds 5 of 8: connections never accepted.
        queue_listener_ = listen_on("127.0.0.5", 6060, 8);
        ASSERT_GE(queue_listener_, 0);
        for (int i = 0; i < 5; ++i) {
            const int fd = connect_to("127.0.0.5", 6060);
            ASSERT_GE(fd, 0);
            queued_clients_.push_back(fd);
        }
        StateCounts expected;
        expected[TcpState::kCloseWait] = kCloseWaitCount;
        expected[TcpState::kFinWait2] = kCloseWaitCount;  // the closed clients, orphaned
        expected[TcpState::kTimeWait] = 40;
        expected[TcpState::kListen] = 2;        // the child's and the queue listener
        expected[TcpState::kEstablished] = 10;  // 5 queued clients + their server ends
        auto settled = test::wait_until_ss_shows(expected);
        ASSERT_TRUE(settled) << settled.error().message;
    }
    void TearDown() override {
        for (int fd : queued_clients_) {
            ::close(fd);
        }
        if (queue_listener_ >= 0) {
            ::close(queue_listener_);
        }
        leaky_.reset();
    }

    std::unique_ptr<LeakyChild> leaky_;
    int queue_listener_ = -1;
    std::vector<int> queued_clients_;
};

TEST_F(TopIntegration, CloseWaitByProcessNamesTheChildItsPortAndTheExactCount) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    ASSERT_NO_FATAL_FAILURE(build_population());

    const auto j = top_json("close_wait --by process");
    ASSERT_EQ(j["breakdowns"].size(), 1U) << j.dump(2);
    const auto& cw = j["breakdowns"][0];
    EXPECT_EQ(cw["state"], "close_wait");
    EXPECT_EQ(cw["total"], kCloseWaitCount);
    const auto& owners = cw["processes"]["top"];
    ASSERT_EQ(owners.size(), 1U) << cw.dump(2);
    EXPECT_EQ(owners[0]["pid"], leaky_->pid());
    EXPECT_EQ(owners[0]["comm"], kLeakyComm);
    EXPECT_EQ(owners[0]["local_port"], kLeakyPort);
    EXPECT_EQ(owners[0]["count"], kCloseWaitCount);
    EXPECT_DOUBLE_EQ(owners[0]["share"].get<double>(), 1.0);
    EXPECT_EQ(cw["processes"]["without_owner"], 0);
    EXPECT_EQ(cw["processes"]["unmatched"], 0);
    EXPECT_EQ(cw["local_ports"]["top"][0]["port"], kLeakyPort);
    EXPECT_EQ(cw["local_ports"]["top"][0]["count"], kCloseWaitCount);
    EXPECT_NE(cw["hint"].get<std::string>().find("no sysctl fixes this"), std::string::npos);
    EXPECT_NE(cw["hint"].get<std::string>().find("pid " + std::to_string(leaky_->pid())),
              std::string::npos)
        << cw["hint"];

    // The human view says the same in words.
    const auto text = run_command(tcptune("top close_wait --by process"));
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.out.find(kLeakyComm), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(std::to_string(leaky_->pid())), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("the application is not closing its sockets; no sysctl fixes this"),
              std::string::npos)
        << text.out;
}

TEST_F(TopIntegration, TimeWaitByPeerNamesBothServersInTheirExactRatio) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    ASSERT_NO_FATAL_FAILURE(build_population());

    const auto j = top_json("time_wait --by peer -n 5");
    ASSERT_EQ(j["breakdowns"].size(), 1U);
    const auto& tw = j["breakdowns"][0];
    EXPECT_EQ(tw["total"], 40);
    const auto& services = tw["peer_services"];
    EXPECT_EQ(services["exact"], true);
    ASSERT_EQ(services["top"].size(), 2U) << services.dump(2);
    EXPECT_EQ(services["top"][0]["endpoint"], "127.0.0.2:8080");
    EXPECT_EQ(services["top"][0]["count"], 30);
    EXPECT_DOUBLE_EQ(services["top"][0]["share"].get<double>(), 0.75);
    EXPECT_EQ(services["top"][1]["endpoint"], "127.0.0.3:9090");
    EXPECT_EQ(services["top"][1]["count"], 10);
    EXPECT_DOUBLE_EQ(services["top"][1]["share"].get<double>(), 0.25);
    const auto& peers = tw["peers"]["top"];
    ASSERT_EQ(peers.size(), 2U);
    EXPECT_EQ(peers[0]["address"], "127.0.0.2");
    EXPECT_EQ(peers[0]["count"], 30);
    EXPECT_EQ(peers[1]["address"], "127.0.0.3");
    EXPECT_EQ(peers[1]["count"], 10);
    EXPECT_NE(tw["hint"].get<std::string>().find("75% towards 127.0.0.2:8080"), std::string::npos)
        << tw["hint"];

    // By prefix, both servers are in 127.0.0.0/24.
    const auto p = top_json("time_wait --by prefix");
    const auto& prefixes = p["breakdowns"][0]["peer_prefixes"]["top"];
    ASSERT_EQ(prefixes.size(), 1U);
    EXPECT_EQ(prefixes[0]["prefix"], "127.0.0.0/24");
    EXPECT_EQ(prefixes[0]["count"], 40);
}

TEST_F(TopIntegration, FocusStatesAndTheFillingAcceptQueueInOneCall) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    ASSERT_NO_FATAL_FAILURE(build_population());

    const auto j = top_json("--trend 200ms");
    EXPECT_EQ(j["states"]["time_wait"], 40);
    EXPECT_EQ(j["states"]["close_wait"], kCloseWaitCount);
    ASSERT_EQ(j["breakdowns"].size(), 3U);
    EXPECT_EQ(j["breakdowns"][0]["state"], "time_wait");
    EXPECT_EQ(j["breakdowns"][1]["state"], "close_wait");
    EXPECT_EQ(j["breakdowns"][2]["state"], "syn_recv");
    EXPECT_EQ(j["breakdowns"][2]["total"], 0);

    const auto& listen = j["listen"];
    EXPECT_EQ(listen["listeners"], 2);
    ASSERT_GE(listen["filling"].size(), 1U) << listen.dump(2);
    EXPECT_EQ(listen["filling"][0]["local"], "127.0.0.5:6060");
    EXPECT_EQ(listen["filling"][0]["queued"], 5);
    EXPECT_EQ(listen["filling"][0]["backlog"], 8);
    EXPECT_EQ(listen["filling"][0]["full"], false);
    EXPECT_TRUE(listen["listen_overflows_total"].is_number());
    EXPECT_TRUE(listen["listen_overflows_per_second"].is_number());
    EXPECT_GE(listen["trend_seconds"].get<double>(), 0.2);
}

TEST(TopCli, RejectsUnknownStatesAndViewsAsUsageErrors) {
    EXPECT_EQ(run_command(tcptune("top no_such_state 2>/dev/null")).exit_code, 2);
    EXPECT_EQ(run_command(tcptune("top time_wait --by colour 2>/dev/null")).exit_code, 2);
    EXPECT_EQ(run_command(tcptune("top --trend soon 2>/dev/null")).exit_code, 2);
    const auto help = run_command(tcptune("top --help"));
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Example"), std::string::npos);
}

}  // namespace
}  // namespace tcptune
