#pragma once

#include <string>

#include <gtest/gtest.h>

namespace tcptune::test {

// Moves the calling thread (gtest runs tests on the main thread) into a brand-new
// network namespace with loopback up, so sockets and net.* sysctls are private
// to the test and the host is never touched. Children forked afterwards inherit
// it. Returns an empty string on success, otherwise why it could not be done.
std::string enter_fresh_netns();

}  // namespace tcptune::test

// Skips the current test, with the reason printed, when not root or when a
// network namespace cannot be created. In CI (root) the test always runs.
#define TCPTUNE_REQUIRE_PRIVATE_NETNS()                                             \
    do {                                                                            \
        const std::string tcptune_netns_why = ::tcptune::test::enter_fresh_netns(); \
        if (!tcptune_netns_why.empty()) {                                           \
            GTEST_SKIP() << tcptune_netns_why;                                      \
        }                                                                           \
    } while (0)
