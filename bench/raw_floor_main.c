/* tcptune-raw-floor: the floor as a process, to compare with `tcptune census`.
 * Prints the total number of TCP sockets. */
#include <stdio.h>
#include <string.h>

#include "raw_floor.h"

int main(void) {
    unsigned long long counts[16];
    memset(counts, 0, sizeof(counts));
    int fd = raw_floor_open();
    if (fd < 0 || raw_floor_count(fd, counts) != 0) {
        fprintf(stderr, "tcptune-raw-floor: sock_diag dump failed\n");
        return 1;
    }
    unsigned long long total = 0;
    for (int i = 0; i < 16; i++) {
        total += counts[i];
    }
    printf("%llu\n", total);
    return 0;
}
