#include "tcptune/census/endpoint.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace tcptune {

namespace {
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}  // namespace

bool Endpoint::is_wildcard() const {
    return (family == AF_INET || family == AF_INET6) &&
           std::all_of(address.begin(), address.end(), [](std::uint8_t b) { return b == 0; });
}

std::uint64_t mix_hash(std::uint64_t h) noexcept {
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return h;
}

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, e.address.data(), 8);
    std::memcpy(&b, e.address.data() + 8, 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ULL;
    h ^= (b + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2));
    h ^= (static_cast<std::uint64_t>(e.port) << 16 | static_cast<std::uint64_t>(e.family) << 8 |
          e.prefix_len) *
         0xC2B2AE3D27D4EB4FULL;
    // Final avalanche so the low bits used by the tables are well mixed.
    return static_cast<std::size_t>(mix_hash(h));
}

Endpoint endpoint_from_diag(std::uint8_t family, const __be32 (&words)[4]) {
    Endpoint e;
    if (family == AF_INET6) {
        std::memcpy(e.address.data(), words, 16);
        if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), e.address.begin())) {
            std::array<std::uint8_t, 16> v4{};
            std::copy_n(e.address.begin() + 12, 4, v4.begin());
            e.address = v4;
            e.family = AF_INET;
            e.prefix_len = 32;
        } else {
            e.family = AF_INET6;
            e.prefix_len = 128;
        }
    } else {
        std::memcpy(e.address.data(), words, 4);
        e.family = AF_INET;
        e.prefix_len = 32;
    }
    return e;
}

std::string format_address(const Endpoint& e) {
    if (e.family != AF_INET && e.family != AF_INET6) {
        return {};
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (::inet_ntop(e.family, e.address.data(), text, sizeof(text)) == nullptr) {
        return "?";
    }
    return text;
}

std::string format_endpoint(const Endpoint& e) {
    if (e.family != AF_INET && e.family != AF_INET6) {
        return std::to_string(e.port);
    }
    std::string address = format_address(e);
    const std::uint8_t whole = e.family == AF_INET ? 32 : 128;
    if (e.prefix_len != whole) {
        return address + "/" + std::to_string(e.prefix_len);
    }
    if (e.port == 0) {
        return address;
    }
    return e.family == AF_INET6 ? "[" + address + "]:" + std::to_string(e.port)
                                : address + ":" + std::to_string(e.port);
}

}  // namespace tcptune
