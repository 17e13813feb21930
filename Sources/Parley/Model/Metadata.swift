// Metadata: a JSON-compatible value attached to users, conversations and messages. It is Codable
// for the edges (import, export, the REPL) and has a compact binary form for storage
// (`MetadataCodec`), so hot paths never touch JSON.

/// A JSON-compatible value: null, a boolean, a number, a string, an array or an object.
///
/// Integers that fit in 64 bits are kept exactly as ``int(_:)``; other numbers are ``double(_:)``.
/// Objects compare equal regardless of key order.
public enum Metadata: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([Metadata])
    case object([String: Metadata])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([Metadata].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: Metadata].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a JSON value"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value under `key` when this is an object.
    public subscript(key: String) -> Metadata? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}

extension Metadata: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: Metadata...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Metadata)...) {
        var fields: [String: Metadata] = [:]
        for (key, value) in elements { fields[key] = value }
        self = .object(fields)
    }
}
