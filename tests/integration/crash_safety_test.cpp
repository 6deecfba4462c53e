// Crash safety: a real applying process (tests/harness/applier_harness) is killed
// with SIGKILL at many different points, restarted, rolled back, and every
// original value must come back. Each iteration runs in a brand-new network
// namespace with its own (varied) original values.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/applier_fakes.hpp"
#include "support/netns.hpp"
#include "tcptune/apply/journal.hpp"
#include "tcptune/apply/sysctl_store.hpp"

namespace tcptune {
namespace {

struct KeyCase {
    std::string key;
    std::string target;
    std::vector<std::string> originals;  // cycled through by iteration
};

const std::vector<KeyCase> kKeys = {
    {"net.ipv4.tcp_fin_timeout", "25", {"60", "33", "90"}},
    {"net.ipv4.tcp_keepalive_time", "600", {"7200", "3600"}},
    {"net.ipv4.ip_local_port_range", "20000 61000", {"32768 60999", "30000 50000", "40000 45000"}},
    {"net.ipv4.tcp_tw_reuse", "1", {"2", "0"}},
    {"net.core.somaxconn", "8192", {"4096", "1024", "300"}},
};
// Each key costs three store operations in a fresh apply: read, write, read back.
const long kApplyOps = static_cast<long>(kKeys.size()) * 3;

struct HarnessRun {
    bool killed = false;  // we sent SIGKILL and it died of it
    int exit_code = -1;   // when it exited on its own
    std::string output;
};

enum class KillMode { kNone, kAtPausePoint, kAfterDelay };

// Runs the harness. kAtPausePoint: TCPTUNE_HARNESS_PAUSE_AT=pause_at, kill when
// it reports the pause (if it finishes first, that is reported as an exit).
// kAfterDelay: kill after `delay`, wherever it is.
HarnessRun run_harness(const std::vector<std::string>& args, KillMode mode, long pause_at,
                       std::chrono::microseconds delay) {
    HarnessRun run;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2 failed";
        return run;
    }
    const std::string exe = std::string(TCPTUNE_BIN_DIR) + "/applier_harness";
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        if (mode == KillMode::kAtPausePoint) {
            ::setenv("TCPTUNE_HARNESS_PAUSE_AT", std::to_string(pause_at).c_str(), 1);
        } else {
            ::unsetenv("TCPTUNE_HARNESS_PAUSE_AT");
        }
        ::execv(exe.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    if (mode == KillMode::kAfterDelay) {
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);
    }
    char buf[512];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
        pollfd pfd{out[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, 100);
        if (ready > 0) {
            const ssize_t n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) {
                break;  // EOF: exited (or killed)
            }
            run.output.append(buf, static_cast<std::size_t>(n));
            if (mode == KillMode::kAtPausePoint &&
                run.output.find("paused ") != std::string::npos) {
                ::kill(pid, SIGKILL);
            }
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "harness hung; output so far:\n" << run.output;
            ::kill(pid, SIGKILL);
            break;
        }
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
        run.killed = true;
    } else if (WIFEXITED(status)) {
        run.exit_code = WEXITSTATUS(status);
    }
    return run;
}

std::string netns_inode() {
    struct stat st {};
    ::stat("/proc/self/ns/net", &st);
    return std::to_string(st.st_ino);
}

struct Tally {
    int apply_point_kills = 0;
    int rollback_point_kills = 0;
    int delay_kills = 0;
    int delay_kills_mid_apply = 0;  // the kill left some but not all keys changed
    int iterations = 0;
    // How long an uninterrupted apply takes (process start included): racing
    // delays are spread over it.
    std::vector<std::chrono::microseconds> full_apply;
};

// One crash, restart and rollback in a fresh namespace; returns false on failure
// so the caller stops early instead of burying the first failure.
bool crash_restart_rollback(int iteration, KillMode mode, long pause_at,
                            std::chrono::microseconds delay, Tally& tally) {
    const std::string why = test::enter_fresh_netns();
    EXPECT_TRUE(why.empty()) << why;
    if (!why.empty()) {
        return false;
    }
    const std::string ns = netns_inode();
    ProcSysctlStore store;
    std::map<std::string, std::string> originals;
    for (const auto& k : kKeys) {
        const std::string& original =
            k.originals[static_cast<std::size_t>(iteration) % k.originals.size()];
        auto set = store.write(k.key, original);
        EXPECT_TRUE(set) << k.key << ": " << set.error().message;
        originals[k.key] = store.read(k.key).value();
    }
    test::TempDir state;
    std::vector<std::string> apply_args = {ns, state.path().string(), "apply"};
    for (const auto& k : kKeys) {
        apply_args.push_back(k.key + "=" + k.target);
    }
    const std::string where = "iteration " + std::to_string(iteration) + " (pause_at " +
                              std::to_string(pause_at) + ", delay " +
                              std::to_string(delay.count()) + " us)";

    // 1. Crash the applying process.
    HarnessRun crashed = run_harness(apply_args, mode, pause_at, delay);
    if (mode == KillMode::kAtPausePoint) {
        EXPECT_TRUE(crashed.killed) << where << "\n" << crashed.output;
        tally.apply_point_kills += crashed.killed ? 1 : 0;
    } else if (crashed.killed) {
        ++tally.delay_kills;
    }

    // 2. The invariant at the moment of the crash: the journal is readable, and
    // every key that differs from its original has that original journaled.
    auto journal = Journal::open(state.path());
    EXPECT_TRUE(journal) << where << ": " << journal.error().message;
    if (!journal) {
        return false;
    }
    int changed = 0;
    for (const auto& k : kKeys) {
        const std::string live = store.read(k.key).value();
        if (live != originals[k.key]) {
            ++changed;
            const JournalEntry* e = journal->find(k.key);
            EXPECT_NE(e, nullptr) << where << ": " << k.key << " changed but not journaled";
            if (e != nullptr) {
                EXPECT_EQ(e->original, originals[k.key]) << where << ": " << k.key;
            }
        }
    }
    if (mode == KillMode::kAfterDelay && crashed.killed && changed > 0 &&
        changed < static_cast<int>(kKeys.size())) {
        ++tally.delay_kills_mid_apply;
    }

    // 3. Restart: a new process applies the whole plan; it must not re-capture
    // the partly changed values as originals.
    const auto started = std::chrono::steady_clock::now();
    HarnessRun restarted = run_harness(apply_args, KillMode::kNone, -1, {});
    tally.full_apply.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started));
    EXPECT_EQ(restarted.exit_code, 0) << where << "\n" << restarted.output;
    auto after = Journal::open(state.path());
    EXPECT_TRUE(after) << where;
    if (!after) {
        return false;
    }
    for (const auto& k : kKeys) {
        EXPECT_EQ(store.read(k.key).value(), k.target) << where << ": " << k.key;
        const JournalEntry* e = after->find(k.key);
        EXPECT_TRUE(e != nullptr && e->original == originals[k.key]) << where << ": " << k.key;
    }

    // 4. Roll back — in some iterations crash the rollback too, then run it again.
    const std::vector<std::string> rollback_args = {ns, state.path().string(), "rollback"};
    if (iteration % 2 == 1) {
        const long rollback_pause = (iteration / 2) % kApplyOps;
        HarnessRun crashed_rollback =
            run_harness(rollback_args, KillMode::kAtPausePoint, rollback_pause, {});
        tally.rollback_point_kills += crashed_rollback.killed ? 1 : 0;
    }
    HarnessRun rolled = run_harness(rollback_args, KillMode::kNone, -1, {});
    EXPECT_EQ(rolled.exit_code, 0) << where << "\n" << rolled.output;
    bool ok = rolled.exit_code == 0;
    for (const auto& k : kKeys) {
        const std::string live = store.read(k.key).value();
        EXPECT_EQ(live, originals[k.key]) << where << ": " << k.key;
        ok = ok && live == originals[k.key];
    }
    auto final_journal = Journal::open(state.path());
    EXPECT_TRUE(final_journal && final_journal->entries().empty()) << where;
    ++tally.iterations;
    return ok && !::testing::Test::HasFailure();
}

TEST(CrashSafety, SigkillAtManyPointsThenRestartAndRollbackRestoresEveryOriginal) {
    TCPTUNE_REQUIRE_PRIVATE_NETNS();
    Tally tally;
    int iteration = 0;
    // Exact points: before every store operation of a fresh apply, i.e. before
    // reading each key, after journaling it but before writing it, and after
    // writing it but before reading it back. Four rounds, varied originals.
    for (int round = 0; round < 4; ++round) {
        for (long point = 0; point < kApplyOps; ++point) {
            ASSERT_TRUE(
                crash_restart_rollback(iteration++, KillMode::kAtPausePoint, point, {}, tally));
        }
    }
    // Racing kills at spread-out delays land anywhere, including inside a journal
    // save (between temp file, fsync, rename and directory fsync).
    // Spread over the median uninterrupted run (process start-up included).
    std::sort(tally.full_apply.begin(), tally.full_apply.end());
    const auto span = tally.full_apply[tally.full_apply.size() / 2];
    for (int i = 0; i < 30; ++i) {
        const std::chrono::microseconds delay(span.count() * (i + 1) / 31);
        ASSERT_TRUE(crash_restart_rollback(iteration++, KillMode::kAfterDelay, -1, delay, tally));
    }
    const int total = tally.apply_point_kills + tally.rollback_point_kills + tally.delay_kills;
    std::printf(
        "crash-safety: %d iterations, %d SIGKILLs (%d at exact apply points, %d during rollback, "
        "%d after a delay of up to %lld us, of which %d left a partly applied plan); every "
        "original restored\n",
        tally.iterations, total, tally.apply_point_kills, tally.rollback_point_kills,
        tally.delay_kills, static_cast<long long>(span.count()), tally.delay_kills_mid_apply);
    EXPECT_GE(tally.apply_point_kills, 50);
}

}  // namespace
}  // namespace tcptune
