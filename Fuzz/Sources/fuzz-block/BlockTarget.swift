// Fuzz target `block`: arbitrary bytes as a stored message block (a `chat.blocks` header and its
// `chat.blockdata` body) through the real codec. Decoding must give messages or
// `ParleyError.corruptBlock`, never a trap; what decodes must re-encode, decode to the same
// positions, and encode again to the same bytes.
//
// Input: mode byte · header length (u16 LE) · header · body (the rest).
//   mode & 3 == 0: the bytes as they are (tests the checks themselves);
//   mode & 3 == 1: checksums repaired (body CRC and header CRC, the header's last 8 bytes);
//   mode & 3 >= 2: lengths repaired too (the header's stored length, and its raw length for a
//                  raw block, set to the body's), so inserting or deleting body bytes stays valid.

import FuzzSupport
@_spi(Fuzzing) import Parley

let conversation: ConversationID = {
    guard let id = ConversationID("0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d") else { fatalError("harness: a bad UUID constant") }
    return id
}()

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(BlockSeeds.make)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlock(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzReader(data, size)
    let mode = input.byte() & 3
    var header = input.take(Int(input.u16()))
    let body = input.rest()
    if mode >= 2 { header = BlockRepair.lengths(header, bodyCount: body.count) ?? header }
    if mode >= 1 { BlockRepair.checksums(&header, body: body) }
    let messages: [Message]
    do {
        messages = try BlockFuzzing.decode(header: header, body: body, conversation: conversation)
    } catch let error as ParleyError {
        guard case .corruptBlock(let named, _) = error, named == conversation else {
            fuzzFailure("decoding a block threw \(error), not corruptBlock for its conversation")
        }
        return 0
    } catch {
        fuzzFailure("decoding a block threw a non-Parley error: \(error)")
    }
    guard !messages.isEmpty else { fuzzFailure("a block decoded to no messages") }
    for (index, message) in messages.enumerated() {
        if message.conversation != conversation { fuzzFailure("message \(index) names another conversation") }
        if index > 0 && !(messages[index - 1].position < message.position) { fuzzFailure("messages out of order at \(index)") }
    }
    // Compared as bytes, not with `==`: metadata may hold a NaN, which is not equal to itself.
    let full = header.count > 2 && header[2] == 1
    let again = BlockFuzzing.encode(messages, full: full)
    do {
        let decoded = try BlockFuzzing.decode(header: again.header, body: again.body, conversation: conversation)
        if decoded.map(\.position) != messages.map(\.position) { fuzzFailure("re-encoding moved messages") }
        let third = BlockFuzzing.encode(decoded, full: full)
        if third.header != again.header || third.body != again.body {
            fuzzFailure("re-encoding changed the messages:\n\(messages)\nversus\n\(decoded)")
        }
    } catch {
        fuzzFailure("a re-encoded block does not decode: \(error)\nmessages: \(messages)")
    }
    return 0
}
