#pragma once

// The ports connect() may pick: net.ipv4.ip_local_port_range minus
// net.ipv4.ip_local_reserved_ports (ip-sysctl.rst: reserved ports are skipped by
// automatic assignment, connect() and bind() with port 0; explicit binds still
// work). Pure parsing plus a reader over a /proc/sys root.

#include <bitset>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tcptune/result.hpp"

namespace tcptune {

// A set of TCP ports (bit per port, 8 KiB).
class PortSet {
  public:
    void insert(std::uint16_t port) { bits_.set(port); }
    void insert_range(std::uint16_t low, std::uint16_t high);
    bool contains(std::uint16_t port) const { return bits_.test(port); }
    std::size_t size() const { return bits_.count(); }
    bool empty() const { return bits_.none(); }
    // Ports of the set inside [low, high].
    std::size_t count_in(std::uint16_t low, std::uint16_t high) const;
    std::vector<std::uint16_t> ports() const;
    void clear() { bits_.reset(); }
    bool operator==(const PortSet&) const = default;

  private:
    std::bitset<65536> bits_;
};

// "1,2-4,10-10" as the kernel prints and accepts it ("" is the empty set).
Result<PortSet> parse_port_list(std::string_view text);
// The kernel's form: ascending, runs collapsed ("8080,9000-9010").
std::string format_port_list(const PortSet& ports);

struct EphemeralPorts {
    std::uint16_t low = 32768;  // the kernel default
    std::uint16_t high = 60999;
    PortSet reserved;

    bool is_ephemeral(std::uint16_t port) const {
        return port >= low && port <= high && !reserved.contains(port);
    }
    std::uint32_t usable() const;
};

// Reads ip_local_port_range and ip_local_reserved_ports under `proc_sys_dir`
// (normally /proc/sys). A missing reserved-ports file means none are reserved.
Result<EphemeralPorts> read_ephemeral_ports(
    const std::filesystem::path& proc_sys_dir = "/proc/sys");

}  // namespace tcptune
