// What a run was: scale, seed, corpus, build, versions, machine and date, for the table's header
// and the JSON file.

import CSQLite
import Glibc
import Parley

struct MachineInfo: Sendable {
    let kernel: String
    let cpu: String
    let cores: Int
    let memoryBytes: Int64

    static func current() -> MachineInfo {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        let kernel = "\(field(names.sysname)) \(field(names.release)) \(field(names.machine))"
        var cpu = "unknown CPU"
        if let text = Files.readText("/proc/cpuinfo"),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = String(line[line.index(after: colon)...].trimmingSpaces)
        }
        let memory = ProcessMemory.fieldOf(file: "/proc/meminfo", "MemTotal") ?? 0
        return MachineInfo(kernel: kernel, cpu: cpu, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), memoryBytes: memory)
    }
}

struct RunInfo: Sendable {
    let scale: Scale
    let seed: UInt64
    let corpus: String
    let configuration: String
    let parleyVersion: String
    let sqliteVersion: String
    let machine: MachineInfo
    /// RFC 3339, UTC, when the run started.
    let date: String

    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }
}
