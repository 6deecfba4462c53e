#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/apply/change_record.hpp"
#include "tcptune/apply/sysctl_store.hpp"
#include "tcptune/clock.hpp"
#include "tcptune/result.hpp"

namespace tcptune::test {

// A clock the test moves by hand.
class ManualClock final : public Clock {
  public:
    std::chrono::steady_clock::time_point now() const override { return steady_; }
    std::chrono::system_clock::time_point wall_now() const override { return wall_; }
    void advance(std::chrono::steady_clock::duration d) {
        steady_ += d;
        wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    }

  private:
    std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
    std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'700'000'000)};
};

// A unique temporary directory, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// A directory laid out like /proc/sys: set("net.ipv4.tcp_fin_timeout", "60")
// creates net/ipv4/tcp_fin_timeout containing "60\n" (raw, as the kernel prints).
class FakeProcSys {
  public:
    FakeProcSys() = default;
    const std::filesystem::path& root() const { return dir_.path(); }
    void set(std::string_view key, std::string_view raw_value);
    std::string raw(std::string_view key) const;  // file contents, unnormalized

  private:
    TempDir dir_;
};

// The real ProcSysctlStore over a FakeProcSys, with hooks to play the kernel's
// odd moments: inspect the world before a write, fail it with an errno, or store
// something other than what was written (the kernel clamping a value).
class HookedSysctlStore final : public SysctlStore {
  public:
    explicit HookedSysctlStore(const std::filesystem::path& root) : real_(root) {}
    Result<std::string> read(std::string_view key) const override;
    Result<void> write(std::string_view key, std::string_view value) override;

    // Called before every write; a non-empty string fails the test's expectation
    // (recorded in write_violations).
    std::function<std::string(std::string_view key, std::string_view value)> before_write;
    // When set, writes of this key fail with this errno (nothing is written).
    std::string fail_key;
    int fail_errno = 0;
    // When set, the value actually stored instead of the one written.
    std::function<std::string(std::string_view key, std::string_view value)> kernel_stores;

    std::vector<std::string> writes;  // "key=value" in order
    std::vector<std::string> write_violations;

  private:
    ProcSysctlStore real_;
};

// A change record with every field set: net.ipv4.tcp_tw_reuse 2 -> 1 by rule
// time-wait-pressure of profile web, at 2024-05-01T12:00:00.000001Z, with `result`
// and `detail`. For tests of how records are shown, logged and sent.
ChangeRecord sample_change(ChangeResult result = ChangeResult::kApplied, std::string detail = "");

}  // namespace tcptune::test
