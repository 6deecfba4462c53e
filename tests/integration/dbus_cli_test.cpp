// The CLI verbs that talk to tcptuned, from an operator's side: what happens when
// the daemon is down (local view for status, exit 3 for the rest), `watch` in a
// real pseudo-terminal (q and Ctrl-C quit and restore the terminal), and --help.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dbus_fixture.hpp"
#include "support/netns.hpp"
#include "support/private_bus.hpp"

namespace tcptune::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A private bus with no tcptuned on it: "the daemon is not running".
class DaemonDownTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto bus = start_system_bus(BusPolicy::kProject);
        ASSERT_TRUE(bus) << bus.error().message;
        bus_ = std::move(*bus);
    }
    std::unique_ptr<PrivateBus> bus_;
};

TEST_F(DaemonDownTest, StatusFallsBackToALocalViewAndSaysSo) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    // database: a shipped profile with baseline sysctls (default only reports).
    ProcessResult r = run_process({bin("tcptune"), "status", "--json", "--profile", "database"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json status = json::parse(r.out);
    EXPECT_EQ(status.at("source"), "local");
    EXPECT_FALSE(status.at("daemon_running").get<bool>());
    EXPECT_NE(status.at("note").get<std::string>().find("not running"), std::string::npos);
    EXPECT_EQ(status.at("profile"), "database");
    EXPECT_TRUE(status.at("counts").at("valid").get<bool>()) << status.dump(2);
    // The fresh namespace has no sockets at all: the local census is exact.
    EXPECT_EQ(status.at("counts").at("states").at("established").get<std::uint64_t>(), 0u);
    ASSERT_FALSE(status.at("sysctls").empty());
    for (const auto& s : status.at("sysctls")) {
        EXPECT_EQ(s.at("owner"), "unmanaged");
    }

    r = run_process({bin("tcptune"), "status"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("tcptuned is not running"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("local read-only view"), std::string::npos) << r.out;
}

TEST_F(DaemonDownTest, TheLocalViewShowsTheProfileTheConfigFileNames) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    char dir_template[] = "/tmp/tcptune-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const fs::path dir = dir_template;
    // Read by the daemon's own loader: the profile and the directories it is searched in.
    write_text(dir / "tcptune.yaml", "profile: database  # the DB hosts\nprofile_dirs: [\"" +
                                         std::string(TCPTUNE_SOURCE_DIR) + "/profiles\"]\n");
    const ProcessResult r = run_process(
        {bin("tcptune"), "status", "--json", "--config", (dir / "tcptune.yaml").string()});
    std::error_code ec;
    fs::remove_all(dir, ec);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json status = json::parse(r.out);
    EXPECT_EQ(status.at("profile"), "database");
    EXPECT_TRUE(status.at("profile_error").is_null()) << status.dump(2);
    // Each key the profile may write once, with the baseline's value as the desired one.
    std::map<std::string, std::string> desired;
    for (const auto& s : status.at("sysctls")) {
        const std::string value =
            s.at("desired").is_null() ? "" : s.at("desired").get<std::string>();
        EXPECT_TRUE(desired.emplace(s.at("key"), value).second) << s.dump();
    }
    EXPECT_EQ(desired["net.ipv4.tcp_keepalive_time"], "600") << status.dump(2);
    EXPECT_EQ(desired["net.ipv4.tcp_retries2"], "8") << status.dump(2);
}

TEST_F(DaemonDownTest, MutatingVerbsExit3AndSayHowToStartTheDaemon) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    for (const auto& verb :
         std::vector<std::vector<std::string>>{{"apply", "default"},
                                               {"rollback"},
                                               {"reload"},
                                               {"resume", "net.ipv4.tcp_fin_timeout"},
                                               {"watch", "--iterations", "1"}}) {
        std::vector<std::string> argv = {bin("tcptune")};
        argv.insert(argv.end(), verb.begin(), verb.end());
        const ProcessResult r = run_process(argv);
        EXPECT_EQ(r.exit_code, 3) << verb[0] << ": " << describe(r);
        EXPECT_NE(r.err.find("systemctl start tcptune"), std::string::npos) << describe(r);
    }
}

TEST(DbusCliHelpTest, EveryDaemonVerbHasHelpWithAnExample) {
    for (const std::string verb : {"status", "apply", "rollback", "reload", "resume", "watch"}) {
        const ProcessResult r = run_process({bin("tcptune"), verb, "--help"});
        EXPECT_EQ(r.exit_code, 0) << verb << ": " << describe(r);
        EXPECT_NE(r.out.find("Example: "), std::string::npos) << verb << ": " << r.out;
        EXPECT_NE(r.out.find("--bus"), std::string::npos) << verb << ": " << r.out;
    }
    const ProcessResult r = run_process({bin("tcptune"), "apply"});
    EXPECT_EQ(r.exit_code, 2) << "missing PROFILE is a usage error: " << describe(r);
}

// Runs `tcptune watch` in a pseudo-terminal against a running daemon.
class WatchTest : public ::testing::Test {
  protected:
    void start_daemon() {
        char dir_template[] = "/tmp/tcptune-watch-test-XXXXXX";
        ASSERT_NE(mkdtemp(dir_template), nullptr);
        dir_ = dir_template;
        fs::create_directories(dir_ / "profiles");
        fs::create_directories(dir_ / "state");
        std::ofstream(dir_ / "profiles" / "w.yaml")
            << "name: w\ndescription: watch test\ninterval: 200ms\nsysctls:\n"
               "  net.ipv4.tcp_syncookies: 1\n";
        std::ofstream(dir_ / "tcptune.yaml") << "profile: w\n";
        auto bus = start_system_bus(BusPolicy::kProject);
        ASSERT_TRUE(bus) << bus.error().message;
        bus_ = std::move(*bus);
        daemon_ = std::make_unique<DaemonProcess>(isolated_launch({.dir = dir_, .bus = "system"}));
        ASSERT_TRUE(daemon_->start().has_value());
        TestProxy proxy(sdbus::createSystemBusConnection());
        ASSERT_TRUE(wait_until_polled(proxy)) << daemon_->log();
    }

    void TearDown() override {
        daemon_.reset();
        bus_.reset();
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    // Starts watch on a pty; returns the master fd.
    int spawn_watch() {
        int master = -1;
        winsize ws{40, 120, 0, 0};
        pid_ = forkpty(&master, nullptr, nullptr, &ws);
        if (pid_ == 0) {
            execl(bin("tcptune").c_str(), "tcptune", "watch", "--interval", "0.2",
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        return master;
    }

    // Starts the daemon, then watch on a pty, and reads until watch has drawn its
    // first frame into `screen`; returns the master fd. A failure is recorded.
    int start_watch(std::string& screen) {
        start_daemon();
        if (HasFatalFailure()) {
            return -1;
        }
        const int master = spawn_watch();
        EXPECT_TRUE(read_until(master, "profile w (apply mode", screen)) << screen;
        return master;
    }

    // Reads from the pty until `needle` shows up (or the timeout).
    bool read_until(int master, const std::string& needle, std::string& screen) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (screen.find(needle) == std::string::npos) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            pollfd pfd{master, POLLIN, 0};
            if (poll(&pfd, 1, 100) > 0) {
                char buf[4096];
                const ssize_t n = read(master, buf, sizeof(buf));
                if (n <= 0) {
                    return screen.find(needle) != std::string::npos;
                }
                screen.append(buf, static_cast<std::size_t>(n));
            }
        }
        return true;
    }

    int wait_exit() {
        int status = 0;
        for (int i = 0; i < 100; ++i) {
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        return -1;
    }

    fs::path dir_;
    std::unique_ptr<PrivateBus> bus_;
    std::unique_ptr<DaemonProcess> daemon_;
    pid_t pid_ = -1;
};

TEST_F(WatchTest, QuitsOnQAndRestoresTheTerminal) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    std::string screen;
    const int master = start_watch(screen);
    ASSERT_FALSE(HasFailure());
    EXPECT_NE(screen.find("\x1b[?1049h"), std::string::npos) << "alternate screen";
    // It refreshes: a second frame arrives.
    std::string more;
    ASSERT_TRUE(read_until(master, "profile w (apply mode", more)) << more;

    ASSERT_EQ(write(master, "q", 1), 1);
    std::string rest;
    read_until(master, "\x1b[?1049l", rest);
    EXPECT_EQ(wait_exit(), 0);
    EXPECT_NE(rest.find("\x1b[?25h\x1b[?1049l"), std::string::npos)
        << "cursor shown and main screen restored";
    close(master);
}

TEST_F(WatchTest, CtrlCQuitsCleanly) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    std::string screen;
    const int master = start_watch(screen);
    ASSERT_FALSE(HasFailure());
    // Ctrl-C through the terminal's line discipline: SIGINT to the foreground job.
    ASSERT_EQ(write(master, "\x03", 1), 1);
    std::string rest;
    read_until(master, "\x1b[?1049l", rest);
    EXPECT_EQ(wait_exit(), 0) << "SIGINT is a clean exit, not a kill";
    EXPECT_NE(rest.find("\x1b[?1049l"), std::string::npos) << rest;
    close(master);
}

}  // namespace
}  // namespace tcptune::test
