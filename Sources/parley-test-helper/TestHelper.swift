// A second process for the engine's tests: things one process cannot show about itself, such as
// a file lock held by another process, or a writer killed in the middle of its work.
//
//   parley-test-helper open PATH           open the database, print "opened" or the error; exit 0/3
//   parley-test-helper hold PATH           open it, print "holding", wait until stdin closes
//   parley-test-helper commit PATH MODE    commit forever in durability MODE (full, normal, async);
//                                          after commit i returns, print i. Commit i sets
//                                          "counter" = i and "k<i % 50>" = i in tree "kill".

@preconcurrency import Glibc
import ParleyEngine

@main
struct TestHelper {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            FileHandleOutput.error("usage: parley-test-helper open|hold PATH")
            exit(2)
        }
        let command = arguments[1]
        let path = arguments[2]
        switch command {
        case "open":
            do {
                let engine = try StorageEngine.open(path: path)
                print("opened")
                engine.close()
                exit(0)
            } catch {
                print("error: \(error)")
                exit(3)
            }
        case "hold":
            do {
                let engine = try StorageEngine.open(path: path)
                print("holding")
                fflush(nil)
                while readLine() != nil {}
                engine.close()
                exit(0)
            } catch {
                print("error: \(error)")
                exit(3)
            }
        case "commit":
            guard arguments.count >= 4, let mode = Durability(rawValue: arguments[3]) else {
                FileHandleOutput.error("usage: parley-test-helper commit PATH full|normal|async")
                exit(2)
            }
            commitForever(path: path, mode: mode)
        default:
            FileHandleOutput.error("unknown command \(command)")
            exit(2)
        }
    }
}

enum FileHandleOutput {
    static func error(_ text: String) {
        fputs(text + "\n", stderr)
    }
}

/// Commits until killed, reporting each acknowledged commit on standard output.
func commitForever(path: String, mode: Durability) -> Never {
    var options = DatabaseOptions()
    options.durability = mode
    options.syncInterval = 0.005
    // Small budgets so that checkpoints and log resets happen while the parent kills us.
    options.memtableBudget = 64 << 10
    options.checkpointAge = 0.05
    options.logPreallocation = 256 << 10
    options.logGrowthStep = 64 << 10
    do {
        let engine = try Engine.open(path: path, options: options)
        var next: UInt64 = try engine.read { snapshot in
            guard try snapshot.treeExists("kill"), let bytes = try snapshot.get("kill", Array("counter".utf8)) else { return 1 }
            return (UInt64(String(decoding: bytes, as: UTF8.self)) ?? 0) + 1
        }
        while true {
            let value = Array(String(next).utf8)
            try engine.write { txn in
                if !(try txn.treeExists("kill")) { try txn.createTree("kill") }
                try txn.put("kill", Array("counter".utf8), value)
                try txn.put("kill", Array("k\(next % 50)".utf8), value + Bytes(repeating: 0x2E, count: Int(next % 300)))
            }
            print(next)
            fflush(nil)
            next += 1
        }
    } catch {
        print("error: \(error)")
        exit(3)
    }
}
