#include "tcptune/diagnosis/explain.hpp"

#include <algorithm>
#include <sstream>

#include "tcptune/apply/sysctl_registry.hpp"
#include "tcptune/census/tcp_state.hpp"

namespace tcptune {

namespace {

struct Text {
    std::string_view topic;
    std::string_view title;
    std::string_view meaning;
    std::string_view moved_by;
    std::vector<std::string_view> myths;
    std::vector<std::string_view> related;
};

// The knowledge behind the tool (docs/safety-model.md and docs/diagnosis.md). States first, then
// sysctls.
const std::vector<Text>& texts() {
    static const std::vector<Text> kTexts = {
        {"established",
         "ESTABLISHED: an open connection",
         "Both sides completed the handshake and can send data. Most sockets on a busy server "
         "are here.",
         "Rises with concurrent clients and with connection pools; falls when either side "
         "closes. A count far above what the application serves usually means idle or dead "
         "peers that nobody notices. `tcptune top established --by process` names who holds "
         "them, `--by peer` with whom.",
         {"Myth: idle ESTABLISHED connections to crashed peers go away on their own. Fact: "
          "without keepalive (SO_KEEPALIVE) or an application timeout they stay forever; with "
          "keepalive, detection takes tcp_keepalive_time + tcp_keepalive_intvl x "
          "tcp_keepalive_probes (7200 + 75 x 9 = 2 h 11 min 15 s by default)."},
         {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_retries2", "close_wait"}},
        {"syn_sent",
         "SYN_SENT: an outgoing connect() waiting for the SYN-ACK",
         "This host sent a SYN and waits for the peer to answer.",
         "Piles up when upstreams are slow, down or filtered (no RST, no answer). Each attempt "
         "is retried tcp_syn_retries times with exponential backoff: 6 retries take about "
         "127 s before connect() fails.",
         {"Myth: SYN_SENT means this host is under attack. Fact: it is our own outgoing "
          "connections; look at the destination (`tcptune top syn_sent --by peer`)."},
         {"net.ipv4.tcp_syn_retries", "syn_recv"}},
        {"syn_recv",
         "SYN_RECV: a half-open incoming connection",
         "A client's SYN was answered with a SYN-ACK and the final ACK has not arrived. The "
         "request sits in the listener's SYN queue (tcp_max_syn_backlog), not in the accept "
         "queue.",
         "Rises with connection bursts, lossy or slow clients and SYN floods (spoofed sources "
         "never answer). Each entry is kept for tcp_synack_retries retransmissions: 5 retries "
         "take about 63 s. `tcptune top syn_recv --by prefix` shows whether they come from one "
         "network or from everywhere (a flood); `tcptune top` adds the listeners' accept "
         "queues and ListenOverflows.",
         {"Myth: a SYN flood needs a bigger somaxconn. Fact: somaxconn limits the accept queue "
          "of completed connections; half-open ones live in the SYN queue, and SYN cookies "
          "(tcp_syncookies) keep the listener reachable when it overflows.",
          "Myth: SYN cookies are always bad. Fact: with tcp_syncookies=1 they are only used "
          "when the SYN queue overflows, which is exactly when they help."},
         {"net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_max_syn_backlog",
          "net.core.somaxconn"}},
        {"fin_wait1",
         "FIN_WAIT1: we closed, our FIN is not acknowledged yet",
         "The application closed the socket; the kernel sent a FIN (possibly behind unsent "
         "data) and waits for the peer to acknowledge it.",
         "Piles up when peers stop reading or vanish while data is still queued (zero window). "
         "Orphaned sockets here are retried tcp_orphan_retries times, then killed.",
         {"Myth: tcp_fin_timeout limits FIN_WAIT1. Fact: it only applies to FIN_WAIT2; "
          "FIN_WAIT1 is bounded by retransmission limits (tcp_orphan_retries for orphans)."},
         {"net.ipv4.tcp_orphan_retries", "fin_wait2", "net.ipv4.tcp_max_orphans"}},
        {"fin_wait2",
         "FIN_WAIT2: our FIN was acknowledged, waiting for the peer's FIN",
         "This side has finished sending; the peer acknowledged it but has not closed its side "
         "yet.",
         "Normal for a moment. Piles up when peers never close (buggy clients, middleboxes that "
         "drop the FIN). Once the application has closed the socket (an orphan), the kernel "
         "gives up after tcp_fin_timeout seconds (default 60). `tcptune top fin_wait2 --by "
         "peer` shows which peers do not close.",
         {"Myth: tcp_fin_timeout shortens TIME_WAIT. Fact: it only bounds orphaned FIN_WAIT2; "
          "TIME_WAIT is fixed at 60 s in Linux."},
         {"net.ipv4.tcp_fin_timeout", "time_wait"}},
        {"time_wait",
         "TIME_WAIT: closed, kept for 2MSL so late packets die out",
         "The side that closes first keeps the connection's 4-tuple for 60 s (TCP_TIMEWAIT_LEN, "
         "fixed in Linux) so delayed segments of the old connection cannot corrupt a new one "
         "and the final ACK can be retransmitted.",
         "Rises with the rate of connections this host closes first: count ~= closes per "
         "second x 60. Clients and proxies that open many short outbound connections pay for "
         "it in ephemeral ports (one 4-tuple per TIME_WAIT); servers mostly pay a little "
         "memory. Above tcp_max_tw_buckets the kernel stops keeping them "
         "(TCPTimeWaitOverflow). `tcptune top time_wait --by peer` shows the remote endpoint "
         "they point to (one dominant one: pool those connections); `--by port` the local "
         "port (a server that closes first).",
         {"Myth: tcp_fin_timeout shortens TIME_WAIT. Fact: TIME_WAIT is 60 s, hard-coded; "
          "tcp_fin_timeout is about FIN_WAIT2.",
          "Myth: tcp_tw_recycle fixes TIME_WAIT. Fact: it was removed in Linux 4.12 because it "
          "dropped connections from clients behind NAT; tcptune refuses it.",
          "Myth: tcp_tw_reuse helps servers. Fact: it only lets new *outgoing* connections "
          "reuse a TIME_WAIT 4-tuple (1 = everywhere, 2 = loopback only, the default since "
          "4.20); inbound connections are unaffected.",
          "Myth: many TIME_WAIT sockets are a problem by themselves. Fact: they cost ~200 bytes "
          "each; the real limit is ephemeral ports towards one destination."},
         {"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_max_tw_buckets",
          "net.ipv4.tcp_tw_recycle"}},
        {"close",
         "CLOSE: the socket is closed",
         "A socket that is not connected and not listening; seen briefly during setup and "
         "teardown.",
         "Usually near zero. Sockets created but never connected or bound also show up here.",
         {},
         {"close_wait"}},
        {"close_wait",
         "CLOSE_WAIT: the peer closed, this application has not",
         "The peer sent its FIN; the kernel acknowledged it and now waits for the local "
         "application to call close(). Until it does, the socket stays here forever.",
         "Only the application moves it: a CLOSE_WAIT pile is a bug (a missing close(), a leak "
         "in a connection pool, a blocked worker). Find the process with `tcptune top "
         "close_wait --by process`.",
         {"Myth: a sysctl (tcp_fin_timeout, keepalive) clears CLOSE_WAIT. Fact: no sysctl does; "
          "the kernel is waiting for the application. Restarting the process frees them, "
          "fixing the code prevents them."},
         {"last_ack", "fin_wait2"}},
        {"last_ack",
         "LAST_ACK: we closed after the peer, waiting for the final ACK",
         "The peer closed first, then the application closed; our FIN waits for its ACK.",
         "Brief normally; piles up when peers vanish right after closing. Retransmissions are "
         "bounded like any orphan's.",
         {},
         {"close_wait", "net.ipv4.tcp_orphan_retries"}},
        {"listen",
         "LISTEN: a server socket accepting connections",
         "A socket after listen(). It owns a SYN queue (half-open, bounded by "
         "tcp_max_syn_backlog) and an accept queue (completed connections, bounded by "
         "min(backlog, somaxconn)).",
         "Changes only when servers start or stop. When the accept queue is full, completed "
         "handshakes are dropped and ListenOverflows rises. `tcptune top listen --trend 1s` "
         "lists listeners whose accept queue is filling, with their backlog and the "
         "ListenOverflows rate; `--by process` names the servers.",
         {"Myth: raising somaxconn fixes accept queue overflows at once. Fact: the limit is "
          "applied when the application calls listen(); running servers keep their backlog "
          "until they listen again, and an application that accepts too slowly stays too "
          "slow."},
         {"net.core.somaxconn", "syn_recv", "net.ipv4.tcp_abort_on_overflow"}},
        {"closing",
         "CLOSING: both sides closed at the same time",
         "Both sides sent a FIN before receiving the other's; each waits for its FIN to be "
         "acknowledged.",
         "Rare; a steady count suggests lost ACKs.",
         {},
         {"time_wait"}},
        {"net.ipv4.tcp_tw_reuse",
         "",
         "Lets a new outgoing connection take over the 4-tuple of a connection in TIME_WAIT "
         "when TCP timestamps prove that old segments cannot be confused with new ones.",
         "0 = off, 1 = on for all outgoing connections, 2 = loopback only (the default since "
         "Linux 4.20). Helps clients and proxies that run out of ephemeral ports towards one "
         "destination. Needs tcp_timestamps (on by default).",
         {"Myth: tw_reuse shortens TIME_WAIT for a server. Fact: it only affects connect(); "
          "accepted connections never reuse TIME_WAIT entries through it.",
          "Myth: tw_reuse is as dangerous as tw_recycle. Fact: tw_recycle dropped incoming "
          "SYNs from NATed clients; tw_reuse only changes this host's outgoing connections."},
         {"time_wait", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_recycle"}},
        {"net.ipv4.tcp_tw_recycle",
         "",
         "Recycled TIME_WAIT sockets aggressively based on per-host TCP timestamps.",
         "Nothing: the key was removed in Linux 4.12. With it enabled, clients behind one NAT "
         "(whose timestamps are not monotonic across hosts) had their SYNs silently dropped.",
         {"Myth: tw_recycle is the fix for TIME_WAIT. Fact: it broke NATed clients and is gone; "
          "tcptune refuses it in profiles. Use tcp_tw_reuse for outgoing connections."},
         {"net.ipv4.tcp_tw_reuse", "time_wait"}},
        {"net.ipv4.tcp_fin_timeout",
         "",
         "How long an orphaned socket (closed by the application) may wait in FIN_WAIT2 for the "
         "peer's FIN.",
         "Lower values free sockets stuck on peers that never close. It does not apply to "
         "FIN_WAIT2 sockets the application still holds.",
         {"Myth: it sets the TIME_WAIT duration. Fact: TIME_WAIT is fixed at 60 s; this is about "
          "FIN_WAIT2 only."},
         {"fin_wait2", "time_wait"}},
        {"net.ipv4.tcp_syncookies",
         "",
         "When a listener's SYN queue overflows, answer SYNs with a cookie encoded in the "
         "sequence number instead of remembering them, so real clients still get in during a "
         "SYN flood.",
         "0 = never, 1 = only when the SYN queue overflows (default), 2 = always. Cookies carry "
         "only a few TCP options, so 2 costs performance for nothing in normal operation.",
         {"Myth: syncookies slow everything down. Fact: with 1 they are only used while the SYN "
          "queue is full."},
         {"syn_recv", "net.ipv4.tcp_max_syn_backlog"}},
        {"net.ipv4.tcp_keepalive_time",
         "",
         "Idle time before the kernel starts probing a connection whose socket has "
         "SO_KEEPALIVE set.",
         "Together with tcp_keepalive_intvl and tcp_keepalive_probes it decides how long a dead "
         "peer goes unnoticed: time + intvl x probes = 7200 + 75 x 9 = 2 h 11 min 15 s by "
         "default. Applications can override all three per socket (TCP_KEEPIDLE, ...).",
         {"Myth: keepalive applies to every connection. Fact: only to sockets that enable "
          "SO_KEEPALIVE.",
          "Myth: keepalive cleans up CLOSE_WAIT. Fact: CLOSE_WAIT waits for the local "
          "application's close(), not for the peer."},
         {"net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "established"}},
        {"net.ipv4.tcp_keepalive_intvl",
         "",
         "Seconds between keepalive probes once probing has started.",
         "Part of dead-peer detection time: time + intvl x probes.",
         {},
         {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_probes"}},
        {"net.ipv4.tcp_keepalive_probes",
         "",
         "Unanswered keepalive probes before the connection is reset.",
         "Part of dead-peer detection time: time + intvl x probes.",
         {},
         {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl"}},
        {"net.ipv4.tcp_synack_retries",
         "",
         "How many times the SYN-ACK of a half-open connection is retransmitted before the "
         "request is dropped.",
         "Each retry doubles the wait (1 s, 2 s, 4 s, ...): 5 retries keep a SYN_RECV entry for "
         "about 63 s, 2 retries for about 7 s. Lower values free the SYN queue faster under a "
         "flood but fail clients on very lossy links sooner.",
         {},
         {"syn_recv", "net.ipv4.tcp_syncookies"}},
        {"net.ipv4.tcp_syn_retries",
         "",
         "How many times an outgoing SYN is retransmitted before connect() fails.",
         "6 retries take about 127 s; 3 take about 15 s. Lower values make calls to dead "
         "upstreams fail faster.",
         {},
         {"syn_sent"}},
        {"net.ipv4.tcp_max_syn_backlog",
         "",
         "Upper bound of half-open requests per listener (the SYN queue), together with the "
         "listen() backlog.",
         "A deeper queue rides out bursts; when it overflows, SYN cookies (if enabled) take "
         "over, otherwise SYNs are dropped (TCPReqQFullDrop).",
         {},
         {"syn_recv", "net.ipv4.tcp_syncookies", "net.core.somaxconn"}},
        {"net.ipv4.tcp_max_tw_buckets",
         "",
         "System-wide limit of TIME_WAIT sockets.",
         "Beyond it, closing connections skip TIME_WAIT and the kernel logs \"TCP: time wait "
         "bucket table overflow\" (TCPTimeWaitOverflow). Lowering it to 'fix' TIME_WAIT removes "
         "the protection TIME_WAIT exists for.",
         {"Myth: a low tcp_max_tw_buckets is a safe TIME_WAIT fix. Fact: it silently drops the "
          "2MSL protection for the overflow."},
         {"time_wait"}},
        {"net.ipv4.tcp_max_orphans",
         "",
         "Limit of sockets that no process holds any more (closed by the application but not "
         "yet finished).",
         "Beyond it orphans are reset at once and the kernel logs \"too many orphaned "
         "sockets\". Each orphan can pin up to ~64 KB of unsent data.",
         {},
         {"fin_wait1", "fin_wait2", "net.ipv4.tcp_orphan_retries"}},
        {"net.ipv4.tcp_orphan_retries",
         "",
         "Retransmissions before an orphaned connection (FIN_WAIT1, LAST_ACK, CLOSING) is "
         "killed.",
         "0 means the built-in 8. Lower values free orphans stuck on unreachable peers sooner.",
         {},
         {"fin_wait1", "net.ipv4.tcp_max_orphans"}},
        {"net.ipv4.tcp_retries2",
         "",
         "Retransmissions of unacknowledged data before an established connection is dropped.",
         "15 (the default) means roughly 15 minutes of silence; 8 means about 100 s. Values "
         "below 3 would drop connections on short network blips, so tcptune refuses them.",
         {},
         {"established"}},
        {"net.ipv4.tcp_abort_on_overflow",
         "",
         "When the accept queue is full, reset the connection instead of dropping the final "
         "ACK and letting the client retransmit.",
         "1 makes overload visible to clients at once but turns a short burst into failed "
         "connections; 0 (default) lets most bursts recover on retransmission.",
         {"Myth: enabling it improves throughput. Fact: it only changes how overload fails."},
         {"listen", "net.core.somaxconn"}},
        {"net.core.somaxconn",
         "",
         "Upper limit on the backlog an application passes to listen(): the size of the accept "
         "queue of completed connections.",
         "Raising it takes effect when an application calls listen() again; the application "
         "must also ask for a large backlog. Overflows show up as ListenOverflows.",
         {"Myth: somaxconn protects against SYN floods. Fact: half-open connections are in the "
          "SYN queue (tcp_max_syn_backlog, syncookies), not in the accept queue."},
         {"listen", "syn_recv"}},
        {"net.ipv4.ip_local_reserved_ports",
         "",
         "Ports that automatic port assignment (connect(), bind() with port 0) never picks, "
         "as comma separated ports and ranges: \"8080,9000-9010\".",
         "Reserve the ports local servers listen on when they lie inside "
         "ip_local_port_range, so an outgoing connection can never take one while the server "
         "restarts. Explicit bind() to a reserved port still works. Reserved ports inside the "
         "range reduce the usable ephemeral ports; tcptune subtracts them when it computes "
         "port occupancy, and reserves listening ports itself before it widens the range.",
         {},
         {"net.ipv4.ip_local_port_range", "time_wait"}},
        {"net.ipv4.ip_local_port_range",
         "",
         "The ephemeral ports used for outgoing connections, \"LOW HIGH\".",
         "Each (source address, destination address, destination port) can have at most "
         "HIGH - LOW + 1 connections, TIME_WAIT included: 28232 by default. Widening it helps "
         "proxies; make sure no local service listens inside the range.",
         {},
         {"time_wait", "net.ipv4.tcp_tw_reuse"}},
    };
    return kTexts;
}

const Text* find_text(std::string_view topic) {
    for (const Text& t : texts()) {
        if (t.topic == topic) {
            return &t;
        }
    }
    return nullptr;
}

std::vector<std::string> to_strings(const std::vector<std::string_view>& in) {
    return std::vector<std::string>(in.begin(), in.end());
}

Explanation index_of_states() {
    Explanation e;
    e.kind = Explanation::Kind::kIndex;
    e.topic = "states";
    e.title = "TCP states tcptune counts";
    for (TcpState s : kAllTcpStates) {
        const Text* t = find_text(state_name(s));
        e.meaning +=
            std::string(state_name(s)) + ": " + std::string(t != nullptr ? t->title : "") + "\n";
    }
    return e;
}

Explanation index_of_sysctls() {
    Explanation e;
    e.kind = Explanation::Kind::kIndex;
    e.topic = "sysctls";
    e.title = "Sysctls tcptune may change (the allowlist) and their safe bounds";
    for (const SysctlSpec& spec : all_sysctls()) {
        e.meaning += std::string(spec.key) + ": " +
                     (spec.removed() ? "refused, removed in Linux " + std::string(spec.removed_in)
                                     : spec.describe_valid_values() + ", kernel default " +
                                           std::string(spec.kernel_default)) +
                     "\n";
    }
    return e;
}

// Greedy word wrap with a hanging indent, for terminal output.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width = 78) {
    std::istringstream words(text);
    std::string word;
    std::string out(indent, ' ');
    std::size_t column = indent;
    bool first = true;
    while (words >> word) {
        if (!first && column + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            column = indent;
            first = true;
        }
        if (!first) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        first = false;
    }
    return out + "\n";
}

}  // namespace

std::optional<Explanation> explain(std::string_view topic) {
    if (topic == "states") {
        return index_of_states();
    }
    if (topic == "sysctls") {
        return index_of_sysctls();
    }
    if (auto state = parse_state(topic)) {
        const Text* t = find_text(state_name(*state));
        if (t == nullptr) {
            return std::nullopt;
        }
        Explanation e;
        e.kind = Explanation::Kind::kState;
        e.topic = std::string(t->topic);
        e.title = std::string(t->title);
        e.meaning = std::string(t->meaning);
        e.moved_by = std::string(t->moved_by);
        e.myths = to_strings(t->myths);
        e.related = to_strings(t->related);
        return e;
    }
    const SysctlSpec* spec = find_sysctl(topic);
    if (spec == nullptr) {
        // "tcp_tw_reuse" and "somaxconn" are how people say it.
        for (const SysctlSpec& s : all_sysctls()) {
            const std::string_view k = s.key;
            if (k.size() > topic.size() && k.ends_with(topic) &&
                k[k.size() - topic.size() - 1] == '.') {
                spec = &s;
            }
        }
    }
    if (spec == nullptr) {
        return std::nullopt;
    }
    Explanation e;
    e.kind = Explanation::Kind::kSysctl;
    e.topic = std::string(spec->key);
    e.title = std::string(spec->key) + ": " + std::string(spec->summary);
    e.valid_values = spec->describe_valid_values();
    e.kernel_default = std::string(spec->kernel_default);
    if (spec->removed()) {
        e.removed = "removed in Linux " + std::string(spec->removed_in) + ": " +
                    std::string(spec->removed_reason);
    }
    if (const Text* t = find_text(spec->key)) {
        e.meaning = std::string(t->meaning);
        e.moved_by = std::string(t->moved_by);
        e.myths = to_strings(t->myths);
        e.related = to_strings(t->related);
    } else {
        e.meaning = std::string(spec->summary);
    }
    return e;
}

std::vector<std::string> explain_topics() {
    std::vector<std::string> out = {"states", "sysctls"};
    for (TcpState s : kAllTcpStates) {
        out.emplace_back(state_name(s));
    }
    for (const SysctlSpec& spec : all_sysctls()) {
        out.emplace_back(spec.key);
    }
    return out;
}

std::string format_explanation(const Explanation& e) {
    std::string out = e.title + "\n";
    if (e.kind == Explanation::Kind::kIndex) {
        return out + "\n" + e.meaning;
    }
    out += "\n" + wrap(e.meaning, 2);
    if (!e.removed.empty()) {
        out += "\nRefused by tcptune:\n" + wrap(e.removed, 2);
    }
    if (!e.valid_values.empty() && e.removed.empty()) {
        out += "\nValues tcptune may set: " + e.valid_values + "\n";
        out += "Kernel default: " + e.kernel_default + "\n";
    }
    if (!e.moved_by.empty()) {
        out += std::string("\n") +
               (e.kind == Explanation::Kind::kState ? "What moves it:\n" : "What it changes:\n") +
               wrap(e.moved_by, 2);
    }
    if (!e.myths.empty()) {
        out += "\nCommon myths:\n";
        for (const std::string& m : e.myths) {
            std::string item = wrap(m, 4);
            item[2] = '-';
            out += item;
        }
    }
    if (!e.related.empty()) {
        out += "\nSee also:";
        for (const std::string& r : e.related) {
            out += " " + r;
        }
        out += "\n";
    }
    return out;
}

nlohmann::json explanation_to_json(const Explanation& e) {
    nlohmann::json j;
    j["topic"] = e.topic;
    j["kind"] = e.kind == Explanation::Kind::kState    ? "state"
                : e.kind == Explanation::Kind::kSysctl ? "sysctl"
                                                       : "index";
    j["title"] = e.title;
    j["meaning"] = e.meaning;
    j["moved_by"] = e.moved_by;
    j["myths"] = e.myths;
    j["related"] = e.related;
    if (e.kind == Explanation::Kind::kSysctl) {
        j["valid_values"] = e.valid_values;
        j["kernel_default"] = e.kernel_default;
        j["removed"] = e.removed.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.removed);
    }
    return j;
}

}  // namespace tcptune
