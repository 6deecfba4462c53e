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

Result<CensusSnapshot> NetlinkCensus::poll_for(const SignalRequest& request) {
    if (!request.sockets()) {
        auto snapshot = poll();
        if (snapshot && request.rates) {
            TRY_ASSIGN(snapshot->segments, read_snmp_tcp(options_.proc_net_dir));
        }
        return snapshot;
    }
    PressureCollectorOptions options;
    options.request = request;
    if (request.destinations) {
        TRY_ASSIGN(options.ports, read_ephemeral_ports(options_.proc_sys_dir));
    }
    if (!collector_ || !(collector_->options().request == request)) {
        collector_.emplace(options);
    } else {
        collector_->set_ports(options.ports);
        collector_->reset();
    }
    auto snapshot = poll_with(*collector_);
    if (!snapshot) {
        return snapshot;
    }
    collector_->finish(snapshot->pressure);
    if (request.rates) {
        TRY_ASSIGN(snapshot->segments, read_snmp_tcp(options_.proc_net_dir));
    }
    // The poll's cost includes the signals.
    snapshot->duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - snapshot->taken_at);
    return snapshot;
}

Result<std::unique_ptr<CensusSource>> make_netlink_census_source(NetlinkCensusOptions options) {
    std::unique_ptr<NetlinkCensus> census;
    TRY_ASSIGN(census, NetlinkCensus::open(std::move(options)));
    return std::unique_ptr<CensusSource>(std::move(census));
}

}  // namespace tcptune
