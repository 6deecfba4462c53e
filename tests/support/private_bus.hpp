#pragma once

// A private dbus-daemon configured like Debian's system bus (same default deny
// rules for method calls and name ownership), listening on a socket in a fresh
// temporary directory, so tests exercise the project's real policy file without
// a system bus on the machine. The configuration is the data file
// tests/data/dbus/system-like.conf, which scripts/quickstart.sh uses too. Unix
// sockets live in the file system, so the bus works across network namespaces
// and for any uid (the directory is 0755).

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tcptune/result.hpp"

namespace tcptune::test {

enum class BusPolicy {
    // system.conf-like defaults plus <include> of the project's systemd/net.tcptune.conf.
    kProject,
    // kProject plus Debian's polkitd bus policy (kPolkitBusPolicy), so a real
    // polkitd (PrivatePolkit) can own org.freedesktop.PolicyKit1. Without it
    // the bus has no polkit: calls to it fail with ServiceUnknown, as on a
    // system without polkitd (nothing is ever activated on a private bus).
    kProjectWithPolkit,
    // Everyone may own and call everything: a misconfigured bus. Proves the
    // daemon's own uid check.
    kAllowAll,
};

// Installed by Debian's polkitd package.
inline constexpr const char* kPolkitBusPolicy =
    "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf";

class PrivateBus {
  public:
    // Writes the config and starts `dbus-daemon --nofork`; returns once the bus
    // has printed its address (it is then accepting connections).
    static Result<std::unique_ptr<PrivateBus>> start(BusPolicy policy);
    ~PrivateBus();  // terminates the daemon and removes the directory
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;

    // "unix:path=/tmp/tcptune-bus-XXXXXX/system_bus_socket"
    const std::string& address() const { return address_; }
    const std::filesystem::path& config_file() const { return config_file_; }
    // setenv("DBUS_SYSTEM_BUS_ADDRESS", address()): the daemon, the CLI and
    // busctl started afterwards use this bus as "the system bus".
    void export_as_system_bus() const;

  private:
    PrivateBus() = default;
    std::filesystem::path dir_;
    std::filesystem::path config_file_;
    std::string address_;
    pid_t pid_ = -1;
};

// The busconfig document for a policy: tests/data/dbus/system-like.conf (kProject)
// or allow-all.conf (kAllowAll) with the socket path and the project's policy file
// filled in. scripts/quickstart.sh fills in the same system-like.conf.
Result<std::string> private_bus_config(BusPolicy policy, const std::filesystem::path& socket_path);

}  // namespace tcptune::test
