import XCTest
@testable import ParleyEngine

/// The checkpoint preparation is told why a checkpoint runs: the chat store leaves some sealing
/// for later only in checkpoints the engine started itself.
final class CheckpointOriginTests: XCTestCase {
    private func recordOrigins(_ engine: Engine) -> SharedLocked<[CheckpointOrigin]> {
        let origins = SharedLocked<[CheckpointOrigin]>([])
        engine.setCheckpointPreparation { origin in origins.withLock { $0.append(origin) } }
        return origins
    }

    func testRequestedCheckpointsAndCloseAreRequested() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/o.parley", options: testOptions(.normal, background: false))
        let origins = recordOrigins(engine)
        _ = try engine.write { try $0.createTree("t") }
        try engine.checkpoint()
        try engine.write { try $0.put("t", [1], [1]) }
        try engine.close()
        XCTAssertEqual(origins.withLock { $0 }, [.requested, .requested])
    }

    /// A writer past the memtable's budget checkpoints on its own thread: the engine's doing.
    func testBackpressureCheckpointIsAutomatic() throws {
        let directory = try temporaryDirectory(self)
        var options = testOptions(.normal, background: false)
        options.memtableBudget = 64 << 10
        options.checkpointAge = 1e9
        let engine = try Engine.open(path: directory + "/o.parley", options: options)
        let origins = recordOrigins(engine)
        _ = try engine.write { try $0.createTree("t") }
        for i in 0..<400 { try engine.write { try $0.put("t", Array("key \(i)".utf8), Bytes(repeating: 7, count: 500)) } }
        XCTAssertFalse(origins.withLock { $0 }.isEmpty, "400 commits of 500 bytes pass a 64 KiB budget")
        XCTAssertEqual(Set(origins.withLock { $0 }), [.automatic])
        try engine.close()
        XCTAssertEqual(origins.withLock { $0 }.last, .requested)
    }

    /// The background thread's checkpoint, started by the memtable passing its trigger.
    func testBackgroundCheckpointIsAutomatic() throws {
        let directory = try temporaryDirectory(self)
        var options = testOptions(.normal, background: true)
        options.memtableBudget = 1 << 30
        options.checkpointAge = 0.05
        options.syncInterval = 0.005
        let engine = try Engine.open(path: directory + "/o.parley", options: options)
        let origins = recordOrigins(engine)
        _ = try engine.write { try $0.createTree("t") }
        try engine.write { try $0.put("t", [1], [1]) }
        let deadline = Date(timeIntervalSinceNow: 20)
        while origins.withLock({ $0.isEmpty }), Date() < deadline { usleep(5_000) }
        XCTAssertEqual(origins.withLock { $0.first }, .automatic, "the memtable's age starts a background checkpoint")
        try engine.close()
    }
}
