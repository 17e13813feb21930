// Pages whose checksum has been checked since this process opened the file. Checking a page's
// CRC on every access cost a quarter of a lookup's time; a page in a copy-on-write tree does not
// change while any reader can reach it, so one check per page per process is enough. The writer
// forgets a page before writing it (a freed page is rewritten only once no reader can reach it),
// so the next read checks the new bytes. The integrity check reads without this set.
import CParleySupport

final class VerifiedPages: @unchecked Sendable {
    // The C set is lock-free and thread-safe; this class only owns it.
    private let bits: OpaquePointer?

    /// The C set itself, for a reader that holds this object as long as it uses the handle.
    var handle: PageBits? { bits.map(PageBits.init) }

    init() { bits = parley_page_bits_create() }

    deinit { parley_page_bits_destroy(bits) }

    func contains(_ page: PageID) -> Bool {
        guard let bits else { return false }
        return parley_page_bits_test(bits, page) != 0
    }

    func insert(_ page: PageID) {
        guard let bits else { return }
        parley_page_bits_set(bits, page)
    }

    func remove(_ page: PageID) {
        guard let bits else { return }
        parley_page_bits_clear(bits, page)
    }
}

/// A handle on a `VerifiedPages` set, tested and changed with no reference counting. Valid while
/// its `VerifiedPages` lives; the set is thread-safe, so the handle may be shared.
struct PageBits: @unchecked Sendable {
    let pointer: OpaquePointer

    func contains(_ page: PageID) -> Bool { parley_page_bits_test(pointer, page) != 0 }

    func insert(_ page: PageID) { parley_page_bits_set(pointer, page) }
}
