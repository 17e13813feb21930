// Seeds of the `import` target: the export of a real sample store (what the exporter writes),
// the same gzipped, and hand-written lines for what only imports meet (made-up times, RFC 3339
// strings, a foreign id, statuses, escapes, bad lines among good ones).

import FuzzSupport
import Parley
import ParleyInterchange

enum ImportSeeds {
    static func make() throws -> [Seed] {
        let disk = SimulatedDisk()
        let clock = FuzzClock()
        let database = try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock))
        try SampleChat.fill(database, clock: clock, messages: 20)
        let exported = try Exporter.exportBytes(from: database)
        try database.close()
        let handWritten = [
            #"{"id": "sgd/dev/1_00000", "participants": ["USER", "SYSTEM"], "messages": [{"sender": "USER", "text": "Hi"}, {"sender": "SYSTEM", "role": "assistant", "text": "Hello"}]}"#,
            #"{"platform": "slack", "external_id": "C9", "title": "T\u00e9st \ud83d\ude00", "status": "archived", "participants": ["a"], "metadata": {"k": [1, 2.5e3, -0.0, null, true, "x"]}, "messages": [{"sender": "b", "text": "late", "created_at": "2023-11-14T22:13:20.123456+01:00", "tokens": 3, "status": "failed", "content_type": "text/markdown", "metadata": {"n": 1}, "attachments": [{"uri": "s3://x", "mime_type": "image/png", "size": 12, "name": "p.png"}]}, {"sender": "a", "role": "system", "text": "early", "created_at": 1600000000000000}]}"#,
            #"{"participants": ["z"], "status": "closed", "messages": [{"sender": "z", "role": "tool", "text": "line\nbreak\t\"quoted\"\\"}]}"#,
            #"not json"#,
            #"{"id": "dup", "participants": ["a"]}"#,
            #"{"id": "dup", "participants": ["b"]}"#,
            #"{"participants": "nobody"}"#,
            "",
            #"{"id": "t", "participants": ["a"], "messages": [{"sender": "a", "text": "x", "created_at": "1970-01-01T00:00:00Z"}, {"sender": "a", "text": "y", "created_at": -1}, {"sender": "a", "text": "y", "created_at": "9999-12-31T23:59:59.999999Z"}]}"#,
        ]
        let lines = Array(handWritten.joined(separator: "\n").utf8)
        return [
            Seed("export", exported),
            Seed("export-gzip", Gzip.stored(exported)),
            Seed("lines", lines),
            Seed("lines-crlf", Array(handWritten.joined(separator: "\r\n").utf8)),
            Seed("lines-gzip", Gzip.stored(lines)),
        ]
    }
}
