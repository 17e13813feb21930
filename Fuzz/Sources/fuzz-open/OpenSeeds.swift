// Seeds of the `open` target: real chat stores the store itself wrote. A closed one (one file), an
// empty one, a compacted copy, and one with commits still in its log (not yet checkpointed, as a
// crash leaves it); each as it is and with checksum repair on.

import FuzzSupport
import Parley

enum OpenSeeds {
    static func make() throws -> [Seed] {
        var seeds: [Seed] = []
        func add(_ name: String, _ files: (database: [UInt8], log: [UInt8])) {
            let database = ChecksumRepair.trimDatabase(files.database)
            let log = ChecksumRepair.trimLog(files.log)
            for flags: UInt8 in [0, 3] {
                var writer = FuzzWriter()
                writer.byte(flags)
                writer.u32(UInt32(database.count))
                writer.bytes(database)
                writer.bytes(log)
                seeds.append(Seed("\(name)-flags\(flags)", writer.bytes))
            }
        }

        // Empty, closed.
        do {
            let disk = SimulatedDisk()
            try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk)).close()
            add("empty", FuzzDatabase.files(on: disk))
        }
        // A sample, closed; then its compacted copy.
        do {
            let disk = SimulatedDisk()
            let clock = FuzzClock()
            let database = try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock))
            try SampleChat.fill(database, clock: clock, messages: 24)
            try database.backup(to: "/copy.parley")
            try database.close()
            add("closed", FuzzDatabase.files(on: disk))
            add("compacted", (disk.durableBytes(path: "/copy.parley") ?? [], []))
        }
        // A sample checkpointed, then more commits left in the log: what a crash leaves.
        do {
            let disk = SimulatedDisk()
            let clock = FuzzClock()
            let database = try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock))
            let ids = try SampleChat.fill(database, clock: clock, messages: 12)
            try database.checkpoint()
            for index in 0..<6 {
                clock.advance(by: 1_000_000)
                try database.append(NewMessage(sender: "alice", text: "after the checkpoint \(index)"), to: ids[0])
            }
            try database.setState(.custom("k"), value: [7], ttl: 10)
            try database.deleteConversation(ids[1])
            add("log", FuzzDatabase.files(on: disk))
        }
        return seeds
    }
}
