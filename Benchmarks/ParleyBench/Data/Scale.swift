// The three sizes of the workload (BENCHMARK.md) and what each op does at each size.

import ArgumentParser

enum Scale: String, CaseIterable, ExpressibleByArgument, Sendable {
    case small, standard, large

    /// Human users (bots come on top: one per platform).
    var users: Int {
        switch self {
        case .small: return 1_000
        case .standard: return 10_000
        case .large: return 100_000
        }
    }

    var conversations: Int {
        switch self {
        case .small: return 5_000
        case .standard: return 50_000
        case .large: return 500_000
        }
    }

    /// Messages of ingest-tx plus ingest-batch.
    var messages: Int {
        switch self {
        case .small: return 100_000
        case .standard: return 1_000_000
        case .large: return 10_000_000
        }
    }

    /// ingest-tx: the first 10% of the messages, at least 20,000.
    var transactionalMessages: Int { min(messages, max(20_000, messages / 10)) }

    /// ingest-batch: the rest, 1,000 per transaction.
    var batchedMessages: Int { messages - transactionalMessages }

    /// Queries of recent, range and inbox, and operations of state.
    var queries: Int {
        switch self {
        case .small: return 5_000
        case .standard, .large: return 20_000
        }
    }
}

/// Fixed sizes of the ops that do not grow with the scale.
enum WorkloadConstants {
    static let batchSize = 1_000
    /// Messages of each ingest-durable part (1 thread, then 4 threads).
    static let durableMessages = 20_000
    static let durableThreads = 4
    static let recentLimit = 50
    static let inboxLimit = 20
    static let rangeWindowMicros: Int64 = 3_600_000_000
    static let stateValueBytes = 2_048
    static let stateTTLSeconds = 86_400.0
    /// Log (ParleyDB) or WAL (SQLite) left behind by the killed writer of `recover`.
    static let recoverLogBytes: Int64 = 64 << 20
    static let openRuns = 5
    static let sampleConversations = 200
    static let sampleUsers = 100
    /// Messages arrive one every 50 ms of simulated time on average.
    static let meanGapMicros = 50_000.0
    static let conversationSkew = 1.1
}
