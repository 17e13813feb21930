// The JSON parser, the JSON writer and RFC 3339 times, on their own.

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class JSONTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    private func metadata(_ text: String) throws -> Metadata { try parse(text).metadata }

    private func reason(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "(parsed)"
        } catch let error as JSONSyntaxError {
            return error.reason
        } catch {
            return "\(error)"
        }
    }

    func testScalarsAndNumbers() throws {
        XCTAssertEqual(try metadata(" null "), .null)
        XCTAssertEqual(try metadata("true"), .bool(true))
        XCTAssertEqual(try metadata("false"), .bool(false))
        XCTAssertEqual(try metadata("0"), .int(0))
        XCTAssertEqual(try metadata("-0"), .int(0))
        XCTAssertEqual(try metadata("9223372036854775807"), .int(.max))
        XCTAssertEqual(try metadata("-9223372036854775808"), .int(.min))
        XCTAssertEqual(try metadata("9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(try metadata("-9223372036854775809"), .double(-9_223_372_036_854_775_808.0), "rounded to the nearest double")
        XCTAssertEqual(try metadata("1.0"), .double(1))
        XCTAssertEqual(try metadata("1e2"), .double(100))
        XCTAssertEqual(try metadata("-2.5E-3"), .double(-0.0025))
        XCTAssertEqual(try metadata("0.1"), .double(0.1))
        XCTAssertEqual(try metadata("5e-324"), .double(.leastNonzeroMagnitude))
        XCTAssertEqual(try metadata("1e-400"), .double(0))
        for bad in ["01", "+1", "1.", ".5", "1e", "1e+", "-", "- 1", "0x10", "NaN", "Infinity", "1e400", "-1e400", "tru", "nul", "True"] {
            XCTAssertTrue(reason(bad).hasPrefix("invalid JSON"), "\(bad): \(reason(bad))")
        }
    }

    func testStrings() throws {
        XCTAssertEqual(try metadata(#""plain""#), "plain")
        XCTAssertEqual(try metadata(#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{08}\u{0C}\n\r\t")
        XCTAssertEqual(try metadata(#""\u00e9\u00C9\u0000\u001f""#), "éÉ\u{00}\u{1F}")
        XCTAssertEqual(try metadata(#""\ud83d\ude00 😀""#), "😀 😀")
        XCTAssertEqual(try metadata("\"e\u{301}\""), .string("e\u{301}"))
        if case .string(let text) = try parse("\"e\u{301}\"") {
            XCTAssertEqual(Array(text.utf8), [0x65, 0xCC, 0x81], "no normalization")
        }
        XCTAssertTrue(reason(#""\ud83d""#).contains("unpaired surrogate \\uD83D"))
        XCTAssertTrue(reason(#""\ude00""#).contains("unpaired surrogate"))
        XCTAssertTrue(reason(#""\ud83d\u0041""#).contains("unpaired surrogate"))
        XCTAssertTrue(reason(#""\x""#).contains("invalid escape \\'x'"))
        XCTAssertTrue(reason(#""\u12G4""#).contains("invalid \\u escape"))
        XCTAssertTrue(reason(#""\u12""#).contains("\\u escape"))
        XCTAssertTrue(reason("\"tab\there\"").contains("control character 0x09"))
        XCTAssertTrue(reason("\"open").contains("unterminated string"))
        XCTAssertEqual(reason("[\"a\", \"\u{7F}\"]"), "(parsed)", "DEL is not a control character for JSON")
    }

    func testStructures() throws {
        XCTAssertEqual(try metadata(#" { "a" : [ 1 , { } , [ ] ] , "b" : { "c" : null } } "#), ["a": [1, [:], []], "b": ["c": .null]])
        if case .object(let object) = try parse(#"{"z": 1, "a": 2, "m": 3}"#) {
            XCTAssertEqual(object.members.map(\.key), ["z", "a", "m"], "members keep file order")
        } else {
            XCTFail("not an object")
        }
        XCTAssertTrue(reason(#"{"a": 1, "a": 2}"#).contains("duplicate key \"a\""))
        let many = (0..<40).map { #""k\#($0)": \#($0)"# }.joined(separator: ",")
        XCTAssertEqual(reason("{\(many)}"), "(parsed)")
        XCTAssertTrue(reason("{\(many), \"k39\": 0}").contains("duplicate key \"k39\""), "duplicates found past the linear scan too")
        XCTAssertTrue(reason("{\"é\": 1, \"e\u{301}\": 2}").contains("duplicate key"), "canonically equal keys cannot both be metadata")
        XCTAssertTrue(reason("[1,]").hasPrefix("invalid JSON"))
        XCTAssertTrue(reason(#"{"a" 1}"#).contains("expected ':' after a key"))
        XCTAssertTrue(reason(#"{"a": 1,}"#).contains("expected a key"))
        XCTAssertTrue(reason("{1: 2}").contains("expected a key, found '1' at byte 2"))
        XCTAssertTrue(reason("[1 2]").contains("expected ',' or ']'"))
        XCTAssertTrue(reason("").contains("unexpected end of line"))
        XCTAssertEqual(reason(String(repeating: "[", count: 129) + String(repeating: "]", count: 129)), "(parsed)")
        XCTAssertTrue(reason(String(repeating: "[", count: 130) + String(repeating: "]", count: 130)).contains("nested deeper"))
        XCTAssertTrue(reason(String(repeating: "{\"a\":", count: 100_000)).contains("nested deeper"), "no stack overflow")
    }

    func testUTF8ErrorsNameTheField() {
        func reasonOf(_ bytes: [UInt8]) -> String {
            do {
                _ = try JSONParser.parse(bytes)
                return "(parsed)"
            } catch let error as JSONSyntaxError {
                return error.reason
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(reasonOf([0x22, 0xFF, 0x22]), "a string is not valid UTF-8")
        XCTAssertEqual(reasonOf(Array(#"{"a": [1, {"b": ""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)), "a[1].b is not valid UTF-8")
        XCTAssertEqual(reasonOf(Array(#"{"a": {""#.utf8) + [0x80] + Array(#"": 1}}"#.utf8)), "a key in a is not valid UTF-8")
        XCTAssertEqual(reasonOf(Array(#"{"a": "\n"#.utf8) + [0xF8] + Array(#""}"#.utf8)), "a is not valid UTF-8", "slow path too")
    }

    func testWriterEscapingAndNumbers() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("s")
        writer.string("q\" b\\ / \u{00}\u{08}\u{09}\u{0A}\u{0B}\u{0C}\u{0D}\u{1F}\u{7F} é 😀 \u{2028}")
        writer.key("i")
        writer.beginArray()
        for value: Int64 in [0, -1, 42, .max, .min] { writer.int(value) }
        writer.endArray()
        writer.key("d")
        writer.beginArray()
        for value in [0.1, 1.0, -0.0, 1e-5, 1e16, 1.2345678901234568e+17, .leastNonzeroMagnitude, .infinity, .nan] { writer.double(value) }
        writer.endArray()
        writer.key("m")
        writer.metadata(["b": 1, "a": [true, .null], "é": "x", "Z": 2.5, "": [:]])
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        XCTAssertEqual(
            text,
            #"{"s":"q\" b\\ / \u0000\b\t\n\u000B\f\r\u001F"# + "\u{7F} é 😀 \u{2028}" + #"","#
                + #""i":[0,-1,42,9223372036854775807,-9223372036854775808],"#
                + #""d":[0.1,1.0,-0.0,1e-05,1e+16,1.2345678901234568e+17,5e-324,null,null],"#
                + #""m":{"":{},"Z":2.5,"a":[true,null],"b":1,"é":"x"}}"#)
        // What the writer writes, the parser reads back to the same value.
        let value: Metadata = ["s": "q\" \u{00}\u{1F} é", "n": [0.1, -0.0, 1e300, .double(.leastNonzeroMagnitude), 2.5], "i": [.int(.min), .int(.max)]]
        var again = JSONWriter()
        again.metadata(value)
        XCTAssertEqual(try? JSONParser.parse(again.bytes).metadata, value)
    }

    func testRFC3339() {
        func micros(_ text: String) -> Int64? { RFC3339.parse(text)?.microseconds }
        XCTAssertEqual(micros("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(micros("2020-01-01T00:00:00Z"), 1_577_836_800_000_000)
        XCTAssertEqual(micros("2020-01-01t00:00:00z"), 1_577_836_800_000_000)
        XCTAssertEqual(micros("2020-01-01 00:00:00Z"), 1_577_836_800_000_000)
        XCTAssertEqual(micros("2020-01-01T05:30:00+05:30"), 1_577_836_800_000_000)
        XCTAssertEqual(micros("2019-12-31T16:00:00-08:00"), 1_577_836_800_000_000)
        XCTAssertEqual(micros("2020-01-01T00:00:00.5Z"), 1_577_836_800_500_000)
        XCTAssertEqual(micros("2020-01-01T00:00:00.123456Z"), 1_577_836_800_123_456)
        XCTAssertEqual(micros("2020-01-01T00:00:00.1234569Z"), 1_577_836_800_123_456, "below a microsecond is dropped")
        XCTAssertEqual(micros("1969-12-31T23:59:59.5Z"), -500_000)
        XCTAssertEqual(micros("2024-02-29T00:00:00Z"), 1_709_164_800_000_000)
        XCTAssertEqual(micros("2000-03-01T00:00:00Z"), 951_868_800_000_000)
        XCTAssertEqual(micros("1900-03-01T00:00:00Z"), -2_203_891_200_000_000)
        XCTAssertEqual(micros("0000-01-01T00:00:00Z"), -62_167_219_200_000_000)
        XCTAssertEqual(micros("0001-01-01T00:00:00Z"), -62_135_596_800_000_000)
        XCTAssertEqual(micros("9999-12-31T23:59:59.999999Z"), 253_402_300_799_999_999)
        XCTAssertEqual(micros("2016-12-31T23:59:60Z"), 1_483_228_800_000_000, "a leap second is the next minute's first")
        for bad in [
            "", "2020-01-01", "2020-01-01T00:00:00", "2020-1-01T00:00:00Z", "2020-01-01T00:00Z", "2020-01-01T00:00:00.Z",
            "2020-13-01T00:00:00Z", "2020-00-01T00:00:00Z", "2020-01-32T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
            "2020-01-01T24:00:00Z", "2020-01-01T00:60:00Z", "2020-01-01T00:00:61Z", "2020-01-01T00:00:00+24:00", "2020-01-01T00:00:00+0100",
            "2020-01-01T00:00:00Z ", "+2020-01-01T00:00:00Z", "２０２０-01-01T00:00:00Z",
        ] {
            XCTAssertNil(micros(bad), bad)
        }
    }
}
