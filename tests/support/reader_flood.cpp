#include "support/reader_flood.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace tcptune::test {

namespace {

volatile sig_atomic_t g_stop = 0;

struct Child {
    sd_bus* bus = nullptr;
    std::vector<ReaderCall> calls;
    std::size_t next = 0;
    long answers = 0;
};

int send_one(Child& child);

int on_reply(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*error*/) {
    auto* child = static_cast<Child*>(userdata);
    ++child->answers;
    if (!g_stop) {
        send_one(*child);
    }
    return 0;
}

int send_one(Child& child) {
    const ReaderCall& call = child.calls[child.next++ % child.calls.size()];
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_method_call(child.bus, &m, "net.tcptune", "/net/tcptune/Manager1",
                                           "net.tcptune.Manager1", call.method.c_str());
    if (r < 0) {
        return r;
    }
    if (call.method == "GetTop") {
        r = sd_bus_message_append(m, "ssu", call.state.c_str(), call.by.c_str(), call.limit);
    }
    if (r >= 0) {
        // Floating slot: freed with the reply. A 60 s timeout: the flood waits.
        r = sd_bus_call_async(child.bus, nullptr, m, on_reply, &child, 60'000'000);
    }
    sd_bus_message_unref(m);
    return r;
}

[[noreturn]] void run_child(const std::string& address, std::vector<ReaderCall> calls,
                            int in_flight, int report_fd) {
    struct passwd* nobody = ::getpwnam("nobody");
    struct group* nogroup = ::getgrnam("nogroup");
    if (nobody == nullptr || ::setgroups(0, nullptr) != 0 ||
        ::setgid(nogroup != nullptr ? nogroup->gr_gid : nobody->pw_gid) != 0 ||
        ::setuid(nobody->pw_uid) != 0) {
        std::fprintf(stderr, "reader flood: cannot drop to nobody: %s\n", std::strerror(errno));
        ::_exit(3);
    }
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_stop = 1; };
    ::sigaction(SIGTERM, &sa, nullptr);
    Child child;
    child.calls = std::move(calls);
    if (sd_bus_new(&child.bus) < 0 || sd_bus_set_address(child.bus, address.c_str()) < 0 ||
        sd_bus_set_bus_client(child.bus, 1) < 0 || sd_bus_start(child.bus) < 0) {
        std::fprintf(stderr, "reader flood: cannot connect to %s\n", address.c_str());
        ::_exit(4);
    }
    for (int i = 0; i < in_flight; ++i) {
        if (send_one(child) < 0) {
            ::_exit(5);
        }
    }
    while (!g_stop) {
        const int r = sd_bus_process(child.bus, nullptr);
        if (r < 0) {
            break;
        }
        if (r == 0) {
            sd_bus_wait(child.bus, 100'000);
        }
    }
    [[maybe_unused]] const auto n = ::write(report_fd, &child.answers, sizeof child.answers);
    ::_exit(0);
}

}  // namespace

Result<ReaderFlood> ReaderFlood::start(const std::string& address, std::vector<ReaderCall> calls,
                                       int in_flight) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return make_error(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::close(report[0]);
        run_child(address, std::move(calls), in_flight, report[1]);
    }
    ::close(report[1]);
    return ReaderFlood(pid, report[0]);
}

long ReaderFlood::stop() {
    long answers = -1;
    if (child_.running()) {
        child_.signal(SIGTERM);
        if (::read(report_fd_.get(), &answers, sizeof answers) !=
            static_cast<ssize_t>(sizeof answers)) {
            answers = -1;
        }
        child_.reap();
    }
    return answers;
}

}  // namespace tcptune::test
