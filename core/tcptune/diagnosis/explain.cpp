#include "tcptune/diagnosis/explain.hpp"

#include <algorithm>
#include <array>
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
         "is retried within a time budget set by tcp_syn_retries: 6 give up after about 127 s "
         "with plain exponential backoff, 131 s on kernels with tcp_syn_linear_timeouts=4 "
         "(more SYNs sent early, 1 s apart).",
         {"Myth: SYN_SENT means this host is under attack. Fact: it is our own outgoing "
          "connections; look at the destination (`tcptune top syn_sent --by peer`)."},
         {"net.ipv4.tcp_syn_retries", "syn_recv"}},
        {"syn_recv",
         "SYN_RECV: a half-open incoming connection",
         "A client's SYN was answered with a SYN-ACK and the final ACK has not arrived. The "
         "request sits in its listener's SYN queue, not in the accept queue. With SYN cookies "
         "on (tcp_syncookies=1, the default) that queue is bounded by the listener's own "
         "backlog, min(listen() backlog, net.core.somaxconn); SYNs beyond it are answered "
         "with cookies and leave no SYN_RECV entry. tcp_max_syn_backlog is read only with "
         "tcp_syncookies=0 (then SYNs from unproven peers are dropped once the queue passes "
         "3/4 of it).",
         "Rises with connection bursts, lossy or slow clients and SYN floods (spoofed sources "
         "never answer). Each entry is kept for tcp_synack_retries retransmissions: 5 retries "
         "take about 63 s. `tcptune top listen` shows each listener's SYN queue against its "
         "backlog (a full one is where the flood is); `tcptune top syn_recv --by prefix` "
         "whether the half-open connections come from one network or from everywhere.",
         {"Myth: raising tcp_max_syn_backlog helps in a SYN flood. Fact: with SYN cookies on "
          "the kernel never reads it: a listener's SYN queue stops at min(listen() backlog, "
          "somaxconn) (measured: listen(511) held 512 SYN_RECV with tcp_max_syn_backlog 2048 "
          "and 16384 alike). tcptune's gate refuses to change it while cookies are on.",
          "Myth: SYN cookies are always bad. Fact: with tcp_syncookies=1 they are only used "
          "when a SYN queue is full, which is exactly when they help; they lose some TCP "
          "options of the connections they answer.",
          "Myth: a shorter tcp_synack_retries relieves a SYN flood. Fact: in a sustained flood "
          "every freed entry is refilled at once; cookies are the relief."},
         {"listen", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries",
          "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn"}},
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
          "Linux 4.18); inbound connections are unaffected.",
          "Myth: many TIME_WAIT sockets are a problem by themselves. Fact: they cost ~200 bytes "
          "each; the real limit is the ephemeral ports towards one destination (`tcptune top "
          "destinations`): 50,000 TIME_WAIT spread over many destinations harm nothing, 28,000 "
          "towards one make connect() fail with EADDRNOTAVAIL."},
         {"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "so_linger",
          "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_recycle"}},
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
         {"last_ack", "fin_wait2", "net.ipv4.tcp_keepalive_time"}},
        {"last_ack",
         "LAST_ACK: we closed after the peer, waiting for the final ACK",
         "The peer closed first, then the application closed; our FIN waits for its ACK.",
         "Brief normally; piles up when peers vanish right after closing. Retransmissions are "
         "bounded like any orphan's.",
         {},
         {"close_wait", "net.ipv4.tcp_orphan_retries"}},
        {"listen",
         "LISTEN: a server socket accepting connections",
         "A socket after listen(). Its backlog, min(listen() backlog, net.core.somaxconn), "
         "bounds two queues: the accept queue of completed connections the application has "
         "not accepted yet, and (with SYN cookies on) the SYN queue of half-open ones.",
         "Changes only when servers start or stop. When the accept queue is full the kernel "
         "drops new SYNs and final ACKs of that listener, and ListenOverflows rises (it counts "
         "both). When the SYN queue is full, new SYNs get cookies (TCPReqQFullDoCookies) or, "
         "with tcp_syncookies=0, are dropped (TCPReqQFullDrop). `tcptune top listen` lists "
         "every listener with a non-empty SYN or accept queue, with its backlog; `--trend 1s` "
         "adds the ListenOverflows rate.",
         {"Myth: raising somaxconn fixes accept queue overflows at once. Fact: the limit is "
          "applied when the application calls listen(); running servers keep their backlog "
          "until they listen again, and an application that accepts too slowly stays too "
          "slow.",
          "Myth: ListenOverflows counts only completed connections that did not fit. Fact: it "
          "also counts SYNs dropped because the accept queue was full."},
         {"net.core.somaxconn", "syn_recv", "net.ipv4.tcp_syncookies",
          "net.ipv4.tcp_abort_on_overflow"}},
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
         "Linux 4.18). Helps clients and proxies that run out of ephemeral ports towards one "
         "destination (`tcptune top destinations`). Needs tcp_timestamps (on by default): "
         "with timestamps off it does nothing, and tcptune refuses to set it.",
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
         "0 = never, 1 = only when a SYN queue is full (default), 2 = always. With 1 or 2 a "
         "listener's SYN queue is bounded by its own backlog, min(listen() backlog, somaxconn), "
         "and tcp_max_syn_backlog is not read. With 0, SYNs beyond a full queue are dropped "
         "(TCPReqQFullDrop). Cookies carry only a few TCP options, so 2 costs performance for "
         "nothing in normal operation.",
         {"Myth: syncookies slow everything down. Fact: with 1 they are only used while a SYN "
          "queue is full."},
         {"syn_recv", "listen", "net.ipv4.tcp_max_syn_backlog"}},
        {"net.ipv4.tcp_keepalive_time",
         "",
         "Idle time before the kernel starts probing a connection whose socket has "
         "SO_KEEPALIVE set.",
         "Together with tcp_keepalive_intvl and tcp_keepalive_probes it decides how long a dead "
         "peer goes unnoticed: time + intvl x probes = 7200 + 75 x 9 = 2 h 11 min 15 s by "
         "default. Applications can override all three per socket (TCP_KEEPIDLE, ...).",
         {"Myth: keepalive applies to every connection. Fact: only to sockets that enable "
          "SO_KEEPALIVE.",
          "Myth: keepalive never touches CLOSE_WAIT. Fact: probes do reach CLOSE_WAIT sockets "
          "that have SO_KEEPALIVE, and a peer that no longer answers gets the connection "
          "reset; but a peer that answers keeps it in CLOSE_WAIT, and the socket's descriptor "
          "stays until the application calls close() either way."},
         {"net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "tcp_user_timeout",
          "established", "close_wait"}},
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
         "Sets the time budget of an outgoing connect(): as if the SYN were retransmitted this "
         "many times with the wait doubling from 1 s.",
         "6 give up after about 127 s, 3 after about 15 s. Kernels with "
         "tcp_syn_linear_timeouts send their first SYN retransmissions 1 s apart and add that "
         "many seconds (6 with the default 4: about 131 s, 10 retransmissions). Lower values "
         "make calls to dead upstreams fail faster.",
         {},
         {"syn_sent"}},
        {"net.ipv4.tcp_max_syn_backlog",
         "",
         "Read only with tcp_syncookies=0: then SYNs from peers the host has not talked to "
         "before are dropped once a listener's SYN queue passes 3/4 of it. With SYN cookies on "
         "(1, the default, or 2) the kernel never reads it.",
         "With cookies on, a listener's SYN queue is bounded by its own backlog, min(listen() "
         "backlog, net.core.somaxconn), and SYNs beyond it get cookies. With cookies off, the "
         "smaller of that backlog and 3/4 of tcp_max_syn_backlog applies (measured: listen(4096) "
         "held 1537 half-open connections with tcp_max_syn_backlog 2048, 4097 with 16384); "
         "beyond it SYNs are dropped (TCPReqQFullDrop).",
         {"Myth: raise tcp_max_syn_backlog during a SYN flood. Fact: with cookies on it changes "
          "nothing (measured: SYN_RECV stayed at the listener's 512 when it went from 2048 to "
          "16384); tcptune refuses to set it while tcp_syncookies is on."},
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
         "15 (the default) gives up after about 924.6 s of silence; 8 after about 100 s, the "
         "minimum RFC 1122 asks for. tcptune refuses values below 8: 5, for instance, gives "
         "up after about 12.6 s and drops connections on a short outage.",
         {"Myth: a low tcp_retries2 detects dead peers. Fact: it only applies while data is "
          "unacknowledged; idle connections need keepalive or an application timeout "
          "(TCP_USER_TIMEOUT)."},
         {"established", "tcp_retries1", "tcp_user_timeout"}},
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
         {"Myth: somaxconn has nothing to do with SYN floods. Fact: with SYN cookies on, a "
          "listener's SYN queue is bounded by the same min(listen() backlog, somaxconn) as its "
          "accept queue; cookies, not a bigger queue, keep it reachable."},
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
         "HIGH - LOW + 1 connections minus the reserved ports (ip_local_reserved_ports), "
         "TIME_WAIT included: 28232 by default. `tcptune top destinations` shows how much of "
         "it each destination holds. Widening it helps proxies; tcptune first reserves any "
         "port a local server listens on inside the new range.",
         {"Myth: the range limits connections in total. Fact: it limits them per destination; "
          "unless sockets bind() before connect() without IP_BIND_ADDRESS_NO_PORT, which makes "
          "each hold a port of its own whatever the destination."},
         {"time_wait", "net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_reserved_ports"}},
        {"tcp_retries1",
         "net.ipv4.tcp_retries1: retransmissions before TCP suspects the route",
         "After this many unanswered retransmissions (3, RFC 1122's minimum, by default) TCP "
         "asks the network layer to check the route (and refreshes it), but keeps the "
         "connection.",
         "It does not close anything; tcp_retries2 decides when an established connection "
         "gives up. tcptune does not change it.",
         {"Myth: tcp_retries1 is a shorter version of tcp_retries2. Fact: it only triggers a "
          "route check."},
         {"net.ipv4.tcp_retries2"}},
        {"so_linger",
         "SO_LINGER {1, 0}: closing with a reset instead of a FIN",
         "A socket option. With l_onoff=1 and l_linger=0, close() sends an RST and frees the "
         "connection at once: no FIN, no TIME_WAIT, and unsent data is thrown away.",
         "Applications use it to avoid TIME_WAIT on the side that closes first. The cost: the "
         "peer sees \"connection reset\" instead of an orderly end, data in flight is lost, "
         "and the 2MSL protection against old segments of the same 4-tuple is gone. Letting "
         "the client close first, or connection reuse, moves or removes TIME_WAIT without "
         "those costs.",
         {"Myth: SO_LINGER {1,0} is a harmless TIME_WAIT fix. Fact: it turns every close into an "
          "abort; use it only where losing unsent data is acceptable."},
         {"time_wait", "net.ipv4.tcp_tw_reuse"}},
        {"tcp_user_timeout",
         "TCP_USER_TIMEOUT and application heartbeats vs keepalive",
         "TCP_USER_TIMEOUT (a socket option, milliseconds) bounds how long sent data may stay "
         "unacknowledged before the kernel aborts the connection, per socket, instead of "
         "tcp_retries2's ~15 minutes. Application heartbeats (a ping in the protocol) prove "
         "the peer *application* is alive; keepalive probes only prove its kernel answers.",
         "Keepalive (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT) finds idle connections whose peer "
         "vanished; TCP_USER_TIMEOUT finds connections whose sent data is not acknowledged "
         "(and, when set, also caps how long keepalive probing lasts). A hung peer process "
         "behind a healthy kernel passes both: only an application heartbeat notices it. "
         "Database clients and message brokers usually want all three with matching times.",
         {"Myth: keepalive tells whether the peer application works. Fact: the peer's kernel "
          "answers probes even when the application is stuck."},
         {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_retries2", "established"}},
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

// A titled section of "  - item" bullets, each wrapped under its own text; nothing when
// there are no items.
void append_bullets(std::string& out, const std::string& title,
                    const std::vector<std::string>& items) {
    if (items.empty()) {
        return;
    }
    out += "\n" + title + ":\n";
    for (const std::string& text : items) {
        std::string item = wrap(text, 4);
        item[2] = '-';
        out += item;
    }
}

}  // namespace

namespace {

// Topics that are neither a state nor a registry key (socket options, keys
// tcptune does not change): their texts carry their own title.
// Their names carry no dot, so completion offers only registry keys for `resume`.
constexpr std::array<std::string_view, 3> kOtherTopics = {"tcp_retries1", "so_linger",
                                                          "tcp_user_timeout"};

std::optional<std::int64_t> live_number(const SysctlReader& live, std::string_view key) {
    if (!live) {
        return std::nullopt;
    }
    auto text = live(key);
    if (!text) {
        return std::nullopt;
    }
    auto numbers = parse_sysctl_integers(*text);
    if (!numbers || numbers->size() != 1) {
        return std::nullopt;
    }
    return numbers->front();
}

// When connect() gives up after `retries` SYN retransmissions: the kernel's time
// budget is the exponential model's 2^(retries+1) - 1 s (initial RTO 1 s), plus
// one second per linear timeout (tcp_syn_linear_timeouts, ip-sysctl.rst: RTOs 1,
// 1, 1, 1, 1, 2, 4, ... for 4).
std::int64_t syn_give_up_seconds(std::int64_t retries, std::int64_t linear) {
    return ((std::int64_t{1} << std::min<std::int64_t>(retries + 1, 40)) - 1) + linear;
}

// What the running kernel changes about a topic.
std::vector<std::string> this_kernel(const std::string& topic, const SysctlReader& live) {
    std::vector<std::string> out;
    if (!live) {
        return out;
    }
    if (topic == "net.ipv4.tcp_syn_retries" || topic == "syn_sent") {
        const auto retries = live_number(live, "net.ipv4.tcp_syn_retries");
        const auto linear = live_number(live, "net.ipv4.tcp_syn_linear_timeouts");
        if (retries) {
            std::string line = "tcp_syn_retries = " + std::to_string(*retries);
            if (linear) {
                line += ", tcp_syn_linear_timeouts = " + std::to_string(*linear) + ": the first " +
                        std::to_string(*linear) +
                        " retransmissions come 1 s apart, then the wait doubles;";
            } else {
                line += " (this kernel has no tcp_syn_linear_timeouts; the wait doubles from 1 s);";
            }
            line += " connect() to a peer that never answers fails after about " +
                    std::to_string(syn_give_up_seconds(*retries, linear.value_or(0))) + " s";
            out.push_back(line);
        }
    }
    if (topic == "net.ipv4.tcp_tw_reuse" || topic == "time_wait") {
        if (const auto reuse = live_number(live, "net.ipv4.tcp_tw_reuse")) {
            out.push_back("tcp_tw_reuse = " + std::to_string(*reuse) +
                          (*reuse == 0   ? " (off)"
                           : *reuse == 1 ? " (all outgoing connections)"
                                         : " (loopback only)"));
        }
        if (const auto delay = live_number(live, "net.ipv4.tcp_tw_reuse_delay")) {
            out.push_back("tcp_tw_reuse_delay = " + std::to_string(*delay) +
                          " ms: a TIME_WAIT port may be taken over that long after the "
                          "connection entered TIME_WAIT");
        } else {
            out.push_back(
                "no tcp_tw_reuse_delay on this kernel: a TIME_WAIT port may be taken "
                "over about 1 s after the connection entered TIME_WAIT");
        }
        if (const auto ts = live_number(live, "net.ipv4.tcp_timestamps"); ts && *ts == 0) {
            out.push_back("tcp_timestamps = 0: tcp_tw_reuse has no effect");
        }
    }
    if (topic == "net.ipv4.tcp_max_syn_backlog" || topic == "net.ipv4.tcp_syncookies" ||
        topic == "syn_recv" || topic == "listen") {
        const auto cookies = live_number(live, "net.ipv4.tcp_syncookies");
        const auto somaxconn = live_number(live, "net.core.somaxconn");
        if (cookies) {
            std::string line = "tcp_syncookies = " + std::to_string(*cookies);
            line += *cookies == 0
                        ? ": SYNs beyond a full SYN queue are dropped, and tcp_max_syn_backlog "
                          "applies"
                        : ": a listener's SYN queue stops at its backlog and tcp_max_syn_backlog "
                          "is not read";
            out.push_back(line);
        }
        if (somaxconn) {
            out.push_back("net.core.somaxconn = " + std::to_string(*somaxconn) +
                          ": no listener's backlog exceeds it");
        }
    }
    if (topic == "net.ipv4.tcp_keepalive_time" || topic == "net.ipv4.tcp_keepalive_intvl" ||
        topic == "net.ipv4.tcp_keepalive_probes") {
        const auto time = live_number(live, "net.ipv4.tcp_keepalive_time");
        const auto intvl = live_number(live, "net.ipv4.tcp_keepalive_intvl");
        const auto probes = live_number(live, "net.ipv4.tcp_keepalive_probes");
        if (time && intvl && probes) {
            out.push_back(
                "dead-peer detection for sockets with SO_KEEPALIVE: " + std::to_string(*time) +
                " + " + std::to_string(*intvl) + " x " + std::to_string(*probes) + " = " +
                std::to_string(*time + *intvl * *probes) + " s");
        }
    }
    if (topic == "net.ipv4.tcp_retries2") {
        if (const auto r = live_number(live, "net.ipv4.tcp_retries2")) {
            out.push_back("tcp_retries2 = " + std::to_string(*r));
        }
    }
    if (topic == "net.ipv4.ip_local_port_range" || topic == "net.ipv4.ip_local_reserved_ports") {
        if (auto range = live("net.ipv4.ip_local_port_range")) {
            std::string line = "ip_local_port_range = " + *range;
            if (auto reserved = live("net.ipv4.ip_local_reserved_ports")) {
                line += ", ip_local_reserved_ports = \"" + *reserved + "\"";
            }
            out.push_back(line);
        }
    }
    return out;
}

// A state's or another topic's explanation, straight from its text.
Explanation from_text(const Text& t, Explanation::Kind kind, const SysctlReader& live) {
    Explanation e;
    e.kind = kind;
    e.topic = std::string(t.topic);
    e.title = std::string(t.title);
    e.meaning = std::string(t.meaning);
    e.moved_by = std::string(t.moved_by);
    e.myths = to_strings(t.myths);
    e.related = to_strings(t.related);
    e.this_kernel = this_kernel(e.topic, live);
    return e;
}

}  // namespace

std::optional<Explanation> explain(std::string_view topic, const SysctlReader& live) {
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
        return from_text(*t, Explanation::Kind::kState, live);
    }
    for (std::string_view other : kOtherTopics) {
        // "net.ipv4.tcp_retries1" is how the kernel spells it.
        const bool prefixed = topic.size() > other.size() && topic.ends_with(other) &&
                              topic[topic.size() - other.size() - 1] == '.';
        if (other == topic || prefixed) {
            return from_text(*find_text(other), Explanation::Kind::kTopic, live);
        }
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
    e.scope = std::string(to_string(spec->scope));
    if (!spec->history.empty()) {
        e.history = std::string(spec->history);
    }
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
    e.this_kernel = this_kernel(e.topic, live);
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
    for (std::string_view other : kOtherTopics) {
        out.emplace_back(other);
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
        out += "Scope: " +
               std::string(e.scope == "global"
                               ? "global (the initial network namespace only, host-wide)"
                               : "per network namespace") +
               "\n";
        if (!e.history.empty()) {
            out += "History: " + e.history + "\n";
        }
    }
    if (!e.moved_by.empty()) {
        out += std::string("\n") +
               (e.kind == Explanation::Kind::kState ? "What moves it:\n" : "What it changes:\n") +
               wrap(e.moved_by, 2);
    }
    append_bullets(out, "Common myths", e.myths);
    append_bullets(out, "On this kernel", e.this_kernel);
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
                : e.kind == Explanation::Kind::kTopic  ? "topic"
                                                       : "index";
    j["title"] = e.title;
    j["meaning"] = e.meaning;
    j["moved_by"] = e.moved_by;
    j["myths"] = e.myths;
    j["related"] = e.related;
    j["this_kernel"] = e.this_kernel;
    if (e.kind == Explanation::Kind::kSysctl) {
        j["valid_values"] = e.valid_values;
        j["kernel_default"] = e.kernel_default;
        j["removed"] = e.removed.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.removed);
        j["scope"] = e.scope;
        j["history"] = e.history;
    }
    return j;
}

}  // namespace tcptune
