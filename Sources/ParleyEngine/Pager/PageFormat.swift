// The common page header and the rules every page obeys (docs/FORMAT.md, "Pages").
//
// Every page starts with a 16-byte header: CRC-32C of bytes 4..<pageSize, page type, two reserved
// bytes of zero, and the page's own number. A page is trusted only after `validate` has checked all
// three, so a torn write, a bit flip, or a page written to the wrong place is a typed error.

/// What a page holds.
public enum PageType: UInt8, Sendable, CustomStringConvertible {
    case fileHeader = 1
    case meta = 2
    case leaf = 3
    case branch = 4
    case overflow = 5
    case freelist = 6

    public var description: String {
        switch self {
        case .fileHeader: return "file header"
        case .meta: return "meta"
        case .leaf: return "leaf"
        case .branch: return "branch"
        case .overflow: return "overflow"
        case .freelist: return "freelist"
        }
    }
}

enum PageLayout {
    static let checksumOffset = 0
    static let typeOffset = 4
    static let numberOffset = 8
    static let headerSize = 16

    /// Page 0 is the file header, pages 1 and 2 the two meta pages; data starts at 3.
    static let headerPage: PageID = 0
    static let metaPages: (PageID, PageID) = (1, 2)
    static let firstDataPage: PageID = 3

    static let defaultPageSize = 4096
    static let minimumPageSize = 1024
    static let maximumPageSize = 65536

    static func isValidPageSize(_ size: Int) -> Bool {
        size >= minimumPageSize && size <= maximumPageSize && size & (size - 1) == 0
    }

    /// Fills in the header of a page image and seals it with its checksum.
    static func seal(_ page: UnsafeMutableRawBufferPointer, type: PageType, number: PageID) {
        page.storeLE(type.rawValue, at: typeOffset)
        page.storeLE(UInt8(0), at: typeOffset + 1)
        page.storeLE(UInt16(0), at: typeOffset + 2)
        page.storeLE(number, at: numberOffset)
        let body = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(page)[4...])
        page.storeLE(CRC32C.checksum(body), at: checksumOffset)
    }

    static func seal(_ page: inout Bytes, type: PageType, number: PageID) {
        page.withUnsafeMutableBytes { seal($0, type: type, number: number) }
    }

    /// Checks a page image's checksum, number and type; returns the reason it is bad, if it is.
    static func problem(in page: UnsafeRawBufferPointer, number: PageID, expected: PageType?, checksum: Bool = true) -> String? {
        guard page.count >= headerSize else { return "page shorter than its header" }
        if checksum {
            let stored = page.loadLE(UInt32.self, at: checksumOffset)
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: page[4...]))
            guard stored == computed else {
                return "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            }
        }
        let storedNumber = page.loadLE(UInt64.self, at: numberOffset)
        guard storedNumber == number else { return "page claims number \(storedNumber)" }
        let rawType = page.loadLE(UInt8.self, at: typeOffset)
        guard let type = PageType(rawValue: rawType) else { return "unknown page type \(rawType)" }
        if let expected, type != expected { return "expected a \(expected) page, found a \(type) page" }
        return nil
    }

    static func type(of page: UnsafeRawBufferPointer) -> PageType? {
        PageType(rawValue: page.loadLE(UInt8.self, at: typeOffset))
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
