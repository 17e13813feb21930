// A set of page numbers that many threads test and change without a lock. Two levels: a fixed
// table of chunk pointers, each chunk a bitmap of 2^16 pages allocated on first use, so the set
// never moves and readers never wait for it to grow.
#include "parley_support.h"

#include <stdlib.h>

#define CHUNK_BITS 16
#define CHUNK_PAGES (1ull << CHUNK_BITS)
#define CHUNK_WORDS (CHUNK_PAGES / 64)
#define TABLE_SIZE (1ull << (32 - CHUNK_BITS))

struct parley_page_bits {
    uint64_t *chunks[TABLE_SIZE];
};

parley_page_bits *parley_page_bits_create(void) {
    return calloc(1, sizeof(parley_page_bits));
}

void parley_page_bits_destroy(parley_page_bits *bits) {
    if (!bits) return;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        if (bits->chunks[i]) free(bits->chunks[i]);
    }
    free(bits);
}

static uint64_t *chunk_for(parley_page_bits *bits, uint64_t page, int create) {
    uint64_t *chunk = __atomic_load_n(&bits->chunks[page >> CHUNK_BITS], __ATOMIC_ACQUIRE);
    if (chunk || !create) return chunk;
    uint64_t *fresh = calloc(CHUNK_WORDS, sizeof(uint64_t));
    if (!fresh) return NULL;
    uint64_t *expected = NULL;
    if (__atomic_compare_exchange_n(&bits->chunks[page >> CHUNK_BITS], &expected, fresh, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return fresh;
    }
    free(fresh);  // another thread installed one first
    return expected;
}

int parley_page_bits_test(parley_page_bits *bits, uint64_t page) {
    if (page >= (1ull << 32)) return 0;
    uint64_t *chunk = chunk_for(bits, page, 0);
    if (!chunk) return 0;
    uint64_t word = __atomic_load_n(&chunk[(page & (CHUNK_PAGES - 1)) >> 6], __ATOMIC_ACQUIRE);
    return (int)((word >> (page & 63)) & 1);
}

void parley_page_bits_set(parley_page_bits *bits, uint64_t page) {
    if (page >= (1ull << 32)) return;
    uint64_t *chunk = chunk_for(bits, page, 1);
    if (!chunk) return;  // out of memory: the page is simply verified again next time
    __atomic_fetch_or(&chunk[(page & (CHUNK_PAGES - 1)) >> 6], 1ull << (page & 63), __ATOMIC_RELEASE);
}

void parley_page_bits_clear(parley_page_bits *bits, uint64_t page) {
    if (page >= (1ull << 32)) return;
    uint64_t *chunk = chunk_for(bits, page, 0);
    if (!chunk) return;
    __atomic_fetch_and(&chunk[(page & (CHUNK_PAGES - 1)) >> 6], ~(1ull << (page & 63)), __ATOMIC_RELEASE);
}
