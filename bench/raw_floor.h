/* The floor for the census benchmark: the least work that can count TCP sockets per
 * state through sock_diag. Raw syscalls, no libraries, no validation beyond what
 * keeps it from reading out of bounds. */
#ifndef TCPTUNE_BENCH_RAW_FLOOR_H
#define TCPTUNE_BENCH_RAW_FLOOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Opens a NETLINK_SOCK_DIAG socket; returns the fd or -errno. */
int raw_floor_open(void);

/* Dumps IPv4 and IPv6 TCP sockets (same state mask as tcptune: bits 1..12) and adds
 * one to counts[kernel state] per socket (counts has 16 entries). Returns 0 or -errno. */
int raw_floor_count(int fd, unsigned long long counts[16]);

#ifdef __cplusplus
}
#endif

#endif
