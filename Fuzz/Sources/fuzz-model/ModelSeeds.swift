// Seeds of the `model` target: a tour of every kind of step with mostly valid arguments, the
// same tour with crashes and power losses between and inside writes, and a few random programs
// (any bytes are a program).

import FuzzSupport
import Parley

struct ProgramWriter {
    var bytes: [UInt8]

    init(config: UInt8) { bytes = [config] }

    mutating func step(_ kind: Kind, _ arguments: UInt8...) {
        bytes.append(kind.rawValue)
        bytes += arguments
    }

    /// A message's bytes: sender, flags (role | status << 2), text, created-at choice and amount,
    /// extras, tokens + 1 (0: estimated).
    static func message(sender: UInt8, flags: UInt8 = 0, text: UInt8 = 0, at: UInt8 = 0, amount: UInt8 = 0, extras: UInt8 = 0, tokens: UInt8 = 0) -> [UInt8] {
        [sender, flags, text, at, amount, extras, tokens]
    }

    mutating func append(_ conversation: UInt8, _ message: [UInt8]) {
        bytes += [Kind.append.rawValue, conversation] + message
    }
}

enum ModelSeeds {
    static func tour(config: UInt8, crashes: Bool) -> [UInt8] {
        var p = ProgramWriter(config: config)
        for handle: UInt8 in 0...4 { p.step(.upsertUser, handle, handle, handle) }
        p.step(.create, 0x03, 1, 0, 3, 0)                       // alice, bot; slack C0; title and metadata
        p.step(.create, 0x1C, 0, 0, 0, 2)                       // zoë and both émiles, created two hours ago
        p.step(.create, 0x01, 3, 1, 0, 0)                       // alice alone; web W1
        p.append(0, ProgramWriter.message(sender: 0, text: 2))
        p.append(0, ProgramWriter.message(sender: 1, flags: 2, text: 0))   // a system message
        p.step(.appendBatch, 0, 4)
        p.bytes += ProgramWriter.message(sender: 0, text: 4, at: 2, amount: 30)  // earlier than the others
        p.bytes += ProgramWriter.message(sender: 1, flags: 1, text: 3, at: 4, amount: 0)  // tied with a stored one
        p.bytes += ProgramWriter.message(sender: 0, flags: 5, text: 5, at: 3, amount: 10, tokens: 9)
        p.bytes += ProgramWriter.message(sender: 1, flags: 3, text: 1, at: 5, amount: 2, extras: 1)
        p.step(.advanceClock, 2)
        p.append(1, ProgramWriter.message(sender: 3, text: 3, extras: 7, tokens: 5))
        p.append(1, ProgramWriter.message(sender: 4, text: 6))
        p.append(1, ProgramWriter.message(sender: 0, text: 6))  // not a participant
        if crashes {
            p.step(.crash, 2, 7, 0, Kind.append.rawValue, 0)
            p.bytes += ProgramWriter.message(sender: 0, text: 4)
        }
        p.step(.messages, 11, 255, 255, 0, 0, 0)
        p.step(.messages, 6, 0, 255, 0x31, 0x11, 1)
        p.step(.page, 0, 1, 3, 0)
        p.step(.page, 0, 0, 5, 1)
        p.step(.context, 0, 5)
        p.step(.inbox, 0, 5, 0, 255, 0)
        p.step(.inbox, 1, 2, 1, 0, 0x13)
        p.step(.markRead, 0, 0, 2)
        p.step(.markRead, 2, 0, 2)                              // not a participant
        p.step(.unread, 0, 255)
        p.step(.unread, 2, 0, 1)
        p.step(.setState, 0, 3, 1, 2, 3, 1)
        p.step(.setState, 1, 0, 0)
        p.step(.getState, 0)
        p.step(.touchState, 0, 4)
        p.step(.advanceClock, 4)
        p.step(.getState, 1)
        p.step(.deleteState, 0)
        if crashes { p.step(.powerLoss, 3, 0) }
        p.step(.checkpoint)
        p.append(0, ProgramWriter.message(sender: 1, text: 4))
        p.step(.reopen)
        if crashes { p.step(.crash, 9, 1, 5, Kind.checkpoint.rawValue) }
        p.step(.membership, 2, 0, 0)
        p.step(.membership, 2, 0, 1)
        p.step(.find, 0, 0)
        p.step(.find, 0, 1)
        p.step(.message, 3)
        p.step(.setStatus, 1, 3)
        p.append(1, ProgramWriter.message(sender: 3, text: 0))  // closed
        p.step(.archive, 0)
        p.step(.advanceClock, 6)
        p.step(.purge, 2)
        if crashes { p.step(.crash, 1, 2, 0, Kind.purge.rawValue, 0) }
        p.step(.delete, 1)
        p.step(.unread, 3, 255)
        return p.bytes
    }

    static func make() -> [Seed] {
        var seeds = [
            Seed("tour", tour(config: 0, crashes: false)),
            Seed("tour-checkpoints", tour(config: 1, crashes: false)),
            Seed("tour-crashes", tour(config: 2, crashes: true)),
            Seed("tour-crashes-big-blocks", tour(config: 0x0F, crashes: true)),
        ]
        var random = SplitMix64(seed: 42)
        for index in 0..<4 {
            seeds.append(Seed("random-\(index)", (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }))
        }
        return seeds
    }
}
