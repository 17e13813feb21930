// The whole chat API against `ChatModel`, a naive in-memory model: 50,000 seeded random calls
// (writes alone, writes inside multi-operation transactions — some failing inside, some aborted —
// and queries) over about 200 users and 300 conversations, with a clock the test moves (TTLs,
// last activity, purge and archive cutoffs), 1–2 KiB message blocks, checkpoints, out-of-order
// and tied created_at values, and handles that are canonically equivalent but different bytes.
// Every write's answer or error is compared with the model's, and every query's; a failed write
// must leave the store as it was. Clean reopens compare the whole store and run the integrity
// check; on a simulated disk, power losses between `.full` commits must lose nothing, and crashes
// inside an operation must leave it wholly done or not at all.
//
// Four runs, two per test, each pair side by side on two threads. Replay a failure with
// PARLEY_MODEL_SEED=<seed> (and PARLEY_MODEL_OPS=<count>); its message names the seed, the step
// and the last operations. PARLEY_MODEL_VERBOSE=1 prints what each run did and where its time
// went. Conversation ids are random (the store draws them), so ties in inbox order, and with
// them which entry a cursor lands on, may differ between replays.

import Foundation
import XCTest
@testable import Parley

final class ChatModelTests: XCTestCase {
    /// Seeds and operation counts, overridable from the environment.
    private func plan(_ defaults: [(UInt64, Int)]) -> [(UInt64, Int)] {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["PARLEY_MODEL_SEED"], let seed = UInt64(text) else { return defaults }
        return [(seed, environment["PARLEY_MODEL_OPS"].flatMap { Int($0) } ?? defaults[0].1)]
    }

    /// Runs one `ChatModelRun` per seed, side by side (each has its own database, model and
    /// generator), and reports every run's failure.
    private func runSideBySide(_ runs: [(UInt64, Int)], simulated: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-model-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let failures = ChatModelFailures()
        DispatchQueue.concurrentPerform(iterations: runs.count) { index in
            let (seed, operations) = runs[index]
            let backend: ChatModelRun.Backend = simulated ? .simulated : .files("\(directory)/chat-\(index).parley")
            do {
                try ChatModelRun(seed: seed, backend: backend, operations: operations).execute()
            } catch {
                failures.append("\(error)")
            }
        }
        for failure in failures.all { XCTFail(failure) }
    }

    /// On a simulated disk: `.full` commits, power losses between operations (nothing acknowledged
    /// may be lost) and crashes inside an operation (its effect is all there or not at all).
    func testRandomOperationsOnSimulatedDisk() throws {
        try runSideBySide(plan([(0xC0FFEE, 10_000), (0xBAD_C0DE, 10_000)]), simulated: true)
    }

    /// On real files in a temporary directory: `normal` and `async` commits, a background worker,
    /// clean closes and reopens.
    func testRandomOperationsOnFiles() throws {
        try runSideBySide(plan([(0x5EED_F11E, 15_000), (0xF11E_5EED, 15_000)]), simulated: false)
    }
}

/// Failures collected from runs on several threads.
final class ChatModelFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    func append(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}

// MARK: - Answers and plans

/// What a write returned.
enum ChatModelOutcome: Equatable {
    case none
    case user(User)
    case conversation(ConversationID)
    case messages([Message])
    case flag(Bool)
    case count(Int)
}

/// What a query returned.
enum ChatModelAnswer: Equatable {
    case user(User?)
    case users([User])
    case conversation(Conversation?)
    case conversations([Conversation])
    case message(Message?)
    case messages([Message])
    case count(Int)
    case window(ContextWindow)
    case marker(MessagePosition?)
    case inbox([InboxEntry])
    case state(StateValue?)
    case stats(ChatModelStats)
}

/// One write, as the store runs it and as the model expects it.
struct ChatModelWrite {
    var kind: String
    var detail: String
    var conversation: ConversationID?
    /// Its effect is known before it runs (not a `createConversation`, whose id the store draws).
    var crashable = true
    /// Inside a write transaction; nil when it is not a transaction's operation (a checkpoint).
    var viaWriter: ((ChatWriter) throws -> ChatModelOutcome)?
    /// Through `Database`'s one-operation conveniences, when there is one.
    var viaDatabase: ((Database) throws -> ChatModelOutcome)?
    /// The model's answer; it receives the store's outcome when that succeeded (for new ids).
    var expect: (inout ChatModel, ChatModelOutcome?) throws -> ChatModelOutcome
}

/// One query, as the store answers it and as the model does.
struct ChatModelQuery {
    var kind: String
    var detail: String
    var run: (ChatReader) throws -> ChatModelAnswer
    var expect: (ChatModel) throws -> ChatModelAnswer
}

struct ChatModelFailure: Error, CustomStringConvertible {
    var description: String
}

struct ChatModelAbort: Error {}

// MARK: - Handles as bytes

/// The handles a value names, as bytes. `==` on strings is canonical equivalence, so two answers
/// can compare equal while naming different users ("\u{E9}mile" and "e\u{301}mile"); every
/// comparison checks these too.
protocol ChatModelHandles {
    var handleBytes: [[UInt8]] { get }
}

extension User: ChatModelHandles {
    var handleBytes: [[UInt8]] { [Array(handle.utf8)] }
}

extension Message: ChatModelHandles {
    var handleBytes: [[UInt8]] { [Array(sender.utf8)] }
}

extension Conversation: ChatModelHandles {
    var handleBytes: [[UInt8]] { participants.map { Array($0.utf8) } }
}

extension InboxEntry: ChatModelHandles {
    var handleBytes: [[UInt8]] { conversation.handleBytes + (lastMessage?.handleBytes ?? []) }
}

extension ContextWindow: ChatModelHandles {
    var handleBytes: [[UInt8]] { messages.handleBytes }
}

extension Array: ChatModelHandles where Element: ChatModelHandles {
    var handleBytes: [[UInt8]] { flatMap(\.handleBytes) }
}

extension Optional: ChatModelHandles where Wrapped: ChatModelHandles {
    var handleBytes: [[UInt8]] { self?.handleBytes ?? [] }
}

extension ChatModelOutcome: ChatModelHandles {
    var handleBytes: [[UInt8]] {
        switch self {
        case .user(let user): return user.handleBytes
        case .messages(let messages): return messages.handleBytes
        default: return []
        }
    }
}

extension ChatModelAnswer: ChatModelHandles {
    var handleBytes: [[UInt8]] {
        switch self {
        case .user(let user): return user.handleBytes
        case .users(let users): return users.handleBytes
        case .conversation(let conversation): return conversation.handleBytes
        case .conversations(let conversations): return conversations.handleBytes
        case .message(let message): return message.handleBytes
        case .messages(let messages): return messages.handleBytes
        case .window(let window): return window.handleBytes
        case .inbox(let entries): return entries.handleBytes
        default: return []
        }
    }
}

/// Equal, and naming the same users byte for byte.
func chatModelSame<T: Equatable & ChatModelHandles>(_ a: T, _ b: T) -> Bool { a == b && a.handleBytes == b.handleBytes }

/// Where two values' handles first differ in their bytes (when they are equal as strings).
func chatModelHandleContrast<T: ChatModelHandles>(_ found: T, _ expected: T) -> String {
    let a = found.handleBytes
    let b = expected.handleBytes
    for index in 0..<min(a.count, b.count) where a[index] != b[index] {
        return "  equal as strings, but handle \(index) differs in bytes: found \(a[index]) (\(String(decoding: a[index], as: UTF8.self))), "
            + "expected \(b[index]) (\(String(decoding: b[index], as: UTF8.self)))"
    }
    return a.count != b.count ? "  \(a.count) handles, expected \(b.count)" : ""
}
