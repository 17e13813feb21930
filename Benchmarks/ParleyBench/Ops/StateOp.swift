// state: per-conversation state of about 2 KB with a 24 h TTL, half sets (each its own
// transaction, durability normal) and half gets, on conversations drawn with the workload's
// skew. The same sequence runs on both engines, so the gets must find the same values.

import Parley

extension BenchRun {
    func state() throws {
        var random = SplitMix64(seed: seed, stream: RandomStream.state.rawValue)
        let operations: [(conversation: Int, isSet: Bool)] = (0..<scale.queries).map { _ in
            (population.skewedConversation(&random), random.chance(0.5))
        }
        // A pool of printable bytes; value i is a header naming i, then a slice of the pool.
        let pool: [UInt8] = (0..<(2 * WorkloadConstants.stateValueBytes)).map { _ in UInt8(32 + random.below(95)) }
        func value(_ index: Int) -> [UInt8] {
            let header = Array("{\"op\":\(index),\"data\":\"".utf8)
            let start = (index &* 37) % WorkloadConstants.stateValueBytes
            return header + pool[start..<(start + WorkloadConstants.stateValueBytes - header.count - 2)] + Array("\"}".utf8)
        }

        var parleyTimes = LatencyRecorder()
        var parleyFound = StateTotals()
        var sqliteTimes = LatencyRecorder()
        var sqliteFound = StateTotals()
        let side = try sqliteSide()
        // Warmed like the queries' files (QueryOps.swift says why).
        var cached = CachedAtStart(parley: Residency())
        for pass in 0..<2 {
            if pass == 0 { cached.parley = warmParleyFiles() } else { cached.sqlite = warmSQLiteFiles() }
            var start = 0
            while start < operations.count {
                // Values are built outside the clock, a chunk at a time.
                let end = min(start + 1_000, operations.count)
                let values = (start..<end).map { operations[$0].isSet ? value($0) : [] }
                for index in start..<end {
                    let operation = operations[index]
                    if pass == 0 {
                        if operation.isSet {
                            try parleyTimes.measure { try parley.setState(operation.conversation, values[index - start]) }
                        } else {
                            parleyFound.add(try parleyTimes.measure { try parley.state(operation.conversation) })
                        }
                    } else {
                        if operation.isSet {
                            try sqliteTimes.measure {
                                try side.setState(operation.conversation, values[index - start], now: Timestamp.now().microseconds)
                            }
                        } else {
                            sqliteFound.add(try sqliteTimes.measure {
                                try side.state(operation.conversation, now: Timestamp.now().microseconds)
                            })
                        }
                    }
                }
                start = end
            }
        }
        log("state: ParleyDB \(Format.fixed(parleyTimes.rate, 0)) ops/s, SQLite \(Format.fixed(sqliteTimes.rate, 0)) ops/s")
        report.add(ResultRow(
            operation: "state", name: "state", unit: "ops/s", better: .higher, parley: parleyTimes.rate, sqlite: sqliteTimes.rate,
            parleyLatency: parleyTimes.latency, sqliteLatency: sqliteTimes.latency,
            note: "\(Format.grouped(Int64(operations.count))) operations, 50% set (one transaction each, durability normal) / 50% get, \(WorkloadConstants.stateValueBytes)-byte values, 24 h TTL; \(parleyFound.hits) of \(parleyFound.gets) gets found a value; " + cached.note))
        if parleyFound == sqliteFound {
            report.checks.append("state: both engines found \(parleyFound.hits) values in \(parleyFound.gets) gets, same bytes (checksum \(String(parleyFound.checksum, radix: 16)))")
        } else {
            report.fail("state: ParleyDB found \(parleyFound.hits) values (checksum \(String(parleyFound.checksum, radix: 16))), SQLite \(sqliteFound.hits) (checksum \(String(sqliteFound.checksum, radix: 16)))")
        }
    }
}

/// What the gets of one engine found.
struct StateTotals: Equatable {
    var gets = 0
    var hits = 0
    var checksum: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ value: [UInt8]?) {
        gets += 1
        guard let value else { return }
        hits += 1
        for byte in value { checksum = (checksum ^ UInt64(byte)) &* 0x100_0000_01B3 }
    }
}
