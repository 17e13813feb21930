// Metadata in binary: a tag byte, then the value. Objects are written with their keys in byte
// order, so equal metadata always encodes to equal bytes. Decoding limits depth and counts.

enum MetadataCodec {
    private enum Tag: UInt8 {
        case null = 0, `false` = 1, `true` = 2, int = 3, double = 4, string = 5, array = 6, object = 7
    }

    static func encode(_ value: Metadata, into writer: inout ByteWriter) {
        switch value {
        case .null: writer.byte(Tag.null.rawValue)
        case .bool(let flag): writer.byte(flag ? Tag.true.rawValue : Tag.false.rawValue)
        case .int(let number):
            writer.byte(Tag.int.rawValue)
            writer.zigzag(number)
        case .double(let number):
            writer.byte(Tag.double.rawValue)
            writer.littleEndian64(number.bitPattern)
        case .string(let text):
            writer.byte(Tag.string.rawValue)
            writer.string(text)
        case .array(let items):
            writer.byte(Tag.array.rawValue)
            writer.varint(UInt64(items.count))
            for item in items { encode(item, into: &writer) }
        case .object(let fields):
            writer.byte(Tag.object.rawValue)
            writer.varint(UInt64(fields.count))
            for key in fields.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                writer.string(key)
                if let field = fields[key] { encode(field, into: &writer) }
            }
        }
    }

    static func encode(_ value: Metadata) -> [UInt8] {
        var writer = ByteWriter()
        encode(value, into: &writer)
        return writer.bytes
    }

    static func decode(from reader: inout ByteReader, depth: Int = 0) throws -> Metadata {
        guard depth <= Limits.maximumMetadataDepth else { throw DecodeFailure("metadata nested too deep") }
        guard let tag = Tag(rawValue: try reader.byte()) else { throw DecodeFailure("unknown metadata tag") }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return .int(try reader.zigzag())
        case .double: return .double(Double(bitPattern: try reader.littleEndian64()))
        case .string: return .string(try reader.string(limit: reader.remaining))
        case .array:
            // Every item takes at least one byte, which bounds the count by what is left.
            let count = try reader.count(limit: reader.remaining)
            var items: [Metadata] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try decode(from: &reader, depth: depth + 1)) }
            return .array(items)
        case .object:
            let count = try reader.count(limit: reader.remaining / 2)
            var fields: [String: Metadata] = [:]
            fields.reserveCapacity(count)
            for _ in 0..<count {
                let key = try reader.string(limit: reader.remaining)
                fields[key] = try decode(from: &reader, depth: depth + 1)
            }
            return .object(fields)
        }
    }

    /// Checks a caller's metadata against the depth limit before it is stored.
    static func validate(_ value: Metadata, depth: Int = 0) throws {
        guard depth <= Limits.maximumMetadataDepth else {
            throw ParleyError.invalidArgument("metadata is nested deeper than \(Limits.maximumMetadataDepth) levels")
        }
        switch value {
        case .array(let items): for item in items { try validate(item, depth: depth + 1) }
        case .object(let fields): for item in fields.values { try validate(item, depth: depth + 1) }
        default: break
        }
    }
}
