/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Layouts shared by the census engine's BPF program (tcp_census.bpf.c) and its
 * loader (core/tcptune/census/bpf/). Plain C with fixed-width kernel types so
 * both the BPF target and the C++ host compile it to the same bytes.
 */
#ifndef TCPTUNE_TCP_CENSUS_SHARED_H
#define TCPTUNE_TCP_CENSUS_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Per-CPU deltas are indexed by the kernel's state number (1..12); 16 slots keep
 * the index a mask. Slots the program never touches stay 0. */
#define TCPTUNE_STATE_SLOTS 16

/* Namespaces with counters at once, and sockets/cookies/listeners remembered. */
#define TCPTUNE_MAX_NETNS 16384
#define TCPTUNE_MAX_WINDOW_SOCKETS 262144
#define TCPTUNE_MAX_LISTENERS 16384

struct tcptune_state_deltas {
	__s64 delta[TCPTUNE_STATE_SLOTS];
};

/* A socket that changed state while its namespace was frozen (the seeding
 * window): where it ended. */
struct tcptune_window_socket {
	__u32 netns;
	__u8 first_old;
	__u8 last_new;
	__u16 transitions;
};

/* Slots of the per-CPU error counters. */
enum tcptune_error_slot {
	TCPTUNE_ERR_DELTAS_FULL = 0,    /* a namespace got no counter entry */
	TCPTUNE_ERR_WINDOW_FULL = 1,    /* a window socket or cookie was not recorded */
	TCPTUNE_ERR_LISTENERS_FULL = 2, /* a listener was not remembered */
	TCPTUNE_RECOVERED_NESTED = 3,   /* not an error: a skipped run caught by the second program */
	TCPTUNE_ERR_SLOTS = 4,
};

#endif
