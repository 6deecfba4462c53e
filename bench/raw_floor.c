#include "raw_floor.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Same size as tcptune's receive buffer: the kernel's dump datagrams are <= 32 KiB. */
static char buffer[64 * 1024] __attribute__((aligned(8)));

int raw_floor_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return fd < 0 ? -errno : fd;
}

static int dump_family(int fd, int family, unsigned seq, unsigned long long counts[16]) {
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } request;
    memset(&request, 0, sizeof(request));
    request.nlh.nlmsg_len = sizeof(request);
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.nlh.nlmsg_seq = seq;
    request.req.sdiag_family = (unsigned char)family;
    request.req.sdiag_protocol = IPPROTO_TCP;
    request.req.idiag_states = ((1U << 13) - 1U) & ~1U;
    if (send(fd, &request, sizeof(request), 0) < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        size_t off = 0;
        const size_t len = (size_t)got;
        while (off + sizeof(struct nlmsghdr) <= len) {
            const struct nlmsghdr* h = (const struct nlmsghdr*)(buffer + off);
            if (h->nlmsg_len < sizeof(struct nlmsghdr) || h->nlmsg_len > len - off) {
                return -EBADMSG;
            }
            if (h->nlmsg_type == NLMSG_DONE) {
                return 0;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                return -EIO;
            }
            const struct inet_diag_msg* msg = (const struct inet_diag_msg*)NLMSG_DATA(h);
            counts[msg->idiag_state & 15]++;
            off += (h->nlmsg_len + 3U) & ~3U;
        }
    }
}

int raw_floor_count(int fd, unsigned long long counts[16]) {
    static unsigned seq = 1;
    int err = dump_family(fd, AF_INET, seq++, counts);
    if (err == 0) {
        err = dump_family(fd, AF_INET6, seq++, counts);
    }
    return err;
}
