#pragma once

// Skips the current test, with `reason` printed, unless `condition` holds: for a
// tool or build feature a test needs (hping3, util-linux, the bpf engine). Use it
// in the test body itself: GTEST_SKIP returns from the enclosing function.
#define TCPTUNE_SKIP_UNLESS(condition, reason) \
    do {                                       \
        if (!(condition)) {                    \
            GTEST_SKIP() << (reason);          \
        }                                      \
    } while (0)
