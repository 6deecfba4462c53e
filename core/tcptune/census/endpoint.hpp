#pragma once

// Addresses and ports as sock_diag reports them, as hashable keys: what the
// diagnosis tables (breakdown.hpp) and the pressure signals (pressure/) count by.

#include <linux/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tcptune {

// An address, an address with a port, a prefix, or a bare port. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d, from dual-stack sockets) are stored as IPv4 so one
// peer is one entry.
struct Endpoint {
    std::uint8_t family = 0;                 // AF_INET, AF_INET6, or 0 for a bare port
    std::uint8_t prefix_len = 0;             // 32 / 128 for a whole address, 24 / 64 for a prefix
    std::uint16_t port = 0;                  // host order; 0 when the port is not part of the key
    std::array<std::uint8_t, 16> address{};  // network order; IPv4 uses the first 4 bytes

    bool operator==(const Endpoint&) const = default;
    // 0.0.0.0 or :: (a listener bound to every address).
    bool is_wildcard() const;
};

struct EndpointHash {
    std::size_t operator()(const Endpoint& e) const noexcept;
};

// The address of inet_diag's __be32[4] (idiag_src / idiag_dst) of a socket of
// `family`, with mapped IPv4 turned into IPv4. No port.
Endpoint endpoint_from_diag(std::uint8_t family, const __be32 (&words)[4]);

// "10.0.0.5", "10.0.0.5:5432", "[2001:db8::1]:443", "10.0.0.0/24", "2001:db8::/64",
// or just "8080" for a bare port.
std::string format_endpoint(const Endpoint& e);
// The address part only ("10.0.0.5", "2001:db8::1"); empty for a bare port.
std::string format_address(const Endpoint& e);

// splitmix64-style mixing for the hash functions of endpoint-keyed tables.
std::uint64_t mix_hash(std::uint64_t h) noexcept;

}  // namespace tcptune
