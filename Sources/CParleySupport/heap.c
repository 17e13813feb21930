// The C library's heap statistics and trimming, which the Swift overlay does not import
// (<malloc.h>). The engine calibrates and tests its memtable estimate against them, and gives the
// heap back to the kernel after a checkpoint.
#include "parley_support.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int64_t parley_heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 info = mallinfo2();
    // Chunks handed out from the arenas, and the large ones served by their own mmap.
    return (int64_t)(info.uordblks + info.hblkhd);
#else
    return -1;
#endif
}

void parley_heap_trim(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
