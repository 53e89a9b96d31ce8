import Crypto
import Testing

@testable import ShoalHashing

@Suite("The lookup-path MD5")
struct MD5WordsTests {
    @Test("equals swift-crypto's Insecure.MD5 for every length 0...300")
    func matchesSwiftCrypto() {
        var random = SplitMix(seed: 77)
        for length in 0...300 {
            for _ in 0..<4 {
                let input = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let ours = input.withUnsafeBytes { MD5Words.hash($0) }
                let theirs = input.withUnsafeBytes { KetamaDigest.words($0) }
                #expect(ours == theirs, "length \(length)")
            }
        }
    }

    @Test("RFC 1321 test suite")
    func rfcVectors() {
        let cases: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ]
        for (input, hex) in cases {
            let words = Array(input.utf8).withUnsafeBytes { MD5Words.hash($0) }
            let bytes = [words.0, words.1, words.2, words.3].flatMap { word in
                (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
            }
            #expect(
                bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                    .joined() == hex, "\(input)")
        }
    }
}
