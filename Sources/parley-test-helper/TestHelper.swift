// A second process for the engine's tests: things one process cannot show about itself, such as
// a file lock held by another process, or a writer killed in the middle of its work.
//
//   parley-test-helper open PATH           open the database, print "opened" or the error; exit 0/3
//   parley-test-helper hold PATH           open it, print "holding", wait until stdin closes

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
