// Test-only: applies a plan (or rolls back) with the real Applier over the real
// /proc/sys, so the crash-safety test can SIGKILL a genuine applying process.
//
//   applier_harness NETNS_INODE STATE_DIR apply KEY=VALUE...
//   applier_harness NETNS_INODE STATE_DIR rollback
//
// NETNS_INODE must be the inode of this process's network namespace
// (stat /proc/self/ns/net): the caller proves it created a private namespace,
// so a stray run can never touch the host's sysctls.
//
// Fault hook: TCPTUNE_HARNESS_PAUSE_AT=N stops before the N-th sysctl store
// operation (0-based; reads and writes both count), prints "paused N" on stdout
// and waits to be killed. The test thereby kills at an exact point: before
// reading a key, between journaling and writing it, or between writing and
// reading it back. At the end the harness prints "ops N" and one line per record.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "tcptune/apply/applier.hpp"
#include "tcptune/apply/state_lock.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/clock.hpp"

namespace {

using namespace tcptune;

class PausingStore final : public SysctlStore {
  public:
    explicit PausingStore(long pause_at) : pause_at_(pause_at) {}
    Result<std::string> read(std::string_view key) const override {
        step();
        return real_.read(key);
    }
    Result<void> write(std::string_view key, std::string_view value) override {
        step();
        return real_.write(key, value);
    }
    long ops() const { return ops_; }

  private:
    void step() const {
        if (ops_ == pause_at_) {
            std::printf("paused %ld\n", ops_);
            std::fflush(stdout);
            while (true) {
                ::pause();  // until SIGKILL
            }
        }
        ++ops_;
    }
    ProcSysctlStore real_;
    long pause_at_;
    mutable long ops_ = 0;
};

int usage() {
    std::cerr << "usage: applier_harness NETNS_INODE STATE_DIR apply KEY=VALUE...\n"
                 "       applier_harness NETNS_INODE STATE_DIR rollback\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        return usage();
    }
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) != 0 || std::to_string(ns.st_ino) != argv[1]) {
        std::cerr << "applier_harness: not in the network namespace named on the command line; "
                     "refusing to touch sysctls\n";
        return 3;
    }
    const char* pause_env = std::getenv("TCPTUNE_HARNESS_PAUSE_AT");
    PausingStore store(pause_env != nullptr ? std::strtol(pause_env, nullptr, 10) : -1);
    SystemClock clock;
    ApplierOptions options;
    options.state_dir = argv[2];
    // The crash test is about the journal and the kill, not pacing.
    options.limits =
        GateLimits{.key_cooldown = std::chrono::seconds(0), .max_changes_per_minute = 1'000'000};
    // The same lock tcptuned holds: one journal writer per state directory.
    auto lock = StateDirLock::acquire(options.state_dir);
    if (!lock) {
        std::cerr << "applier_harness: " << lock.error().message << "\n";
        return 5;
    }
    Applier applier(store, clock, options);
    if (applier.journal_error()) {
        std::cerr << "journal: " << applier.journal_error()->message << "\n";
        return 4;
    }

    const std::string_view verb = argv[3];
    std::vector<ChangeRecord> records;
    if (verb == "apply") {
        Plan plan;
        for (int i = 4; i < argc; ++i) {
            const std::string arg = argv[i];
            const auto eq = arg.find('=');
            if (eq == std::string::npos) {
                return usage();
            }
            plan.push_back(
                {arg.substr(0, eq), arg.substr(eq + 1), "crash-test", "harness", "test"});
        }
        // Its private namespace has no listeners: the wider port range takes no
        // server's port.
        records = applier.apply(plan, ApplyContext{std::vector<std::uint16_t>{}});
    } else if (verb == "rollback") {
        auto rolled = applier.rollback();
        if (!rolled) {
            std::cerr << "rollback: " << rolled.error().message << "\n";
            return 1;
        }
        records = std::move(*rolled);
    } else {
        return usage();
    }
    std::printf("ops %ld\n", store.ops());
    bool ok = true;
    for (const ChangeRecord& r : records) {
        std::printf("%s\n", describe(r).c_str());
        ok = ok && (r.result == ChangeResult::kApplied || r.result == ChangeResult::kSkipped ||
                    r.result == ChangeResult::kRestored);
    }
    return ok ? 0 : 1;
}
