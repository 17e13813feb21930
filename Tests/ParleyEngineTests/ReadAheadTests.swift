import Foundation
import Glibc
import XCTest
@testable import ParleyEngine

/// A database file's pages are read in no particular order, so a read of one page that is not in
/// the page cache must fetch that page, not the kernel's read-ahead window around it (megabytes on
/// some disks: most of a cold open's time went there). The engine advises its file's mappings
/// MADV_RANDOM; other files (the log, scanned front to back) keep the default.
final class ReadAheadTests: XCTestCase {
    /// The kernel's flags for the mapping that starts at `base` (`VmFlags` in /proc/self/smaps;
    /// `rr` is MADV_RANDOM).
    private func mappingFlags(at base: UInt) throws -> [Substring]? {
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        let prefix = String(base, radix: 16) + "-"
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inside = line.hasPrefix(prefix)
                continue
            }
            if inside, line.hasPrefix("VmFlags:") { return line.dropFirst(8).split(separator: " ") }
        }
        return nil
    }

    private func mappingBase(_ file: any StorageFile) throws -> UInt {
        try file.withBytes(at: 0, count: 1) { UInt(bitPattern: $0.baseAddress) }
    }

    func testTheEngineAdvisesItsFileMappings() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/a.parley", options: testOptions(.normal))
        defer { try? engine.close() }
        try engine.write { txn in
            try txn.createTree("t")
            try txn.put("t", [1], [2])
        }
        let file = try XCTUnwrap(try mappingFlags(at: try mappingBase(engine.storage.file)), "the mapping is in smaps")
        XCTAssertTrue(file.contains("rr"), "database file mapping flags \(file)")
        // The file grows past its first mapping: the new mapping is advised too.
        let far = UInt64(PosixFile.minimumMappingReservation) + 4096
        try engine.storage.file.truncate(to: far)
        let grown = try XCTUnwrap(try mappingFlags(at: try mappingBase(engine.storage.file)))
        XCTAssertTrue(grown.contains("rr"), "grown mapping flags \(grown)")

        let other = try PosixFileSystem().openFile(at: directory + "/plain", .createIfMissing)
        defer { other.close() }
        try Bytes(repeating: 1, count: 4096).withUnsafeBytes { try other.write($0, at: 0) }
        let plain = try XCTUnwrap(try mappingFlags(at: try mappingBase(other)))
        XCTAssertFalse(plain.contains("rr"), "a file nobody advised: \(plain)")
    }

    /// Pages of `path` in the page cache (mincore over a fresh mapping), or nil if it cannot tell.
    private func cachedPages(_ path: String, size: Int) -> Int? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else { return nil }
        defer { munmap(mapping, size) }
        var vector = [UInt8](repeating: 0, count: (size + 4095) / 4096)
        guard mincore(mapping, size, &vector) == 0 else { return nil }
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    /// Drops the clean pages of `path` from the page cache; false when they stay (tmpfs).
    private func evict(_ path: String, size: Int) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
        return cachedPages(path, size: size) == 0
    }

    /// Pages cached after one mapped read of one byte in the middle of a cold 8 MiB file; nil when
    /// the file cannot be evicted here.
    private func pagesCachedByAColdRead(advised: Bool) throws -> Int? {
        let directory = try temporaryDirectory(self)
        let path = directory + "/cold"
        let size = 8 << 20
        let file = try PosixFileSystem().openFile(at: path, .createIfMissing)
        defer { file.close() }
        var random = SeededRandom(seed: 9)
        let content = random.bytes(size)
        try content.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        if advised { file.adviseRandomAccess() }
        guard evict(path, size: size) else { return nil }
        let middle = size / 2 + 100
        XCTAssertEqual(try file.withBytes(at: UInt64(middle), count: 1) { $0[0] }, content[middle], "the advice changes no byte")
        return cachedPages(path, size: size)
    }

    func testAnAdvisedColdReadFetchesItsPageOnly() throws {
        guard let plain = try pagesCachedByAColdRead(advised: false) else {
            throw XCTSkip("the page cache cannot be dropped for this file system")
        }
        guard plain > 4 else { throw XCTSkip("no read-ahead on mapped reads here (\(plain) pages)") }
        let advised = try XCTUnwrap(try pagesCachedByAColdRead(advised: true))
        XCTAssertLessThanOrEqual(advised, 4, "an advised cold read cached \(advised) pages; without the advice \(plain)")
    }

    private func majorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_majflt
    }

    /// With no read-ahead, the pages of a long value would each wait for the disk in turn: a chain
    /// that lies in a row is asked for at once after its first page, so reading it cold faults a
    /// handful of times, not once per page.
    func testAColdOverflowChainIsReadInOneRequest() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/chain.parley"
        let options = EngineOptions(pageSize: 4096, growthStep: 1 << 20)
        var random = SeededRandom(seed: 17)
        let value = random.bytes(64 << 10)
        do {
            let engine = try StorageEngine.open(path: path, options: options)
            try engine.write { txn in
                try txn.createTree("t")
                try txn.put("t", [1], value)
            }
            engine.close()
        }
        let size = Int(try XCTUnwrap(try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        guard evict(path, size: size) else { throw XCTSkip("the page cache cannot be dropped for this file system") }
        let engine = try StorageEngine.open(path: path, options: options)
        defer { engine.close() }
        let before = majorFaults()
        XCTAssertEqual(try engine.read { try $0.get("t", [1]) }, value)
        let faults = majorFaults() - before
        // 17 overflow pages; the catalog, the tree's root and the first overflow page fault alone.
        XCTAssertLessThanOrEqual(faults, 6, "\(faults) major faults reading a cold 17-page value")
    }

    /// A prefetch is a hint with numbers that may come from a damaged page: out of range, it asks
    /// for nothing past the snapshot and never traps.
    func testPrefetchStaysInsideTheSnapshot() throws {
        let directory = try temporaryDirectory(self)
        let file = try PosixFileSystem().openFile(at: directory + "/p", .createIfMissing)
        defer { file.close() }
        try Bytes(repeating: 3, count: 8 * 4096).withUnsafeBytes { try file.write($0, at: 0) }
        let reader = PageReader(file: file, pageSize: 4096, pageCount: 8, verified: VerifiedPages(), mapOnce: true)
        XCTAssertNotNil(reader.mapped)
        for (first, count) in [(PageID(0), 5), (3, Int.max), (7, 1_000), (8, 2), (UInt64.max, Int.max), (5, -1), (5, 0)] {
            reader.prefetch(first, count: count)
        }
        XCTAssertEqual(try file.withBytes(at: 3 * 4096, count: 1) { $0[0] }, 3, "reads after prefetches")
    }
}
