// Seeds of the `block` target: the blocks a real chat store sealed (LZ4 ones, and small raw ones
// LZ4 could not shrink), each in the three modes.

import FuzzSupport
import Parley

enum BlockSeeds {
    static func make() throws -> [Seed] {
        var blocks: [(header: [UInt8], body: [UInt8])] = []
        for (count, target) in [(40, 1024), (3, 1024), (1, 1024), (90, 4096)] {
            let disk = SimulatedDisk()
            let clock = FuzzClock()
            let database = try Database.open(
                path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock, blockTargetBytes: target))
            try SampleChat.fill(database, clock: clock, messages: count)
            try database.close()
            let headers = try SampleChat.entries(of: "chat.blocks", on: disk)
            let bodies = Dictionary(try SampleChat.entries(of: "chat.blockdata", on: disk).map { ($0.key, $0.value) }) { a, _ in a }
            for (key, header) in headers {
                if let body = bodies[key] { blocks.append((header, body)) }
            }
        }
        // Keep the corpus small: the distinct shapes are few.
        var seeds: [Seed] = []
        for (index, block) in blocks.prefix(12).enumerated() {
            for mode: UInt8 in [0, 1, 2] {
                var writer = FuzzWriter()
                writer.byte(mode)
                writer.u16(UInt16(block.header.count))
                writer.bytes(block.header)
                writer.bytes(block.body)
                seeds.append(Seed("\(index)-mode\(mode)-\(block.header[1] == 0 ? "raw" : "lz4")", writer.bytes))
            }
        }
        return seeds
    }
}
