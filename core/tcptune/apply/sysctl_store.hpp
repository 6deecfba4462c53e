#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "tcptune/result.hpp"

namespace tcptune {

// The only way tcptune reads or writes kernel tunables. Keys are dotted
// ("net.ipv4.tcp_fin_timeout"); values returned by read() are normalized with
// normalize_sysctl_value so "32768\t60999\n" and "32768 60999" compare equal.
class SysctlStore {
  public:
    virtual ~SysctlStore() = default;
    virtual Result<std::string> read(std::string_view key) const = 0;
    // Writes the value as one write(2). A failure carries the kernel's errno in
    // the message ("Invalid argument (EINVAL, errno 22)").
    virtual Result<void> write(std::string_view key, std::string_view value) = 0;
};

// The real store over /proc/sys. The root is configurable so unit tests run
// against a temporary directory laid out like /proc/sys (files must exist:
// write never creates one, exactly like procfs).
class ProcSysctlStore final : public SysctlStore {
  public:
    explicit ProcSysctlStore(std::filesystem::path root = "/proc/sys");
    Result<std::string> read(std::string_view key) const override;
    Result<void> write(std::string_view key, std::string_view value) override;
    const std::filesystem::path& root() const { return root_; }

  private:
    std::filesystem::path root_;
};

// Maps a dotted key to its file below root. Refuses keys that could escape the
// root or name nothing: empty components, "..", '/', characters outside
// [A-Za-z0-9_-].
Result<std::filesystem::path> sysctl_key_path(const std::filesystem::path& root,
                                              std::string_view key);

}  // namespace tcptune
