// Seeds of the `log` target: for each scenario, the log untouched, cut inside a record, with a
// flipped payload byte (as is, and with checksums repaired), with a record duplicated over the
// next one, and with power failing during recovery.

import FuzzSupport

enum LogSeeds {
    static func make() -> [Seed] {
        var seeds: [Seed] = []
        for (index, scenario) in LogScenarios.all.enumerated() {
            let records = LogEdits.recordOffsets(scenario.log)
            let middle = records.isEmpty ? 4096 : records[records.count / 2]
            func seed(_ name: String, flags: UInt8 = 0, budget: UInt8 = 0, _ edits: (inout FuzzWriter) -> Void = { _ in }) {
                var writer = FuzzWriter()
                writer.byte(UInt8(index))
                writer.byte(flags)
                writer.byte(budget)
                edits(&writer)
                seeds.append(Seed("\(scenario.name)-\(name)", writer.bytes))
            }
            seed("intact")
            seed("cut") { writer in
                writer.byte(2)
                writer.varint(UInt64(middle + 20))
            }
            for flags: UInt8 in [0, 1] {
                seed("flipped-flags\(flags)", flags: flags) { writer in
                    writer.byte(1)
                    writer.varint(UInt64(middle + 24))
                    writer.byte(0x40)
                }
            }
            if records.count >= 3 {
                let length = records[2] - records[1]
                seed("duplicated") { writer in
                    writer.byte(5)
                    writer.varint(UInt64(records[1]))
                    writer.varint(UInt64(length - 1))
                    writer.varint(UInt64(records[2]))
                }
            }
            seed("crash", flags: 2, budget: 3)
        }
        return seeds
    }
}
