#include "tcptune/census/netlink_diag_parser.hpp"

namespace tcptune {

namespace netlink_detail {

tl::unexpected<Error> malformed(const std::string& what, std::size_t offset) {
    return make_error(ErrorCode::kNetlink,
                      "netlink: malformed dump: " + what + " at byte " + std::to_string(offset));
}

}  // namespace netlink_detail

Result<DumpTally> parse_inet_diag_dump(std::span<const std::byte> data,
                                       std::uint32_t expected_seq) {
    DumpTally tally;
    DumpProgress progress = DumpProgress::kMore;
    TRY_ASSIGN(progress, parse_inet_diag_datagram(data, expected_seq, tally, NoSocketVisitor{}));
    if (progress != DumpProgress::kDone) {
        return make_error(ErrorCode::kNetlink,
                          "netlink: dump ended without NLMSG_DONE (truncated recording?)");
    }
    return tally;
}

}  // namespace tcptune
