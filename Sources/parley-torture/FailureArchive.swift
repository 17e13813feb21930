// What a failing cycle leaves behind, and how a rerun picks it up. The database carries over from
// cycle to cycle, so a cycle's seed alone does not reproduce it: the archive holds the database
// files as the cycle found them and the model that matched them, and `--from` starts a run there.

import FoundationEssentials

/// The files of a work directory.
struct WorkPaths {
    let directory: String

    /// The database the writers use, left as the last kill left it.
    var live: String { directory + "/torture.parley" }
    /// The copy the parent reopens and checks (the live files stay for the next writer to recover).
    var check: String { directory + "/check.parley" }
    /// The live files as the current cycle found them, before its writer ran.
    var start: String { directory + "/start.parley" }
    var startModel: String { directory + "/model-start.json" }
    var writerError: String { directory + "/writer.stderr" }
    var writerOutput: String { directory + "/writer.out" }
    var failureReport: String { directory + "/failure.txt" }

    static func wal(_ database: String) -> String { database + "-wal" }

    /// A database and its log, the files a copy must carry.
    static func files(_ database: String) -> [String] { [database, wal(database)] }

    func copyDatabase(_ source: String, to destination: String) throws {
        for (from, to) in zip(Self.files(source), Self.files(destination)) { try Files.copy(from, to: to) }
    }

    /// Removes a database with its log and whatever a killed creation, backup or compaction left
    /// beside it (`-creating`, `-compact`, `-compact-partial`, ...): every file named after it.
    func removeDatabase(_ database: String) throws {
        let name = String(database.split(separator: "/").last ?? "")
        guard !name.isEmpty else { return }
        for entry in try Files.list(directory) where entry.hasPrefix(name) { try Files.remove(directory + "/" + entry) }
    }

    /// Removes every file the tool may have created here.
    func removeAll() throws {
        for database in [live, check, start] { try removeDatabase(database) }
        for file in [startModel, writerError, writerOutput, failureReport] { try Files.remove(file) }
    }
}

enum FailureArchive {
    static func saveModel(_ model: Model, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(model)
        try Files.write(Array(data), to: path)
        // The rerun depends on this file: make sure it reads back as the same model.
        guard try loadModel(from: path) == model else {
            throw TortureError.system("the model saved to \(path) does not read back the same")
        }
    }

    static func loadModel(from path: String) throws -> Model {
        do {
            return try JSONDecoder().decode(Model.self, from: Data(try Files.read(path)))
        } catch let error as TortureError {
            throw error
        } catch {
            throw TortureError.usage("\(path) is not a model saved by parley-torture: \(error)")
        }
    }

    /// Starts the work directory at `paths` from an archive in `source`.
    static func restore(from source: String, into paths: WorkPaths) throws -> Model {
        let archive = WorkPaths(directory: source)
        guard Files.exists(archive.startModel) else {
            throw TortureError.usage("\(source) holds no model-start.json: pass the directory a failing run kept")
        }
        let model = try loadModel(from: archive.startModel)
        try paths.removeDatabase(paths.live)
        try paths.copyDatabase(archive.start, to: paths.live)
        return model
    }
}
