import Foundation
import XCTest
@testable import ParleyEngine

/// Pages read through the memory map count in the process's resident memory until released; a
/// release must drop them and leave every read, before or after, seeing the file's bytes.
final class ResidentPagesTests: XCTestCase {
    /// Resident kilobytes of the mapping that starts at `base`, from /proc/self/smaps.
    private func residentKilobytes(ofMappingAt base: UInt) throws -> Int? {
        // Read to the end: /proc files report a size of 0, which a whole-file read trusts.
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
            if inside, line.hasPrefix("Rss:") {
                return Int(line.dropFirst(4).split(separator: " ").first ?? "")
            }
        }
        return nil
    }

    /// A file at `path` holding `content`, synced, its mapped reads held to `limit`. Written a page at
    /// a time when asked, as the engine writes, so that the page cache holds small folios.
    private func file(at path: String, limit: Int, holding content: Bytes, pageAtATime: Bool = false) throws -> any StorageFile {
        let file = try PosixFileSystem(residentLimit: limit).openFile(at: path, .createIfMissing)
        try content.withUnsafeBytes { bytes in
            let step = pageAtATime ? 4096 : max(1, bytes.count)
            for offset in stride(from: 0, to: bytes.count, by: step) {
                try file.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + step, bytes.count)]), at: UInt64(offset))
            }
        }
        try file.sync()
        return file
    }

    /// Where `file`'s mapping starts.
    private func mappingBase(of file: any StorageFile) throws -> UInt {
        try file.withBytes(at: 0, count: 1) { UInt(bitPattern: $0.baseAddress) }
    }

    func testReleaseDropsMappedPagesAndReadsStayTheSame() throws {
        let directory = try temporaryDirectory(self)
        let size = 8 << 20
        var random = SeededRandom(seed: 3)
        let content = random.bytes(size)
        let file = try file(at: directory + "/r", limit: PosixFileSystem.defaultResidentLimit, holding: content)
        defer { file.close() }
        let base = try mappingBase(of: file)
        // Touch every page through the map, as a checkpoint's reads do.
        XCTAssertEqual(try file.withBytes(at: 0, count: size) { Bytes($0) }, content)
        let before = try XCTUnwrap(try residentKilobytes(ofMappingAt: base), "the mapping is in smaps")
        XCTAssertGreaterThanOrEqual(before, (size >> 10) * 3 / 4, "read pages are resident")
        // A reader in the middle of a read while the pages go: it goes on reading the same bytes.
        let during = try file.withBytes(at: 4096, count: 65536) { bytes -> Bytes in
            let head = Bytes(bytes[0..<4096])
            file.releaseResidentPages()
            return head + Bytes(bytes[4096...])
        }
        XCTAssertEqual(during, Bytes(content[4096..<(4096 + 65536)]))
        file.releaseResidentPages()
        let after = try XCTUnwrap(try residentKilobytes(ofMappingAt: base))
        XCTAssertLessThan(after, (size >> 10) / 8, "released pages are no longer resident (\(before) KiB → \(after) KiB)")
        XCTAssertEqual(try file.withBytes(at: 0, count: size) { Bytes($0) }, content)
    }

    /// A checkpoint reads the trees through the map; it gives those pages back when it ends, so the
    /// process does not hold the whole file resident as the database grows.
    func testACheckpointLeavesTheFileUnmapped() throws {
        let directory = try temporaryDirectory(self)
        var options = testOptions(.normal)
        options.storage = EngineOptions(pageSize: 4096, growthStep: 1 << 20)
        let engine = try Engine.open(path: directory + "/c.parley", options: options)
        defer { try? engine.close() }
        var random = SeededRandom(seed: 5)
        try engine.write { _ = try $0.createTree("t") }
        for round in 0..<4 {
            try engine.write { txn in
                for i in 0..<2_000 { try txn.put("t", Array("key \(round) \(i)".utf8), random.bytes(1_000)) }
            }
            try engine.checkpoint()
        }
        let base = try mappingBase(of: engine.storage.file)
        // Every page read through the map.
        XCTAssertEqual(try engine.read { try $0.count("t") }, 8_000)
        _ = try engineContents(engine, "t")
        let before = try XCTUnwrap(try residentKilobytes(ofMappingAt: base))
        XCTAssertGreaterThan(before, 4 << 10, "the reads mapped the file's pages")
        try engine.write { try $0.put("t", Array("one more".utf8), [1]) }
        try engine.checkpoint()
        let after = try XCTUnwrap(try residentKilobytes(ofMappingAt: base))
        XCTAssertLessThan(after, before / 4, "after the checkpoint (\(before) KiB → \(after) KiB)")
    }

    /// Reads through the map alone keep no more of the file resident than the file system's limit,
    /// however much of the file they touch (a checkpoint's descent into every leaf, a scan).
    func testMappedReadsStayWithinTheResidentLimit() throws {
        let directory = try temporaryDirectory(self)
        // Two windows: a page fault may map up to 2 MiB (a large folio), and a read in a window
        // not yet touched is charged that much before the kernel's count is read.
        let limit = 4 << 20
        let size = 32 << 20
        var random = SeededRandom(seed: 9)
        let content = random.bytes(size)
        let file = try file(at: directory + "/l", limit: limit, holding: content)
        defer { file.close() }
        let base = try mappingBase(of: file)
        var largest = 0
        var order = Array(0..<(size / 4096))
        order.shuffle(using: &random)
        for page in order {
            let offset = page * 4096
            let bytes = try file.withBytes(at: UInt64(offset), count: 4096) { Bytes($0) }
            XCTAssertEqual(bytes, Bytes(content[offset..<(offset + 4096)]))
            if page % 256 == 0 { largest = max(largest, try XCTUnwrap(try residentKilobytes(ofMappingAt: base))) }
        }
        largest = max(largest, try XCTUnwrap(try residentKilobytes(ofMappingAt: base)))
        XCTAssertGreaterThan(largest, 0)
        XCTAssertLessThanOrEqual(largest, (limit + (2 << 20)) >> 10, "resident KiB of the mapping at most")
        // Without a limit the same reads leave the whole file resident.
        let unlimited = try PosixFileSystem(residentLimit: 0).openFile(at: directory + "/l", .existing)
        defer { unlimited.close() }
        let unlimitedBase = try mappingBase(of: unlimited)
        for page in order { _ = try unlimited.withBytes(at: UInt64(page * 4096), count: 1) { $0[0] } }
        XCTAssertGreaterThan(try XCTUnwrap(try residentKilobytes(ofMappingAt: unlimitedBase)), (size >> 10) / 2)
    }

    /// A working set smaller than the limit but spread over more windows than the limit holds (a
    /// record here and a state value there, all over the file) stays mapped: the kernel's count
    /// says it is under the limit, where the touched windows alone would drop it every few reads.
    func testASpreadWorkingSetUnderTheLimitIsNotDropped() throws {
        guard FileBackedResidentMemory.bytes() != nil else { throw XCTSkip("/proc/self/statm cannot be read here") }
        let directory = try temporaryDirectory(self)
        let limit = 12 << 20
        let size = 32 << 20
        var random = SeededRandom(seed: 12)
        let content = random.bytes(size)
        let file = try file(at: directory + "/s", limit: limit, holding: content, pageAtATime: true)
        defer { file.close() }
        // One page in each 2 MiB window: sixteen windows, 32 MiB of them, more than the limit.
        let pages = (0..<16).map { $0 * (2 << 20) + 4096 * (($0 * 7) % 512) }
        // What those pages really map (their fault-around or their folios), on a mapping with no
        // limit: the premise of the test.
        let unlimited = try PosixFileSystem(residentLimit: 0).openFile(at: directory + "/s", .existing)
        defer { unlimited.close() }
        let unlimitedBase = try mappingBase(of: unlimited)
        for page in pages { _ = try unlimited.withBytes(at: UInt64(page), count: 4096) { $0[0] } }
        let mapped = try XCTUnwrap(try residentKilobytes(ofMappingAt: unlimitedBase)) << 10
        guard mapped <= limit / 2 else {
            throw XCTSkip("this kernel mapped \(mapped >> 10) KiB for 16 pages (large folios); the set nears the limit")
        }
        let posix = try XCTUnwrap(file as? PosixFile)
        let base = try mappingBase(of: file)
        posix.releaseResidentPages()
        let releasesBefore = posix.residentReleases
        for round in 0..<500 {
            for page in pages {
                let bytes = try file.withBytes(at: UInt64(page), count: 4096) { Bytes($0) }
                if round % 100 == 0 { XCTAssertEqual(bytes, Bytes(content[page..<(page + 4096)])) }
            }
        }
        XCTAssertEqual(posix.residentReleases, releasesBefore, "8,000 reads of 16 pages mapping \(mapped >> 10) KiB")
        XCTAssertLessThanOrEqual(try XCTUnwrap(try residentKilobytes(ofMappingAt: base)) << 10, limit)
    }

    /// When the file outgrows its mapping, the new mapping starts with nothing charged and the old
    /// one's pages are let go: nobody reads them again to charge them.
    func testARemapStartsTheAccountAgainAndLetsTheOldPagesGo() throws {
        let directory = try temporaryDirectory(self)
        let size = 8 << 20
        var random = SeededRandom(seed: 21)
        let content = random.bytes(size)
        let file = try file(at: directory + "/m", limit: 16 << 20, holding: content)
        defer { file.close() }
        let posix = try XCTUnwrap(file as? PosixFile)
        let oldBase = try mappingBase(of: file)
        for offset in stride(from: 0, to: size, by: 4096) { _ = try file.withBytes(at: UInt64(offset), count: 4096) { $0[0] } }
        let oldResident = try XCTUnwrap(try residentKilobytes(ofMappingAt: oldBase))
        XCTAssertGreaterThan(oldResident, (size >> 10) / 2)
        let releases = posix.residentReleases
        // Past the mapping's reservation (sparse: no disk is allocated).
        try file.truncate(to: UInt64(PosixFile.minimumMappingReservation) + (1 << 20))
        XCTAssertEqual(posix.residentReleases, releases + 1)
        XCTAssertLessThan(try XCTUnwrap(try residentKilobytes(ofMappingAt: oldBase)), oldResident / 4)
        let newBase = try mappingBase(of: file)
        XCTAssertNotEqual(newBase, oldBase)
        XCTAssertEqual(try file.withBytes(at: 0, count: size) { Bytes($0) }, content)
        try file.truncate(to: UInt64(size))
    }

    /// Readers on several threads, each charging the account, reading the kernel's count and
    /// dropping the pages under the others' feet: every read sees the file's bytes, and the drops
    /// keep the mapping near the limit. (In CI's ThreadSanitizer run.)
    func testConcurrentCountedReadsSeeTheFileAndStayNearTheLimit() throws {
        let directory = try temporaryDirectory(self)
        let limit = 4 << 20
        let size = 32 << 20
        var random = SeededRandom(seed: 33)
        let content = random.bytes(size)
        let file = try file(at: directory + "/c", limit: limit, holding: content)
        defer { file.close() }
        let posix = try XCTUnwrap(file as? PosixFile)
        let base = try mappingBase(of: file)
        let mismatches = SharedLocked(0)
        let failures = SharedLocked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            var generator = SeededRandom(seed: UInt64(100 + thread))
            for _ in 0..<3_000 {
                let page = Int(generator.next() % UInt64(size / 4096))
                let offset = page * 4096
                do {
                    let same = try file.withBytes(at: UInt64(offset), count: 4096) { bytes in
                        bytes.elementsEqual(content[offset..<(offset + 4096)])
                    }
                    if !same { mismatches.withLock { $0 += 1 } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(mismatches.withLock { $0 }, 0)
        XCTAssertGreaterThan(posix.residentReleases, 0, "12,000 reads over 32 MiB passed a 4 MiB limit")
        XCTAssertLessThanOrEqual(try XCTUnwrap(try residentKilobytes(ofMappingAt: base)) << 10, limit + (4 << 20))
    }
}
