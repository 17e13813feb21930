// The calling thread's name, as tools show it (top -H, gdb, perf). prctl is variadic, so Swift
// cannot call it directly.

#include "parley_support.h"

#include <sys/prctl.h>

void parley_set_thread_name(const char *name) {
    // The kernel keeps the first 15 bytes and a terminating zero.
    (void)prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}
