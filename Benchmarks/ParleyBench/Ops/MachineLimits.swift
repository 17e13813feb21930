// The machine's limits, measured in the same run on the file system of the databases
// (BENCHMARK.md): fdatasync/s after appending 4 KiB (the size changes, so the file system
// journals metadata too), after overwriting 4 KiB of a preallocated file whose blocks were
// already written (data only), after writing 4 KiB into space reserved with posix_fallocate but
// never written (ext4 then records the extent as written: metadata again; ParleyDB's log is
// preallocated this way), and memcpy bandwidth.

import Glibc

enum MachineLimits {
    enum SyncMode {
        case append, overwrite, fallocated
    }

    static func measure(directory: String, seconds: Double = 1.5) throws -> [MachineLimit] {
        [
            MachineLimit(name: "fdatasync after appending 4 KiB", unit: "syncs/s",
                         value: try syncRate(directory: directory, .append, seconds: seconds)),
            MachineLimit(name: "fdatasync after overwriting 4 KiB (preallocated, written)", unit: "syncs/s",
                         value: try syncRate(directory: directory, .overwrite, seconds: seconds)),
            MachineLimit(name: "fdatasync after writing 4 KiB into posix_fallocate'd space", unit: "syncs/s",
                         value: try syncRate(directory: directory, .fallocated, seconds: seconds)),
            MachineLimit(name: "memcpy bandwidth (64 MiB blocks)", unit: "GB/s", value: memcpyBandwidth(seconds: seconds / 2)),
        ]
    }

    /// 4 KiB writes at increasing offsets, each followed by fdatasync, for `seconds`.
    static func syncRate(directory: String, _ mode: SyncMode, seconds: Double) throws -> Double {
        let path = directory + "/fdatasync.probe"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchError("cannot create \(path): \(errnoText(errno))") }
        defer {
            close(descriptor)
            unlink(path)
        }
        var block = [UInt8](repeating: 0x5A, count: 4096)
        let area = 64 << 20
        switch mode {
        case .append:
            break
        case .overwrite:
            // Written, not just fallocated: an unwritten extent would make each first write a
            // metadata change too.
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            for offset in stride(from: 0, to: area, by: zeros.count) {
                guard zeros.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }) == zeros.count else {
                    throw BenchError("cannot write \(path): \(errnoText(errno))")
                }
            }
            guard fsync(descriptor) == 0 else { throw BenchError("fsync \(path): \(errnoText(errno))") }
        case .fallocated:
            let status = posix_fallocate(descriptor, 0, off_t(area))
            guard status == 0 else { throw BenchError("posix_fallocate \(path): \(errnoText(status))") }
            guard fsync(descriptor) == 0 else { throw BenchError("fsync \(path): \(errnoText(errno))") }
        }
        var offset = 0
        var count = 0
        let start = monotonicNanos()
        let deadline = start + UInt64(seconds * 1e9)
        while monotonicNanos() < deadline {
            block[0] = UInt8(truncatingIfNeeded: count)
            guard block.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }) == block.count else {
                throw BenchError("cannot write \(path): \(errnoText(errno))")
            }
            guard fdatasync(descriptor) == 0 else { throw BenchError("fdatasync \(path): \(errnoText(errno))") }
            offset += block.count
            // Wrapping a fallocated area would turn it into overwrites; it is large enough not to.
            if mode == .overwrite && offset >= area { offset = 0 }
            count += 1
        }
        return Double(count) / (Double(monotonicNanos() - start) / 1e9)
    }

    private static func memcpyBandwidth(seconds: Double) -> Double {
        let size = 64 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        // Touch every page first, so page faults are not measured.
        memset(source, 1, size)
        memset(destination, 0, size)
        var copies = 0
        let start = monotonicNanos()
        let deadline = start + UInt64(seconds * 1e9)
        while monotonicNanos() < deadline || copies == 0 {
            memcpy(destination, source, size)
            copies += 1
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        return Double(copies * size) / elapsed / 1e9
    }
}
