#include "tcptune/diagnosis/breakdown_json.hpp"

#include <sys/socket.h>

#include "tcptune/diagnosis/diagnosis.hpp"

namespace tcptune {

namespace {

using nlohmann::json;

enum class KeyKind { kPort, kAddress, kService, kPrefix };

json entry_to_json(const TopEntry& e, KeyKind kind, bool exact) {
    json j;
    switch (kind) {
        case KeyKind::kPort:
            j["port"] = e.key.port;
            break;
        case KeyKind::kAddress:
            j["address"] = format_address(e.key);
            break;
        case KeyKind::kService:
            j["address"] = format_address(e.key);
            j["port"] = e.key.port;
            j["endpoint"] = format_endpoint(e.key);
            break;
        case KeyKind::kPrefix:
            j["prefix"] = format_endpoint(e.key);
            break;
    }
    j["count"] = e.count;
    j["share"] = e.share;
    if (!exact) {
        j["error"] = e.error;  // the true count is in [count - error, count]
    }
    return j;
}

json table_to_json(const TopTable& t, KeyKind kind) {
    json top = json::array();
    for (const auto& e : t.entries) {
        top.push_back(entry_to_json(e, kind, t.exact));
    }
    return json{{"exact", t.exact},
                {"capacity", t.capacity},
                {"distinct", t.distinct},
                {"top", std::move(top)}};
}

json processes_to_json(const ProcessBreakdown& p) {
    json owners = json::array();
    for (const auto& o : p.owners) {
        owners.push_back(json{{"pid", o.pid},
                              {"comm", o.comm},
                              {"local_port", o.local_port},
                              {"count", o.count},
                              {"share", o.share}});
    }
    return json{{"top", std::move(owners)},
                {"sockets_examined", p.sockets_examined},
                {"without_owner", p.without_owner},
                {"unmatched", p.unmatched},
                {"capped", p.capped},
                {"processes_scanned", p.processes_scanned},
                {"processes_unreadable", p.processes_unreadable}};
}

}  // namespace

json listener_to_json(const ListenerQueues& q) {
    return json{{"local", format_endpoint(q.local)},
                {"address", format_address(q.local)},
                {"port", q.local.port},
                {"queued", q.queued},
                {"syn_queue", q.syn_queue},
                {"backlog", q.backlog},
                {"full", q.full()},
                {"syn_queue_full", q.syn_queue_full()},
                {"accept_fill", q.accept_fill()},
                {"syn_fill", q.syn_fill()},
                {"sockets", q.sockets},
                {"inode", q.inode}};
}

json destinations_to_json(const DestinationSignals& d) {
    json top = json::array();
    for (const auto& e : d.top) {
        json j{{"local", format_address(e.local)},
               {"remote", format_endpoint(e.remote)},
               {"remote_address", format_address(e.remote)},
               {"remote_port", e.remote.port},
               {"sockets", e.sockets},
               {"usable_ports", d.usable},
               {"share", e.occupancy}};
        if (!d.exact) {
            j["error"] = e.error;
        }
        top.push_back(std::move(j));
    }
    return json{{"port_range", {d.range_low, d.range_high}},
                {"usable_ports", d.usable},
                {"sockets_in_range", d.sockets_in_range},
                {"ports_in_use", d.ports_in_use},
                {"exact", d.exact},
                {"distinct", d.distinct},
                {"bind_before_connect", d.looks_like_bind_before_connect()},
                {"top", std::move(top)},
                {"hint", hint(d)}};
}

json state_breakdown_to_json(const StateBreakdown& s) {
    json j{{"state", std::string(state_name(s.state))},
           {"total", s.total},
           {"local_ports", table_to_json(s.local_ports, KeyKind::kPort)},
           {"peers", table_to_json(s.peers, KeyKind::kAddress)},
           {"peer_services", table_to_json(s.peer_services, KeyKind::kService)}};
    if (s.peer_prefixes.capacity > 0) {  // only filled with by_prefix
        j["peer_prefixes"] = table_to_json(s.peer_prefixes, KeyKind::kPrefix);
    }
    if (s.processes) {
        j["processes"] = processes_to_json(*s.processes);
    }
    j["hint"] = hint(s);
    return j;
}

json breakdown_to_json(const Breakdown& b) {
    json states = json::object();
    for (TcpState s : kAllTcpStates) {
        states[std::string(state_name(s))] = b.counts[s];
    }
    json breakdowns = json::array();
    for (const auto& s : b.states) {
        breakdowns.push_back(state_breakdown_to_json(s));
    }
    json filling = json::array();
    for (const auto& q : b.listen.filling) {
        filling.push_back(listener_to_json(q));
    }
    json listen{{"listeners", b.listen.listeners},
                {"listeners_queued", b.listen.listeners_queued},
                {"listeners_full", b.listen.listeners_full},
                {"listeners_syn_full", b.listen.listeners_syn_full},
                {"syn_recv_unattributed", b.listen.syn_recv_unattributed},
                {"filling", std::move(filling)},
                {"listen_overflows_total", b.listen.listen_overflows},
                {"listen_drops_total", b.listen.listen_drops},
                {"listen_overflows_per_second", nullptr},
                {"trend_seconds", nullptr}};
    if (b.listen.listen_overflows_per_second) {
        listen["listen_overflows_per_second"] = *b.listen.listen_overflows_per_second;
        listen["trend_seconds"] = *b.listen.trend_seconds;
    }
    json out{{"states", std::move(states)},
             {"breakdowns", std::move(breakdowns)},
             {"listen", std::move(listen)},
             {"hints", hints(b)},
             {"duration_seconds", std::chrono::duration<double>(b.duration).count()}};
    if (b.destinations) {
        out["destinations"] = destinations_to_json(*b.destinations);
    }
    return out;
}

}  // namespace tcptune
