#include "fakes/applier_fakes.hpp"

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/files.hpp"

namespace tcptune::test {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tcptune-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void FakeProcSys::set(std::string_view key, std::string_view raw_value) {
    auto path = sysctl_key_path(root(), key);
    if (!path) {
        throw std::invalid_argument(path.error().message);
    }
    std::filesystem::create_directories(path->parent_path());
    std::ofstream out(*path, std::ios::trunc);
    out << raw_value << '\n';
}

std::string FakeProcSys::raw(std::string_view key) const {
    auto path = sysctl_key_path(root(), key);
    if (!path) {
        throw std::invalid_argument(path.error().message);
    }
    return read_text(*path);
}

Result<std::string> HookedSysctlStore::read(std::string_view key) const {
    return real_.read(key);
}

Result<void> HookedSysctlStore::write(std::string_view key, std::string_view value) {
    writes.push_back(std::string(key) + "=" + std::string(value));
    if (before_write) {
        if (std::string why = before_write(key, value); !why.empty()) {
            write_violations.push_back(why);
        }
    }
    if (!fail_key.empty() && key == fail_key) {
        return make_error(ErrorCode::kIo, "kernel rejected " + std::string(key) + "=" +
                                              std::string(value) + ": " + errno_text(fail_errno));
    }
    if (kernel_stores) {
        return real_.write(key, kernel_stores(key, value));
    }
    return real_.write(key, value);
}

ChangeRecord sample_change(ChangeResult result, std::string detail) {
    ChangeRecord r;
    r.key = "net.ipv4.tcp_tw_reuse";
    r.old_value = "2";
    r.new_value = "1";
    r.profile = "web";
    r.rule = "time-wait-pressure";
    r.reason = "outbound connections are starved of ports";
    r.result = result;
    r.detail = std::move(detail);
    r.replay_command = sysctl_replay_command(r.key, r.new_value);
    r.at = std::chrono::system_clock::time_point(std::chrono::microseconds(1'714'564'800'000'001));
    return r;
}

}  // namespace tcptune::test
