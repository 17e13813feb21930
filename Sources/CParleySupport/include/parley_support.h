#ifndef PARLEY_SUPPORT_H
#define PARLEY_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `length` bytes, continuing from
/// `crc` (pass 0 to start). Uses the CPU's crc32 instruction when it has one.
uint32_t parley_crc32c(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware path is in use, 0 for the portable table.
int parley_crc32c_is_hardware(void);

/// The portable table path alone, so tests can check both paths agree.
uint32_t parley_crc32c_portable(uint32_t crc, const void *bytes, size_t length);

/// A set of page numbers below 2^32, safe to test and change from many threads at once.
typedef struct parley_page_bits parley_page_bits;
parley_page_bits *parley_page_bits_create(void);
void parley_page_bits_destroy(parley_page_bits *bits);
int parley_page_bits_test(parley_page_bits *bits, uint64_t page);
void parley_page_bits_set(parley_page_bits *bits, uint64_t page);
void parley_page_bits_clear(parley_page_bits *bits, uint64_t page);

/// Bytes the C library's allocator has handed out and not taken back (all arenas, and blocks it
/// mapped on their own), chunk overheads included; -1 where the C library cannot tell.
int64_t parley_heap_in_use(void);

/// Returns the allocator's free memory to the kernel where the C library can (malloc_trim).
void parley_heap_trim(void);

/// Tells ThreadSanitizer, when the process is built with it, that this thread let go of memtable
/// nodes (a snapshot ended): whatever it did before happens before a later
/// `parley_memtable_acquire`. A no-op in other builds. The hand-off it describes is real but
/// invisible to ThreadSanitizer: a commit changes in place a node whose reference count says no
/// snapshot holds it any more, and the Swift runtime's reference-count atomics, which order the
/// two, are not instrumented.
void parley_memtable_release(void);

/// The other half of `parley_memtable_release`: called where the memtable finds a node unique
/// and is about to change it in place.
void parley_memtable_acquire(void);

/// Names the calling thread (the first 15 bytes of `name`), for tools that list threads.
void parley_set_thread_name(const char *name);

/// Asks the CPU to start loading the cache line at `address` (a hint: no fault, no effect on
/// what a later read returns). Inline, so that a loop can issue it for an element it will read a
/// few iterations later.
static inline void parley_prefetch(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#else
    (void)address;
#endif
}

/// `parley_prefetch` for every cache line of `length` bytes from `start`.
static inline void parley_prefetch_range(const void *start, size_t length) {
    const char *bytes = (const char *)start;
    for (size_t offset = 0; offset < length; offset += 64) parley_prefetch(bytes + offset);
}

#endif
