// Running this binary as a child for `open` and `recover`, and reading its "key value" lines.

extension BenchRun {
    /// Runs a hidden subcommand to its end; fails unless it exits with status 0.
    func runChild(_ arguments: [String]) throws -> [String: String] {
        let child = try ChildProcess(program: try ChildProcess.selfExecutable(), arguments: arguments)
        let lines = try child.readAllLines()
        let status = try child.wait()
        guard status == 0 else { throw BenchError("child \(arguments.first ?? "") failed with status \(status)") }
        return Self.fields(lines)
    }

    static func fields(_ lines: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            out[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return out
    }

    /// The child's open + recent time in milliseconds.
    func childOpen(_ engine: EngineName, path: String, conversation: String, count: Bool = false) throws -> (ms: Double, fields: [String: String]) {
        var arguments = ["child-open", "--engine", engine.rawValue, "--path", path, "--conversation", conversation]
        if count { arguments.append("--count") }
        let fields = try runChild(arguments)
        guard let text = fields["elapsed_ns"], let nanos = Double(text) else { throw BenchError("child-open printed no time") }
        return (nanos / 1e6, fields)
    }

    /// The conversation `open` and `recover` read: the busiest, as each engine names it.
    var probeConversation: (parley: String, sqlite: String) {
        let conversation = Int(population.busiest[0])
        return (parley.ids[conversation].description, String(SQLiteSide.conversationID(conversation)))
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
