// A parsed JSON value, as the importer reads one line. Objects keep their members in file order
// (keys are unique: the parser rejects duplicates), numbers keep integers exact.

import Parley

/// One JSON value of an imported line.
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// An integer literal (no fraction, no exponent) that fits in 64 bits.
    case int(Int64)
    /// Any other number: finite, correctly rounded.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as ``Metadata``: the same tree, objects turned into dictionaries.
    var metadata: Metadata {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .array(let items): return .array(items.map(\.metadata))
        case .object(let object):
            var fields: [String: Metadata] = [:]
            fields.reserveCapacity(object.members.count)
            for member in object.members { fields[member.key] = member.value.metadata }
            return .object(fields)
        }
    }

    /// A short name of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object: its members in the order they were read, each key once.
struct JSONObject: Sendable {
    var members: [(key: String, value: JSONValue)] = []

    /// The value under `key`, or nil when the object has no such member.
    subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }
}
