// ThreadSanitizer annotations for the memtable's copy-on-write hand-off (see parley_support.h).
// The runtime's entry points are weak references: null, and the calls skipped, in a process built
// without ThreadSanitizer.

#include "parley_support.h"

void __tsan_acquire(void *address) __attribute__((weak));
void __tsan_release(void *address) __attribute__((weak));

/// One address for every memtable of the process: the annotations only order, they never block.
static char memtable_handoff;

void parley_memtable_release(void) {
    if (__tsan_release) __tsan_release(&memtable_handoff);
}

void parley_memtable_acquire(void) {
    if (__tsan_acquire) __tsan_acquire(&memtable_handoff);
}
