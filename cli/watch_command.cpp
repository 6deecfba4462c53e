// tcptune watch: a live view of the daemon, refreshed like top(1). Quits on
// q or Ctrl-C (and SIGTERM/SIGHUP) and always puts the terminal back the way it
// found it: cooked mode, echo, cursor, main screen.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "bounded_options.hpp"
#include "command.hpp"
#include "dbus_client.hpp"
#include "dbus_format.hpp"
#include "table.hpp"

namespace tcptune::cli {

namespace {

struct WatchOptions {
    BusKind bus = BusKind::kSystem;
    double interval_seconds = 2.0;
    int iterations = 0;  // 0 = until q / Ctrl-C
    std::uint32_t changes = 5;
    std::string netns;  // show this namespace's counts (from ListNamespaces) instead
};

// Self-pipe: the signal handler only writes a byte; poll() wakes up on it.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_quit_signal(int /*signo*/) {
    const int saved = errno;
    const char byte = 'q';
    [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &byte, 1);
    errno = saved;
}

// Puts the terminal into a full-screen, key-at-a-time mode and undoes it all in
// its destructor, on every way out (q, signal, exception).
class TerminalSession {
  public:
    TerminalSession(bool screen, bool keys) : screen_(screen) {
        if (keys && tcgetattr(STDIN_FILENO, &saved_) == 0) {
            termios raw = saved_;
            // Keys arrive one at a time without echo; ISIG stays on so Ctrl-C
            // still raises SIGINT, which the self-pipe turns into a clean exit.
            raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
            raw.c_cc[VMIN] = 1;
            raw.c_cc[VTIME] = 0;
            keys_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        if (screen_) {
            std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;  // alternate screen, hide cursor
        }
    }
    ~TerminalSession() {
        if (screen_) {
            std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;
        }
        if (keys_) {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        }
    }
    TerminalSession(const TerminalSession&) = delete;
    TerminalSession& operator=(const TerminalSession&) = delete;
    bool keys() const { return keys_; }

  private:
    bool screen_;
    bool keys_ = false;
    termios saved_{};
};

class SignalGuard {
  public:
    SignalGuard() {
        if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
            g_signal_pipe[0] = g_signal_pipe[1] = -1;
            return;
        }
        struct sigaction sa {};
        sa.sa_handler = on_quit_signal;
        sigemptyset(&sa.sa_mask);
        for (int signo : {SIGINT, SIGTERM, SIGHUP}) {
            sigaction(signo, &sa, &old_[index(signo)]);
        }
    }
    ~SignalGuard() {
        for (int signo : {SIGINT, SIGTERM, SIGHUP}) {
            sigaction(signo, &old_[index(signo)], nullptr);
        }
        for (int& fd : g_signal_pipe) {
            if (fd >= 0) {
                close(fd);
                fd = -1;
            }
        }
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

  private:
    static std::size_t index(int signo) { return signo == SIGINT ? 0 : signo == SIGTERM ? 1 : 2; }
    struct sigaction old_[3]{};
};

std::string now_text() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
    return buf;
}

// --netns: the namespace's row of ListNamespaces by name, inode or pid, as counts
// (the daemon's last namespace round; it watches others only with watch: all).
std::string render_namespace_counts(DaemonClient& client, const std::string& netns, bool colour) {
    for (const NamespaceRow& row : client.namespaces()) {
        if (row.name == netns || std::to_string(row.inode) == netns ||
            (row.pid != 0 && std::to_string(row.pid) == netns)) {
            DaemonCounts counts;
            counts.valid = true;
            counts.states = row.states;
            // ListNamespaces has no age or duration: drop render_counts' line about them.
            std::string table = render_counts(counts, colour);
            table.erase(table.rfind("census "));
            return "Network namespace " + row.name + " (inode " + std::to_string(row.inode) +
                   "), from the daemon's last namespace round\n" + table;
        }
    }
    return "Network namespace " + netns +
           ": not among the namespaces tcptuned watches (it watches other namespaces with "
           "namespaces.watch: all; see tcptune namespaces)\n";
}

std::string render_frame(DaemonClient& client, const WatchOptions& o, bool colour) {
    const DaemonStatus status = client.status();
    if (!o.netns.empty()) {
        return render_daemon_header(status, colour) + "\n" +
               render_namespace_counts(client, o.netns, colour) + "\nRecent changes:\n" +
               render_changes(client.recent_changes(o.changes), colour);
    }
    const DaemonCounts counts = client.counts();
    const auto rules = client.rules();
    const auto sysctls = client.sysctls();
    const auto changes = client.recent_changes(o.changes);
    return render_daemon_header(status, colour) + "\n" + render_counts(counts, colour) + "\n" +
           render_rules(rules, colour) + "\n" + render_sysctls(sysctls, colour) +
           "\nRecent changes:\n" + render_changes(changes, colour);
}

// Waits up to `timeout` for a key or a signal. True: quit.
bool wait_for_quit(bool keys, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd fds[2] = {{g_signal_pipe[0], POLLIN, 0}, {keys ? STDIN_FILENO : -1, POLLIN, 0}};
        const int n = poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0;  // a poll failure ends the session rather than spinning
        }
        if ((fds[0].revents & POLLIN) != 0) {
            return true;
        }
        if ((fds[1].revents & (POLLHUP | POLLERR)) != 0) {
            return true;  // the terminal went away
        }
        if ((fds[1].revents & POLLIN) != 0) {
            char key = 0;
            if (read(STDIN_FILENO, &key, 1) <= 0) {
                return true;
            }
            if (key == 'q' || key == 'Q' || key == '\x03') {
                return true;
            }
            // Any other key: refresh now.
            return false;
        }
    }
}

int run_watch(const WatchOptions& o) {
    std::unique_ptr<DaemonClient> client;
    try {
        client = std::make_unique<DaemonClient>(o.bus);
        client->status();  // fail fast, before taking over the screen
    } catch (const DaemonError& e) {
        return report_daemon_error("watch", e);
    }
    const bool tty_out = isatty(STDOUT_FILENO) == 1;
    const bool tty_in = isatty(STDIN_FILENO) == 1;
    const bool colour = colour_enabled(STDOUT_FILENO);
    SignalGuard signals;
    TerminalSession terminal(tty_out, tty_in);
    const auto interval = std::chrono::milliseconds(static_cast<std::int64_t>(
        o.interval_seconds * 1000.0 > 100 ? o.interval_seconds * 1000.0 : 100.0));
    for (int frame = 1;; ++frame) {
        std::string body;
        try {
            if (!client) {
                client = std::make_unique<DaemonClient>(o.bus);
            }
            body = render_frame(*client, o, colour);
        } catch (const DaemonError& e) {
            client.reset();  // reconnect on the next refresh
            body = std::string("tcptuned is not reachable: ") + e.what() + "\nretrying every " +
                   std::to_string(o.interval_seconds) + "s\n";
        }
        const std::string title = "tcptune watch  " + now_text() + "  (q or Ctrl-C to quit)\n\n";
        if (tty_out) {
            std::cout << "\x1b[H\x1b[2J" << title << body << std::flush;
        } else {
            std::cout << title << body << "\n" << std::flush;
        }
        if (o.iterations > 0 && frame >= o.iterations) {
            break;
        }
        if (wait_for_quit(terminal.keys(), interval)) {
            break;
        }
    }
    return kExitOk;
}

}  // namespace

void register_watch_command(CLI::App& app, CommandContext& ctx) {
    auto [cmd, o] = add_command<WatchOptions>(app, ctx, verb_help::kWatch, run_watch);
    add_bounded_seconds(*cmd, "--interval", o->interval_seconds, 0.1, 3600,
                        "Seconds between refreshes (default 2)");
    add_bounded_integer(*cmd, "--iterations", o->iterations, 0, 1'000'000,
                        "Stop after N refreshes (0 = until q / Ctrl-C); for scripts");
    add_bounded_integer(*cmd, "--changes", o->changes, 0, 1000,
                        "Recent changes to show (default 5)");
    cmd->add_option("--netns", o->netns,
                    "Show the counts of another network namespace (a name, INODE or PID as "
                    "tcptune namespaces lists them; tcptuned must watch it: namespaces.watch: "
                    "all)");
    add_bus_option(*cmd, o->bus);
}

}  // namespace tcptune::cli
