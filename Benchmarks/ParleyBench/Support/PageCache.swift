// The page cache around timed phases. Cold starts: the database's files evicted before a child
// opens them: /proc/sys/vm/drop_caches when the kernel lets us (root, writable /proc), else
// posix_fadvise(DONTNEED) on each file after an fdatasync (clean pages are dropped at once).
// Warm queries: each engine's files read through once before its queries, so that both start
// from the same cache whatever the order of the phases left behind. mincore over a mapping tells
// how much of a file is resident, so the output can say whether either worked.

import Glibc

enum PageCache {
    enum Method: String {
        case dropCaches = "/proc/sys/vm/drop_caches"
        case fadvise = "posix_fadvise(POSIX_FADV_DONTNEED)"
    }

    /// Evicts `files`; returns the method that was used.
    static func evict(_ files: [String]) -> Method {
        sync()
        if Files.writeText("1", to: "/proc/sys/vm/drop_caches") { return .dropCaches }
        for path in files {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            fdatasync(descriptor)
            _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
            close(descriptor)
        }
        return .fadvise
    }

    /// Reads `files` through the page cache once, start to end (the bytes are discarded).
    static func warm(_ files: [String]) {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        for path in files {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var offset: off_t = 0
            while true {
                let n = pread(descriptor, buffer, chunk, offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                offset += off_t(n)
            }
        }
    }

    /// Fraction of the pages of `files` resident in the page cache (nil when none can be mapped).
    static func residentFraction(_ files: [String]) -> Double? {
        var resident = 0
        var total = 0
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        for path in files {
            let size = Int(Files.apparentSize(path))
            guard size > 0 else { continue }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else { continue }
            defer { munmap(mapping, size) }
            let pages = (size + pageSize - 1) / pageSize
            var vector = [UInt8](repeating: 0, count: pages)
            guard mincore(mapping, size, &vector) == 0 else { continue }
            resident += vector.reduce(0) { $0 + Int($1 & 1) }
            total += pages
        }
        return total > 0 ? Double(resident) / Double(total) : nil
    }
}
