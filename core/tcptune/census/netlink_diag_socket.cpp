#include "tcptune/census/netlink_diag_socket.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tcptune {

namespace {

// Sequence numbers only need to differ between requests on one socket; a process-wide
// counter also keeps them distinct across reopened sockets.
std::uint32_t next_sequence() {
    static std::uint32_t seq = 0x7c000000U;
    return ++seq;
}

tl::unexpected<Error> libnl_error(const char* what, int err) {
    return make_error(ErrorCode::kNetlink,
                      std::string("netlink: ") + what + ": " + nl_geterror(err < 0 ? -err : err));
}

Result<nl_sock*> open_sock_diag(int socket_rcvbuf) {
    nl_sock* sock = nl_socket_alloc();
    if (sock == nullptr) {
        return make_error(ErrorCode::kNetlink, "netlink: cannot allocate a libnl socket");
    }
    if (int err = nl_connect(sock, NETLINK_SOCK_DIAG); err < 0) {
        nl_socket_free(sock);
        return libnl_error("cannot open a NETLINK_SOCK_DIAG socket", err);
    }
    // Best effort: the kernel caps SO_RCVBUF at net.core.rmem_max, which is still
    // enough because the dump only produces as fast as we read.
    (void)nl_socket_set_buffer_size(sock, socket_rcvbuf, 0);
    return sock;
}

}  // namespace

Result<InetDiagSocket> InetDiagSocket::open(std::size_t buffer_bytes, int socket_rcvbuf) {
    nl_sock* sock = nullptr;
    TRY_ASSIGN(sock, open_sock_diag(socket_rcvbuf));
    return InetDiagSocket(sock, buffer_bytes, socket_rcvbuf);
}

InetDiagSocket::InetDiagSocket(nl_sock* sock, std::size_t buffer_bytes, int socket_rcvbuf)
    : sock_(sock),
      buffer_(std::make_unique<std::byte[]>(buffer_bytes)),
      buffer_bytes_(buffer_bytes),
      socket_rcvbuf_(socket_rcvbuf) {}

InetDiagSocket::InetDiagSocket(InetDiagSocket&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)),
      buffer_(std::move(other.buffer_)),
      buffer_bytes_(other.buffer_bytes_),
      socket_rcvbuf_(other.socket_rcvbuf_),
      needs_reopen_(other.needs_reopen_) {}

InetDiagSocket& InetDiagSocket::operator=(InetDiagSocket&& other) noexcept {
    if (this != &other) {
        close();
        sock_ = std::exchange(other.sock_, nullptr);
        buffer_ = std::move(other.buffer_);
        buffer_bytes_ = other.buffer_bytes_;
        socket_rcvbuf_ = other.socket_rcvbuf_;
        needs_reopen_ = other.needs_reopen_;
    }
    return *this;
}

InetDiagSocket::~InetDiagSocket() {
    close();
}

void InetDiagSocket::close() {
    if (sock_ != nullptr) {
        nl_socket_free(sock_);  // also closes the fd
        sock_ = nullptr;
    }
}

Result<void> InetDiagSocket::reopen() {
    close();
    TRY_ASSIGN(sock_, open_sock_diag(socket_rcvbuf_));
    needs_reopen_ = false;
    return {};
}

Result<std::uint32_t> InetDiagSocket::request_tcp_dump(int family, std::uint32_t state_mask) {
    if (needs_reopen_ || sock_ == nullptr) {
        TRY(reopen());
    }
    struct {
        nlmsghdr header;
        inet_diag_req_v2 body;
    } request{};
    const std::uint32_t seq = next_sequence();
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = seq;
    request.body.sdiag_family = static_cast<std::uint8_t>(family);
    request.body.sdiag_protocol = IPPROTO_TCP;
    request.body.idiag_ext = 0;  // extensions cost ~28% more and counting needs none
    request.body.idiag_states = state_mask;
    if (int sent = nl_sendto(sock_, &request, sizeof(request)); sent < 0) {
        needs_reopen_ = true;
        return libnl_error("cannot send the socket dump request", sent);
    }
    return seq;
}

Result<std::span<const std::byte>> InetDiagSocket::receive() {
    const int fd = nl_socket_get_fd(sock_);
    for (;;) {
        // MSG_TRUNC makes recv report the datagram's real length, so a too-small
        // buffer is detected instead of silently losing sockets.
        const ssize_t got = ::recv(fd, buffer_.get(), buffer_bytes_, MSG_TRUNC);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            needs_reopen_ = true;
            return make_error(ErrorCode::kNetlink, "netlink: receive failed: " + errno_text(err));
        }
        const auto length = static_cast<std::size_t>(got);
        if (length > buffer_bytes_) {
            needs_reopen_ = true;
            return make_error(ErrorCode::kNetlink,
                              "netlink: datagram of " + std::to_string(length) +
                                  " bytes truncated to the " + std::to_string(buffer_bytes_) +
                                  "-byte receive buffer");
        }
        if (length == 0) {
            needs_reopen_ = true;
            return make_error(ErrorCode::kNetlink, "netlink: empty datagram");
        }
        return std::span<const std::byte>(buffer_.get(), length);
    }
}

}  // namespace tcptune
