import Testing

@testable import ShoalHashing

@Suite("Hash functions match their references")
struct HashFunctionReferenceTests {
    /// The input buffer that scripts/vectors/xxh64_vectors.py hashes.
    static let buffer: [UInt8] = {
        var state: UInt64 = 2_654_435_761
        return (0..<2048).map { _ in
            defer { state = state &* 11_400_714_785_074_694_797 }
            return UInt8(state >> 56)
        }
    }()

    @Test("XXH64 equals the xxHash library on 1,072 length and seed pairs")
    func xxh64Vectors() throws {
        let rows = try ReferenceVectors.csvRows("xxh64.csv")
        #expect(rows.count == 268 * 4)
        for row in rows {
            let length = Int(row[0])!
            let seed = UInt64(row[1])!
            let expected = UInt64(row[2], radix: 16)!
            let actual = Self.buffer.prefix(length).withUnsafeBytes { XXH64.hash($0, seed: seed) }
            #expect(actual == expected, "length \(length), seed \(seed)")
        }
    }

    @Test("XXH64 of well-known strings")
    func xxh64Known() {
        #expect(XXH64.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash("abc") == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash("Nobody inspects the spammish repetition") == 0xFBCE_A83C_8A37_8BF1)
    }

    @Test("jump equals the paper's reference function on 2,060 keys")
    func jumpVectors() throws {
        let rows = try ReferenceVectors.csvRows("jump.csv")
        #expect(rows.count == 2060)
        for row in rows {
            let key = UInt64(row[0])!
            let buckets = Int(row[1])!
            #expect(JumpHash.bucket(for: key, bucketCount: buckets) == Int(row[2])!, "key \(key), \(buckets) buckets")
        }
    }
}
