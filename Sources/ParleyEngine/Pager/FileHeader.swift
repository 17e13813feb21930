// Page 0: written once when the database is created and never again. It names the format, the page
// size and the database's identity (which the log and the meta pages repeat, so that a file from
// another database is never mistaken for this one's).

/// The contents of page 0.
struct FileHeader: Equatable, Sendable {
    static let magic: [UInt8] = Array("PARLEYDB".utf8)
    static let formatVersion: UInt32 = 1

    // Offsets within page 0, after the common page header.
    static let magicOffset = 16
    static let versionOffset = 24
    static let pageSizeOffset = 28
    static let identityOffset = 32
    static let createdOffset = 48
    /// Bytes of page 0 that are enough to learn the page size before reading the whole page.
    static let prefixSize = 56

    var pageSize: Int
    var identity: [UInt8]  // 16 random bytes
    var createdMicros: UInt64

    func encode() -> Bytes {
        var page = Bytes(repeating: 0, count: pageSize)
        page.withUnsafeMutableBytes { p in
            for (i, b) in Self.magic.enumerated() { p[Self.magicOffset + i] = b }
            p.storeLE(Self.formatVersion, at: Self.versionOffset)
            p.storeLE(UInt32(pageSize), at: Self.pageSizeOffset)
            for (i, b) in identity.prefix(16).enumerated() { p[Self.identityOffset + i] = b }
            p.storeLE(createdMicros, at: Self.createdOffset)
        }
        PageLayout.seal(&page, type: .fileHeader, number: 0)
        return page
    }

    /// Reads the page size from the first bytes of a file, validating magic and version.
    static func pageSize(fromPrefix prefix: UnsafeRawBufferPointer, path: String) throws -> Int {
        guard prefix.count >= prefixSize else { throw EngineError.corruptFile(path: path, reason: "file too short for a header") }
        guard Array(prefix[magicOffset..<magicOffset + 8]) == magic else {
            throw EngineError.corruptFile(path: path, reason: "not a ParleyDB file (bad magic)")
        }
        let version = prefix.loadLE(UInt32.self, at: versionOffset)
        guard version == formatVersion else { throw EngineError.unsupportedFormat(path: path, version: version) }
        let size = Int(prefix.loadLE(UInt32.self, at: pageSizeOffset))
        guard PageLayout.isValidPageSize(size) else {
            throw EngineError.corruptFile(path: path, reason: "invalid page size \(size)")
        }
        return size
    }

    /// Decodes a whole page 0, checksum included.
    static func decode(_ page: UnsafeRawBufferPointer, path: String) throws -> FileHeader {
        let size = try pageSize(fromPrefix: page, path: path)
        guard page.count == size else { throw EngineError.corruptFile(path: path, reason: "header page size mismatch") }
        if let problem = PageLayout.problem(in: page, number: 0, expected: .fileHeader) {
            throw EngineError.corruptPage(page: 0, reason: "file header: " + problem)
        }
        return FileHeader(
            pageSize: size,
            identity: Array(page[identityOffset..<identityOffset + 16]),
            createdMicros: page.loadLE(UInt64.self, at: createdOffset))
    }
}
