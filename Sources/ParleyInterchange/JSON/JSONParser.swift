// A strict JSON parser (RFC 8259) for one line of an import: UTF-8 checked in every string and
// key, control characters refused inside strings, lone surrogates refused, duplicate keys
// refused, nesting bounded (so hostile input cannot exhaust the stack), integers exact.

/// Why a line is not acceptable JSON; `reason` is meant for people.
struct JSONSyntaxError: Error, Equatable, Sendable {
    let reason: String
}

/// Parses one JSON text held in bytes.
struct JSONParser {
    /// Deepest nesting of arrays and objects accepted (metadata may nest 64 levels inside a line).
    static let maximumDepth = 128

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    private let bytes: [UInt8]
    private var index = 0
    /// Where the parser is, kept to name the field of a string that is not UTF-8.
    private var path: [PathComponent] = []

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses `bytes` as exactly one JSON value, optionally surrounded by whitespace.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected \(parser.describeCurrent()) after the value") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of line") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth))
        case UInt8(ascii: "\""): return .string(try parseString(isKey: false))
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw failure("unexpected \(describeCurrent())")
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONObject {
        index += 1
        var object = JSONObject()
        var seen: Set<String>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return object
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure(index < bytes.count ? "expected a key, found \(describeCurrent())" : "unexpected end of line")
            }
            let key = try parseString(isKey: true)
            // A linear scan for small objects; a set once they grow.
            if var keys = seen {
                guard keys.insert(key).inserted else { throw failure("duplicate key \(quoted(key))") }
                seen = keys
            } else {
                if object.members.contains(where: { $0.key == key }) { throw failure("duplicate key \(quoted(key))") }
                if object.members.count >= 16 {
                    var keys = Set(object.members.map(\.key))
                    keys.insert(key)
                    seen = keys
                }
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after a key")
            path.append(.key(key))
            let value = try parseValue(depth: depth + 1)
            path.removeLast()
            object.members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of line") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return object
        }
    }

    private mutating func parseArray(depth: Int) throws -> [JSONValue] {
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return items
        }
        while true {
            path.append(.index(items.count))
            items.append(try parseValue(depth: depth + 1))
            path.removeLast()
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of line") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return items
        }
    }

    // MARK: - Strings

    private mutating func parseString(isKey: Bool) throws -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try makeString(bytes[start..<index], isKey: isKey)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("control character 0x\(hex(byte)) in a string (it must be escaped)") }
            index += 1
        }
        var buffer = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let text = try makeString(buffer[...], isKey: isKey)
                index += 1
                return text
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            default:
                guard byte >= 0x20 else { throw failure("control character 0x\(hex(byte)) in a string (it must be escaped)") }
                buffer.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string")
    }

    /// Reads one escape sequence (the backslash is at `index`) and appends its UTF-8.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws {
        index += 1
        guard index < bytes.count else { throw failure("unterminated string") }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(letter)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate \\u\(hex16(unit)) in a string")
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate \\u\(hex16(unit)) in a string") }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw failure("unpaired surrogate \\u\(hex16(unit)) in a string")
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw failure("invalid \\u escape") }
            buffer.append(contentsOf: String(Character(scalar)).utf8)
        default:
            index -= 1
            throw failure("invalid escape \\\(describeByte(letter)) in a string")
        }
    }

    private mutating func parseHex4() throws -> UInt16 {
        guard index + 4 <= bytes.count else { throw failure("unterminated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private func makeString(_ utf8: ArraySlice<UInt8>, isKey: Bool) throws -> String {
        if let text = String(validating: utf8, as: UTF8.self) { return text }
        let place = pathDescription
        if isKey { throw JSONSyntaxError(reason: place.isEmpty ? "a key is not valid UTF-8" : "a key in \(place) is not valid UTF-8") }
        throw JSONSyntaxError(reason: place.isEmpty ? "a string is not valid UTF-8" : "\(place) is not valid UTF-8")
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let integerEnd = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number: a digit must follow '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number: a digit must follow the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if isInteger, let exact = exactInteger(bytes[(negative ? start + 1 : start)..<integerEnd], negative: negative) {
            return .int(exact)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            index = start
            throw failure("number \(text) is out of range")
        }
        return .double(number)
    }

    /// The digits as an `Int64`, or nil when they do not fit (the caller falls back to a double).
    private func exactInteger(_ digits: ArraySlice<UInt8>, negative: Bool) -> Int64? {
        // Accumulate negatively so that Int64.min fits.
        var value: Int64 = 0
        for byte in digits {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = next
        }
        if negative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    // MARK: - Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard index < bytes.count else { throw failure("unexpected end of line") }
        guard bytes[index] == byte else { throw failure("expected \(what), found \(describeCurrent())") }
        index += 1
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            index + count <= bytes.count && bytes[index..<(index + count)].elementsEqual(expected)
        }
        guard matches else { throw failure("unexpected \(describeCurrent())") }
        index += count
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func failure(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: "invalid JSON: \(reason) at byte \(index + 1)")
    }

    private func describeCurrent() -> String {
        index < bytes.count ? describeByte(bytes[index]) : "end of line"
    }

    private func describeByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(hex(byte))"
    }

    private var pathDescription: String {
        var out = ""
        for component in path {
            switch component {
            case .key(let key): out += out.isEmpty ? key : ".\(key)"
            case .index(let position): out += "[\(position)]"
            }
        }
        return out
    }
}

/// Two uppercase hexadecimal digits.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

private func hex16(_ unit: UInt16) -> String {
    hex(UInt8(truncatingIfNeeded: unit >> 8)) + hex(UInt8(truncatingIfNeeded: unit))
}

/// `text` as a JSON string literal, for error messages that quote input.
func quoted(_ text: String) -> String { JSONWriter.literal(text) }
