#include "tcptune/diagnosis/diagnosis.hpp"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace tcptune {

namespace {

std::string percent(double share) {
    return std::to_string(static_cast<int>(std::lround(share * 100.0))) + "%";
}

std::string upper_state(TcpState s) {
    std::string name(state_name(s));
    for (char& c : name) {
        c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return name;
}

const TopEntry* dominant(const TopTable& table) {
    if (table.entries.empty() || table.entries.front().share < kHintDominantShare) {
        return nullptr;
    }
    return &table.entries.front();
}

std::string approx(const TopTable& table) {
    return table.exact ? "" : "~";
}

std::string time_wait_hint(const StateBreakdown& b) {
    const std::string head = "TIME_WAIT: ";
    // A dominant remote service means this host is the client that closes first.
    if (const TopEntry* e = dominant(b.peer_services)) {
        return head + approx(b.peer_services) + percent(e->share) + " towards " +
               format_endpoint(e->key) +
               " — this host opens and closes many short connections to it; connection "
               "pooling or keep-alive would help (net.ipv4.tcp_tw_reuse=1 lets new "
               "outgoing connections reuse them)";
    }
    if (const TopEntry* e = dominant(b.local_ports)) {
        return head + approx(b.local_ports) + percent(e->share) + " on local port " +
               format_endpoint(e->key) +
               " — this server closes connections first; HTTP keep-alive or letting clients "
               "close first moves TIME_WAIT to them (tcp_fin_timeout does not shorten it)";
    }
    if (const TopEntry* e = dominant(b.peers)) {
        return head + approx(b.peers) + percent(e->share) + " with " + format_endpoint(e->key) +
               " — many short connections with one peer; connection reuse would help";
    }
    return {};
}

std::string close_wait_hint(const StateBreakdown& b) {
    std::string text = std::string("CLOSE_WAIT: ") + kCloseWaitFact;
    if (b.processes && !b.processes->owners.empty()) {
        const ProcessOwner& o = b.processes->owners.front();
        text += " — " + percent(o.share) + " held by pid " + std::to_string(o.pid) + " (" + o.comm +
                ") on local port " + std::to_string(o.local_port);
    } else if (const TopEntry* e = dominant(b.local_ports)) {
        text += " — " + approx(b.local_ports) + percent(e->share) + " on local port " +
                format_endpoint(e->key) + " (tcptune top close_wait --by process names the owner)";
    } else {
        text += " (tcptune top close_wait --by process names the owner)";
    }
    return text;
}

std::string syn_recv_hint(const StateBreakdown& b) {
    const std::string head = "SYN_RECV: ";
    const TopEntry* peer = dominant(b.peers);
    const TopEntry* prefix = dominant(b.peer_prefixes);
    const TopEntry* port = dominant(b.local_ports);
    if (peer != nullptr) {
        return head + approx(b.peers) + percent(peer->share) + " from " +
               format_endpoint(peer->key) +
               " — one client's handshakes do not complete (lost ACKs, a broken middlebox, or "
               "a flood from that address)";
    }
    if (prefix != nullptr) {
        return head + approx(b.peer_prefixes) + percent(prefix->share) + " from " +
               format_endpoint(prefix->key) + " — half-open handshakes from one network";
    }
    if (port != nullptr && !b.peers.exact) {
        return head + approx(b.local_ports) + percent(port->share) + " on local port " +
               format_endpoint(port->key) +
               " from many distinct peers — looks like a SYN flood; keep net.ipv4.tcp_syncookies "
               "on and watch ListenOverflows";
    }
    if (port != nullptr) {
        return head + percent(port->share) + " on local port " + format_endpoint(port->key) +
               " — handshakes are not completing; check the final ACKs reach this host";
    }
    return {};
}

std::string generic_hint(const StateBreakdown& b) {
    const std::string head = upper_state(b.state) + ": ";
    if (const TopEntry* e = dominant(b.local_ports)) {
        return head + approx(b.local_ports) + percent(e->share) + " on local port " +
               format_endpoint(e->key);
    }
    if (const TopEntry* e = dominant(b.peer_services)) {
        return head + approx(b.peer_services) + percent(e->share) + " towards " +
               format_endpoint(e->key);
    }
    if (const TopEntry* e = dominant(b.peers)) {
        return head + approx(b.peers) + percent(e->share) + " with " + format_endpoint(e->key);
    }
    return {};
}

}  // namespace

std::string hint(const StateBreakdown& state) {
    if (state.total == 0) {
        return {};
    }
    switch (state.state) {
        case TcpState::kTimeWait:
            return time_wait_hint(state);
        case TcpState::kCloseWait:
            return close_wait_hint(state);
        case TcpState::kSynRecv:
            return syn_recv_hint(state);
        default:
            return generic_hint(state);
    }
}

std::string hint(const ListenerQueues& queue) {
    std::string out;
    const std::string where = format_endpoint(queue.local);
    if (queue.syn_queue_full() || queue.syn_fill() >= 0.8) {
        out = "LISTEN: " + where + " SYN queue " + std::to_string(queue.syn_queue) + "/" +
              std::to_string(queue.backlog) +
              (queue.syn_queue_full() ? " is full" : " is nearly full") +
              " — handshakes do not complete (a SYN flood, or clients whose final ACK is lost); "
              "with net.ipv4.tcp_syncookies=1 new SYNs are answered with cookies, and the queue "
              "is bounded by this listener's backlog, min(listen() backlog, net.core.somaxconn): "
              "net.ipv4.tcp_max_syn_backlog does not apply";
    }
    if (queue.full() || queue.accept_fill() >= 0.8) {
        if (!out.empty()) {
            out += "\n";
        }
        out += "LISTEN: " + where + " accept queue " + std::to_string(queue.queued) + "/" +
               std::to_string(queue.backlog) + (queue.full() ? " is full" : " is nearly full") +
               " — the application accepts too slowly; new SYNs and final ACKs are dropped "
               "(ListenOverflows); accept faster or raise its listen() backlog (capped by "
               "net.core.somaxconn)";
    }
    return out;
}

std::string hint(const DestinationSignals& destinations) {
    if (destinations.looks_like_bind_before_connect()) {
        return "PORTS: " + std::to_string(destinations.ports_in_use) + " of " +
               std::to_string(destinations.usable) +
               " usable ephemeral ports are held one socket each and no destination is near "
               "its limit — sockets bound with bind() before connect() hold a port each "
               "whatever the destination; set IP_BIND_ADDRESS_NO_PORT in the application (no "
               "sysctl fixes this)";
    }
    if (destinations.top.empty() || destinations.top.front().occupancy < 0.5) {
        return {};
    }
    const DestinationPorts& d = destinations.top.front();
    return "PORTS: " + std::to_string(d.sockets) + " of " + std::to_string(destinations.usable) +
           " usable ephemeral ports (" + percent(d.occupancy) + ") are held towards " +
           format_endpoint(d.remote) + " from " + format_address(d.local) +
           " — connect() to it fails with EADDRNOTAVAIL when they are all taken; pool or keep "
           "connections alive, let the server close first, or allow net.ipv4.tcp_tw_reuse=1 "
           "(outgoing connections reuse TIME_WAIT ports)";
}

std::vector<std::string> hints(const Breakdown& breakdown) {
    std::vector<std::string> out;
    for (const auto& s : breakdown.states) {
        if (auto h = hint(s); !h.empty()) {
            out.push_back(std::move(h));
        }
    }
    for (const auto& q : breakdown.listen.filling) {
        if (auto h = hint(q); !h.empty()) {
            out.push_back(std::move(h));
        }
    }
    if (breakdown.destinations) {
        if (auto h = hint(*breakdown.destinations); !h.empty()) {
            out.push_back(std::move(h));
        }
    }
    if (breakdown.listen.listen_overflows_per_second &&
        *breakdown.listen.listen_overflows_per_second > 0.0) {
        out.push_back(fmt::format(
            "ListenOverflows rising at {:.1f}/s — connections are dropped because an accept "
            "queue is full",
            *breakdown.listen.listen_overflows_per_second));
    }
    return out;
}

namespace {

std::string share_of(double share, std::uint64_t total) {
    return fmt::format("{:.1f}% of {}", share * 100.0, total);
}

std::vector<TopRow> rows_of(const TopTable& table, std::uint64_t total, bool address_only) {
    std::vector<TopRow> rows;
    for (const auto& e : table.entries) {
        TopRow row;
        row.key = address_only ? format_address(e.key) : format_endpoint(e.key);
        row.count = e.count;
        row.detail = (table.exact ? "" : "~") + share_of(e.share, total);
        if (!table.exact) {
            row.detail += " (count may be over by " + std::to_string(e.error) + ")";
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace

std::string_view to_string(TopView view) {
    return name_of(kTopViewNames, view);
}

Result<TopView> parse_top_view(std::string_view name) {
    if (auto view = value_of(kTopViewNames, name)) {
        return *view;
    }
    return make_error(ErrorCode::kNotFound,
                      fmt::format("unknown view '{}' ({})", name, names_of(kTopViewNames)));
}

Result<std::vector<TopRow>> top_rows(const StateBreakdown& state, TopView view) {
    switch (view) {
        case TopView::kPort:
            return rows_of(state.local_ports, state.total, false);
        case TopView::kPeer:
            return rows_of(state.peers, state.total, true);
        case TopView::kEndpoint:
            return rows_of(state.peer_services, state.total, false);
        case TopView::kPrefix:
            if (state.peer_prefixes.capacity == 0) {
                return make_error(ErrorCode::kNotFound,
                                  "the breakdown was taken without prefixes (by_prefix)");
            }
            return rows_of(state.peer_prefixes, state.total, false);
        case TopView::kProcess:
            break;
        case TopView::kListener:
        case TopView::kDestination:
            return make_error(ErrorCode::kNotFound,
                              std::string("the ") + std::string(to_string(view)) +
                                  " view belongs to the whole breakdown, not to one state");
    }
    if (!state.processes) {
        return make_error(ErrorCode::kNotFound,
                          "the breakdown was taken without processes (by_process)");
    }
    std::vector<TopRow> rows;
    for (const auto& o : state.processes->owners) {
        rows.push_back(TopRow{
            std::to_string(o.pid) + "/" + o.comm, o.count,
            "local port " + std::to_string(o.local_port) + ", " + share_of(o.share, state.total)});
    }
    return rows;
}

BreakdownOptions top_view_options(TcpState state, TopView view, std::size_t limit) {
    BreakdownOptions options;
    options.states = {state};
    if (view == TopView::kListener || view == TopView::kDestination) {
        options.states = {};  // these views read the listeners or the destinations
    }
    if (limit > 0) {
        options.top_n = limit;
    }
    options.by_prefix = view == TopView::kPrefix;
    options.by_process = view == TopView::kProcess;
    options.destinations = view == TopView::kDestination;
    return options;
}

Result<std::vector<TopRow>> top_rows(const Breakdown& breakdown, TcpState state, TopView view,
                                     std::size_t limit) {
    const std::size_t n = limit == 0 ? 10 : limit;
    if (view == TopView::kListener) {
        std::vector<TopRow> rows;
        for (const ListenerQueues& q : breakdown.listen.filling) {
            if (rows.size() >= n) {
                break;
            }
            rows.push_back(
                TopRow{format_endpoint(q.local), q.syn_queue + q.queued,
                       fmt::format("SYN queue {}/{}{}, accept queue {}/{}{}", q.syn_queue,
                                   q.backlog, q.syn_queue_full() ? " (full)" : "", q.queued,
                                   q.backlog, q.full() ? " (full)" : "")});
        }
        return rows;
    }
    if (view == TopView::kDestination) {
        if (!breakdown.destinations) {
            return make_error(ErrorCode::kNotFound, "the breakdown was taken without destinations");
        }
        std::vector<TopRow> rows;
        const DestinationSignals& d = *breakdown.destinations;
        for (const DestinationPorts& e : d.top) {
            if (rows.size() >= n) {
                break;
            }
            rows.push_back(
                TopRow{format_address(e.local) + " -> " + format_endpoint(e.remote), e.sockets,
                       fmt::format("{}{} of {} usable ports ({:.1f}%)", d.exact ? "" : "~",
                                   e.sockets, d.usable, e.occupancy * 100.0)});
        }
        return rows;
    }
    const StateBreakdown* per_state = breakdown.find(state);
    if (per_state == nullptr) {
        return std::vector<TopRow>{};
    }
    auto rows = top_rows(*per_state, view);
    if (rows && rows->size() > n) {
        rows->resize(n);
    }
    return rows;
}

std::string hint(const Breakdown& breakdown) {
    std::string text;
    for (const auto& h : hints(breakdown)) {
        if (!text.empty()) {
            text += '\n';
        }
        text += h;
    }
    return text;
}

}  // namespace tcptune
