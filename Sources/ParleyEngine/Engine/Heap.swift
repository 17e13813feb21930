// The C library's heap, seen from the engine: how much is in use (to check the memtable's
// estimate against) and giving free memory back to the kernel after a checkpoint.

import CParleySupport

enum Heap {
    /// Bytes the allocator has handed out and not taken back, or nil where it cannot tell.
    static var bytesInUse: Int? {
        let bytes = parley_heap_in_use()
        return bytes < 0 ? nil : Int(bytes)
    }

    /// Returns the allocator's free memory to the kernel. A checkpoint frees a memtable layer and
    /// its write transaction's pages on one thread while commits allocate on another; glibc keeps
    /// such memory in per-thread arenas, resident, unless told to let it go.
    static func trim() { parley_heap_trim() }
}
