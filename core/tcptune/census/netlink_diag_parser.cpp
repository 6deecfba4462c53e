#include "tcptune/census/netlink_diag_parser.hpp"

#include <cstring>

namespace tcptune {

namespace netlink_detail {

std::string describe_errno(std::int32_t negative_errno) {
    const int err = negative_errno < 0 ? -negative_errno : negative_errno;
    return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

tl::unexpected<Error> malformed(const std::string& what, std::size_t offset) {
    return make_error(ErrorCode::kNetlink,
                      "netlink: malformed dump: " + what + " at byte " + std::to_string(offset));
}

}  // namespace netlink_detail

Result<DumpTally> parse_inet_diag_dump(std::span<const std::byte> data,
                                       std::uint32_t expected_seq) {
    DumpTally tally;
    auto progress = parse_inet_diag_datagram(data, expected_seq, tally, NoSocketVisitor{});
    if (!progress) {
        return tl::unexpected(progress.error());
    }
    if (*progress != DumpProgress::kDone) {
        return make_error(ErrorCode::kNetlink,
                          "netlink: dump ended without NLMSG_DONE (truncated recording?)");
    }
    return tally;
}

}  // namespace tcptune
