// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tcptune's O(1) census engine: counts TCP sockets per (network namespace, state)
 * as they change state, so a census is one map lookup instead of a socket dump.
 *
 * What it sees: every state change of a full TCP socket (IPv4 and IPv6) through
 * the sock:inet_sock_set_state tracepoint, attached as a raw tracepoint (no
 * tracefs needed). What it does not see, and who counts it instead:
 *   - TIME_WAIT: the full socket goes to CLOSE and a timewait socket takes its
 *     place without a tracepoint; the loader reads the namespace's tw count
 *     from sockstat.
 *   - request sockets (SYN_RECV, kernel TCP_NEW_SYN_RECV): never pass through
 *     tcp_set_state; the loader sums the SYN queue length (icsk_accept_queue.qlen)
 *     of the namespace's listeners, which this program remembers.
 *   - CLOSE: a closed socket is not in any hash table (tcp_set_state unhashes
 *     before it stores TCP_CLOSE), so a dump does not list it; never counted.
 *
 * Seeding and reconciliation: the loader freezes one namespace (frozen_netns),
 * dumps it with sock_diag, and meanwhile the program records every socket of
 * that namespace that changes state (window) and every cookie it can read
 * (window_cookies) instead of counting. The loader then replaces what the dump
 * saw of those sockets by where they ended: see census/bpf/seed.hpp.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcp_census_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load to make the verifier reject the program: the
 * fallback path is tested against a real rejection, not a pretend one. */
const volatile __u32 force_reject = 0;

/* The namespace being seeded or reconciled (0: none). Written by the loader. */
volatile __u32 frozen_netns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TCPTUNE_MAX_NETNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* netns inode */
	__type(value, struct tcptune_state_deltas);
} state_deltas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTUNE_MAX_WINDOW_SOCKETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* struct sock * */
	__type(value, struct tcptune_window_socket);
} window SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTUNE_MAX_WINDOW_SOCKETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);   /* socket cookie */
	__type(value, __u32); /* netns inode */
} window_cookies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTUNE_MAX_LISTENERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);   /* struct sock * of a TCP listener */
	__type(value, __u32); /* netns inode */
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPTUNE_ERR_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");

/* Grace period on demand: updating a map-in-map from user space waits for every
 * running BPF program (synchronize_rcu), so after it no program still acts on
 * an old frozen_netns. */
struct grace_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} grace_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct grace_inner);
} grace SEC(".maps") = {
	.values = {[0] = &grace_inner},
};

static __always_inline void count_error(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&errors, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* States a dump lists for full sockets. TIME_WAIT never comes through
 * tcp_set_state; CLOSE is not in a table. */
static __always_inline int counted(int state)
{
	return state > 0 && state < TCPTUNE_STATE_SLOTS && state != TCP_CLOSE &&
	       state != TCP_TIME_WAIT;
}

/* The tracepoint fires from inet_sk_state_store() and inet_sk_set_state() only,
 * that is for AF_INET and AF_INET6 sockets; the protocol tells TCP from MPTCP,
 * SCTP and DCCP. (One read less per event than also checking the family.) */
static __always_inline int is_inet_tcp(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline void remember_cookie(const struct sock *sk, __u32 netns)
{
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);

	if (cookie && bpf_map_update_elem(&window_cookies, &cookie, &netns, BPF_ANY))
		count_error(TCPTUNE_ERR_WINDOW_FULL);
}

static __always_inline void record_window(__u64 key, const struct sock *sk, __u32 netns,
					  int oldstate, int newstate, int read_cookie)
{
	struct tcptune_window_socket *seen = bpf_map_lookup_elem(&window, &key);

	if (seen) {
		seen->last_new = (__u8)newstate;
		seen->transitions += 1;
	} else {
		struct tcptune_window_socket fresh = {
			.netns = netns,
			.first_old = (__u8)oldstate,
			.last_new = (__u8)newstate,
			.transitions = 1,
		};
		/* One socket's changes are serialised by its lock: no racing insert. */
		if (bpf_map_update_elem(&window, &key, &fresh, BPF_ANY))
			count_error(TCPTUNE_ERR_WINDOW_FULL);
	}
	/* A child being cloned still carries its listener's fields; its own
	 * cookie (its request socket's) is set only after this change. */
	if (read_cookie)
		remember_cookie(sk, netns);
}

static __always_inline void add_delta(struct tcptune_state_deltas *d, int state, __s64 by)
{
	__u64 slot = (__u32)state & (TCPTUNE_STATE_SLOTS - 1);

	/* Keeps clang from folding the mask into counted()'s range check, which
	 * the verifier could not follow. */
	barrier_var(slot);
	if (slot < TCPTUNE_STATE_SLOTS)
		__sync_fetch_and_add(&d->delta[slot], by);
}

static __always_inline void apply_deltas(__u32 netns, int oldstate, int newstate)
{
	struct tcptune_state_deltas *d = bpf_map_lookup_elem(&state_deltas, &netns);

	if (!d) {
		struct tcptune_state_deltas zero = {};

		/* EEXIST: another CPU created it first, which is fine. */
		bpf_map_update_elem(&state_deltas, &netns, &zero, BPF_NOEXIST);
		d = bpf_map_lookup_elem(&state_deltas, &netns);
		if (!d) {
			count_error(TCPTUNE_ERR_DELTAS_FULL);
			return;
		}
	}
	/* Per-CPU, but the nested program may interrupt this one: atomic adds. */
	if (counted(oldstate))
		add_delta(d, oldstate, -1);
	if (counted(newstate))
		add_delta(d, newstate, 1);
}

static __always_inline void on_state_change(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	__u32 netns;
	int cloned;

	if (!is_inet_tcp(sk))
		return;
	netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);

	/* A child is cloned from its listener, so its first change reads
	 * LISTEN -> SYN_RECV: it is a new socket, the listener did not move. */
	cloned = oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV;
	if (cloned)
		oldstate = TCP_CLOSE;

	if (newstate == TCP_LISTEN) {
		if (bpf_map_update_elem(&listeners, &key, &netns, BPF_ANY))
			count_error(TCPTUNE_ERR_LISTENERS_FULL);
	} else if (oldstate == TCP_LISTEN) {
		bpf_map_delete_elem(&listeners, &key);
	}

	if (netns == frozen_netns) {
		record_window(key, sk, netns, oldstate, newstate, !cloned);
		return;
	}
	apply_deltas(netns, oldstate, newstate);
}

/*
 * The kernel never runs a program inside itself on one CPU: a state change
 * that interrupts a running tcptune_state_change (a softirq on top of a
 * process-context close(), say) finds it "active" and is skipped. Measured:
 * about 1 in 1000 changes while a loopback load builds 650k sockets. So a
 * second program on the same tracepoint catches exactly those: it counts only
 * when the first one is mid-run on this CPU (primary_running), which is when
 * the first one was skipped. Both update the per-CPU counters atomically, as
 * one may now interrupt the other. Only a change nested two deep is lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} primary_running SEC(".maps");

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcptune_state_change, const struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	__u32 *running;

	if (force_reject) {
		/* Dereferences a plain number: the verifier refuses it. */
		return *(volatile int *)(long)oldstate;
	}
	running = bpf_map_lookup_elem(&primary_running, &zero);
	if (running)
		*running = 1;
	on_state_change(sk, oldstate, newstate);
	if (running)
		*running = 0;
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcptune_state_change_nested, const struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	__u32 *running = bpf_map_lookup_elem(&primary_running, &zero);

	if (!running || !*running)
		return 0; /* the first program counts this one */
	count_error(TCPTUNE_RECOVERED_NESTED);
	on_state_change(sk, oldstate, newstate);
	return 0;
}

/* A listener that existed before the program attached is learnt when it
 * retransmits a SYN-ACK (a request socket older than the initial 1 s timeout). */
SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(tcptune_synack_retransmit, const struct sock *sk, const struct request_sock *req)
{
	__u64 key = (__u64)sk;
	__u32 netns;

	if (!is_inet_tcp(sk) || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN)
		return 0;
	netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	/* EEXIST is the common case: already known. */
	bpf_map_update_elem(&listeners, &key, &netns, BPF_NOEXIST);
	return 0;
}

/* ---- Programs the loader runs with BPF_PROG_TEST_RUN (never attached). ---- */

struct netns_sum {
	__u32 netns;
	__u32 listeners;
	__u64 total;
};

static long add_syn_queue(struct bpf_map *map, __u64 *key, __u32 *netns, struct netns_sum *sum)
{
	const struct inet_connection_sock *icsk = (const void *)*key;

	if (*netns != sum->netns)
		return 0;
	/* Listeners are freed only after an RCU grace period and removed from
	 * the map when they leave LISTEN, and this runs under rcu_read_lock. */
	sum->total += (__u32)BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
	sum->listeners += 1;
	return 0;
}

/* Request sockets of one namespace: the sum of its listeners' SYN queues.
 * ctx[0]: netns inode. Result in syn_queue_result. */
__u64 syn_queue_result = 0;
__u32 syn_queue_listeners = 0;

SEC("raw_tp/inet_sock_set_state")
int tcptune_syn_queue(__u64 *ctx)
{
	struct netns_sum sum = { .netns = (__u32)ctx[0] };

	bpf_for_each_map_elem(&listeners, add_syn_queue, &sum, 0);
	syn_queue_result = sum.total;
	syn_queue_listeners = sum.listeners;
	return 0;
}

struct cookie_pass {
	__u32 netns;
	__u32 added;
};

static long add_cookie(struct bpf_map *map, __u64 *key, struct tcptune_window_socket *seen,
		       struct cookie_pass *pass)
{
	const struct sock *sk = (const void *)*key;

	if (seen->netns != pass->netns || !counted(seen->last_new))
		return 0;
	/* Still open (its last change was recorded and was not to CLOSE), so the
	 * memory is this socket's. */
	remember_cookie(sk, seen->netns);
	pass->added += 1;
	return 0;
}

/* After the dump, while still frozen: the cookies of window sockets that had
 * none when they changed state (the dump may have given them one since).
 * ctx[0]: netns inode. */
SEC("raw_tp/inet_sock_set_state")
int tcptune_collect_cookies(__u64 *ctx)
{
	struct cookie_pass pass = { .netns = (__u32)ctx[0] };

	bpf_for_each_map_elem(&window, add_cookie, &pass, 0);
	return (int)pass.added;
}
