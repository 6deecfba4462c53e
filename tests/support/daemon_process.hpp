#pragma once

// Runs the real build/bin/tcptuned as a child process for end-to-end tests: in
// the caller's (private) network namespace, with a private state dir, its log
// captured to a file, and helpers to wait for log lines, send signals and
// measure the process (open fds, RSS).

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune::test {

struct DaemonLaunch {
    std::vector<std::string> args;  // after argv[0]
    // Extra environment, "NAME=value" each.
    std::vector<std::string> env;
    // Sets WATCHDOG_PID to the child's own pid (as systemd does), so
    // sd_watchdog_enabled() accepts WATCHDOG_USEC.
    bool watchdog_pid_is_child = false;
    std::filesystem::path log_file;  // stdout + stderr; required
    std::filesystem::path binary;    // default: TCPTUNE_BIN_DIR/tcptuned
};

// What sets one test's tcptuned apart from another's. Everything lives in `dir`:
// tcptune.yaml (an empty one is written unless the test wrote its own first),
// state/, and the log tcptuned.log.
struct Isolated {
    std::filesystem::path dir = {};
    std::string profile = {};                // --profile, when not empty
    std::filesystem::path profile_dir = {};  // --profile-dir; default dir/profiles
    std::string bus = "none";                // --bus
    std::string metrics = "none";            // --metrics-address
    std::vector<std::string> extra = {};     // further flags
    std::vector<std::string> env = {};       // "NAME=value" each
    bool watchdog_pid_is_child = false;
    // A program (and its arguments) to run tcptuned under, e.g. setpriv; empty: none.
    std::vector<std::string> wrapper = {};
};

// The launch of a tcptuned that reads and writes nothing outside `isolated.dir`
// (besides /proc/sys of the test's namespace and the bus it is given).
DaemonLaunch isolated_launch(const Isolated& isolated);

class DaemonProcess {
  public:
    explicit DaemonProcess(DaemonLaunch launch);
    ~DaemonProcess();  // SIGKILLs a child that is still running
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    Result<void> start();
    pid_t pid() const { return pid_; }
    bool running();

    void signal(int signo) const;
    // Waits for the child to exit; its exit status (WEXITSTATUS, or 128+signal).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // SIGTERM, then wait; SIGKILL after the timeout. Returns the exit status.
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    std::string log() const;
    // Waits until the log contains `needle` at least `occurrences` times.
    bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout,
                      std::size_t occurrences = 1) const;
    std::size_t count_in_log(const std::string& needle) const;

    // /proc/PID/fd entries and VmRSS in kB.
    std::size_t open_fds() const;
    // The daemon opens /proc files during every poll, so a single look at
    // /proc/PID/fd may catch one of them; the smallest of a few looks is its
    // standing set of descriptors.
    std::size_t standing_fds() const;
    std::size_t rss_kb() const;

  private:
    DaemonLaunch launch_;
    pid_t pid_ = -1;
    std::optional<int> exit_status_;
};

// A fixture's TearDown: stops `daemon` when there is one, and first prints its
// log when the test failed.
void stop_daemon(const std::unique_ptr<DaemonProcess>& daemon, bool test_failed);

// A fake systemd NOTIFY_SOCKET: a unix datagram socket bound at a path in a
// temp dir; receive() returns each sd_notify() message the daemon sent.
class NotifySocket {
  public:
    explicit NotifySocket(std::filesystem::path path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    const std::filesystem::path& path() const { return path_; }
    // The next message, or nullopt after the timeout.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);
    // Receives until a message contains `needle`; every message received
    // (including the match) is appended to `seen` when given.
    std::optional<std::string> wait_for(const std::string& needle,
                                        std::chrono::milliseconds timeout,
                                        std::vector<std::string>* seen = nullptr);

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// The "N polls" figure of a STATUS= message the daemon sent.
std::optional<std::uint64_t> polls_in_status(const std::string& message);

// Polls `predicate` every 20 ms until it holds or the timeout expires.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout);

bool eventually_impl(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout) {
    return eventually_impl(std::function<bool()>(std::move(predicate)), timeout);
}

}  // namespace tcptune::test
