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

std::string hint(const ListenQueue& queue) {
    const bool full = queue.full();
    if (!full && queue.fill() < 0.8) {
        return {};
    }
    return "LISTEN: " + format_endpoint(queue.local) + " accept queue " +
           std::to_string(queue.queued) + "/" + std::to_string(queue.backlog) +
           (full ? " is full" : " is nearly full") +
           " — the application accepts too slowly; accept faster or raise its listen() backlog "
           "(capped by net.core.somaxconn)";
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
    switch (view) {
        case TopView::kPort:
            return "port";
        case TopView::kPeer:
            return "peer";
        case TopView::kEndpoint:
            return "endpoint";
        case TopView::kPrefix:
            return "prefix";
        case TopView::kProcess:
            return "process";
    }
    return "port";
}

Result<TopView> parse_top_view(std::string_view name) {
    for (const TopView view : kAllTopViews) {
        if (to_string(view) == name) {
            return view;
        }
    }
    return make_error(ErrorCode::kNotFound, "unknown view '" + std::string(name) +
                                                "' (port, peer, endpoint, prefix or process)");
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
    if (limit > 0) {
        options.top_n = limit;
    }
    options.by_prefix = view == TopView::kPrefix;
    options.by_process = view == TopView::kProcess;
    return options;
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
