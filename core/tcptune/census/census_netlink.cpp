#include "tcptune/census/census_netlink.hpp"

namespace tcptune {

Result<std::unique_ptr<NetlinkCensus>> NetlinkCensus::open(NetlinkCensusOptions options) {
    auto socket = InetDiagSocket::open();
    if (!socket) {
        return tl::unexpected(socket.error());
    }
    return std::unique_ptr<NetlinkCensus>(
        new NetlinkCensus(std::move(*socket), std::move(options)));
}

Result<std::unique_ptr<CensusSource>> make_netlink_census_source(NetlinkCensusOptions options) {
    std::unique_ptr<NetlinkCensus> census;
    TRY_ASSIGN(census, NetlinkCensus::open(std::move(options)));
    return std::unique_ptr<CensusSource>(std::move(census));
}

}  // namespace tcptune
