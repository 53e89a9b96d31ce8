/// MD5 (RFC 1321) for the ketama key-lookup path: no allocation, no locks.
///
/// swift-crypto's `Insecure.MD5` allocates a digest context object for every hash, which is
/// most of a ketama lookup's time and breaks Shoal's rule that lookups allocate nothing, so
/// lookups use this implementation while ring building uses swift-crypto. The tests check that
/// both give the same digests for random inputs of every length from 0 to 300 bytes.
/// MD5 is used here only as ketama's placement function, never for security.
enum MD5Words {
    /// MD5 of `bytes` as its four little-endian 32-bit words (digest bytes 0–3, 4–7, 8–11, 12–15).
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
        var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
        let count = bytes.count
        var offset = 0
        while count - offset >= 64 {
            compress(&state, UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 64]))
            offset += 64
        }
        // The tail, the 0x80 marker, zero padding and the bit length: one or two blocks.
        let tailCount = count - offset
        let blocks = tailCount < 56 ? 1 : 2
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { scratch in
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
            if tailCount > 0 {
                scratch.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: tailCount)
            }
            scratch[tailCount] = 0x80
            let bitLength = UInt64(truncatingIfNeeded: count) &* 8
            scratch.storeBytes(of: bitLength.littleEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
            for block in 0..<blocks {
                compress(&state, UnsafeRawBufferPointer(rebasing: scratch[block * 64..<block * 64 + 64]))
            }
        }
        return state
    }

    @inline(__always)
    private static func word(_ block: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        UInt32(littleEndian: block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
    }

    @inline(__always)
    private static func f(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32)
        -> UInt32
    {
        b &+ rotate(a &+ ((b & c) | (~b & d)) &+ k &+ m, s)
    }

    @inline(__always)
    private static func g(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32)
        -> UInt32
    {
        b &+ rotate(a &+ ((b & d) | (c & ~d)) &+ k &+ m, s)
    }

    @inline(__always)
    private static func h(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32)
        -> UInt32
    {
        b &+ rotate(a &+ (b ^ c ^ d) &+ k &+ m, s)
    }

    @inline(__always)
    private static func i(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32)
        -> UInt32
    {
        b &+ rotate(a &+ (c ^ (b | ~d)) &+ k &+ m, s)
    }

    @inline(__always)
    private static func rotate(_ x: UInt32, _ s: UInt32) -> UInt32 {
        (x << s) | (x >> (32 &- s))
    }

    /// One 64-byte block of the RFC 1321 compression function, its 64 steps written out.
    @inline(__always)
    private static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32), _ block: UnsafeRawBufferPointer) {
        let m0 = word(block, 0)
        let m1 = word(block, 1)
        let m2 = word(block, 2)
        let m3 = word(block, 3)
        let m4 = word(block, 4)
        let m5 = word(block, 5)
        let m6 = word(block, 6)
        let m7 = word(block, 7)
        let m8 = word(block, 8)
        let m9 = word(block, 9)
        let m10 = word(block, 10)
        let m11 = word(block, 11)
        let m12 = word(block, 12)
        let m13 = word(block, 13)
        let m14 = word(block, 14)
        let m15 = word(block, 15)
        var a = state.0
        var b = state.1
        var c = state.2
        var d = state.3
        a = f(a, b, c, d, m0, 7, 0xD76AA478)
        d = f(d, a, b, c, m1, 12, 0xE8C7B756)
        c = f(c, d, a, b, m2, 17, 0x242070DB)
        b = f(b, c, d, a, m3, 22, 0xC1BDCEEE)
        a = f(a, b, c, d, m4, 7, 0xF57C0FAF)
        d = f(d, a, b, c, m5, 12, 0x4787C62A)
        c = f(c, d, a, b, m6, 17, 0xA8304613)
        b = f(b, c, d, a, m7, 22, 0xFD469501)
        a = f(a, b, c, d, m8, 7, 0x698098D8)
        d = f(d, a, b, c, m9, 12, 0x8B44F7AF)
        c = f(c, d, a, b, m10, 17, 0xFFFF5BB1)
        b = f(b, c, d, a, m11, 22, 0x895CD7BE)
        a = f(a, b, c, d, m12, 7, 0x6B901122)
        d = f(d, a, b, c, m13, 12, 0xFD987193)
        c = f(c, d, a, b, m14, 17, 0xA679438E)
        b = f(b, c, d, a, m15, 22, 0x49B40821)
        a = g(a, b, c, d, m1, 5, 0xF61E2562)
        d = g(d, a, b, c, m6, 9, 0xC040B340)
        c = g(c, d, a, b, m11, 14, 0x265E5A51)
        b = g(b, c, d, a, m0, 20, 0xE9B6C7AA)
        a = g(a, b, c, d, m5, 5, 0xD62F105D)
        d = g(d, a, b, c, m10, 9, 0x02441453)
        c = g(c, d, a, b, m15, 14, 0xD8A1E681)
        b = g(b, c, d, a, m4, 20, 0xE7D3FBC8)
        a = g(a, b, c, d, m9, 5, 0x21E1CDE6)
        d = g(d, a, b, c, m14, 9, 0xC33707D6)
        c = g(c, d, a, b, m3, 14, 0xF4D50D87)
        b = g(b, c, d, a, m8, 20, 0x455A14ED)
        a = g(a, b, c, d, m13, 5, 0xA9E3E905)
        d = g(d, a, b, c, m2, 9, 0xFCEFA3F8)
        c = g(c, d, a, b, m7, 14, 0x676F02D9)
        b = g(b, c, d, a, m12, 20, 0x8D2A4C8A)
        a = h(a, b, c, d, m5, 4, 0xFFFA3942)
        d = h(d, a, b, c, m8, 11, 0x8771F681)
        c = h(c, d, a, b, m11, 16, 0x6D9D6122)
        b = h(b, c, d, a, m14, 23, 0xFDE5380C)
        a = h(a, b, c, d, m1, 4, 0xA4BEEA44)
        d = h(d, a, b, c, m4, 11, 0x4BDECFA9)
        c = h(c, d, a, b, m7, 16, 0xF6BB4B60)
        b = h(b, c, d, a, m10, 23, 0xBEBFBC70)
        a = h(a, b, c, d, m13, 4, 0x289B7EC6)
        d = h(d, a, b, c, m0, 11, 0xEAA127FA)
        c = h(c, d, a, b, m3, 16, 0xD4EF3085)
        b = h(b, c, d, a, m6, 23, 0x04881D05)
        a = h(a, b, c, d, m9, 4, 0xD9D4D039)
        d = h(d, a, b, c, m12, 11, 0xE6DB99E5)
        c = h(c, d, a, b, m15, 16, 0x1FA27CF8)
        b = h(b, c, d, a, m2, 23, 0xC4AC5665)
        a = i(a, b, c, d, m0, 6, 0xF4292244)
        d = i(d, a, b, c, m7, 10, 0x432AFF97)
        c = i(c, d, a, b, m14, 15, 0xAB9423A7)
        b = i(b, c, d, a, m5, 21, 0xFC93A039)
        a = i(a, b, c, d, m12, 6, 0x655B59C3)
        d = i(d, a, b, c, m3, 10, 0x8F0CCC92)
        c = i(c, d, a, b, m10, 15, 0xFFEFF47D)
        b = i(b, c, d, a, m1, 21, 0x85845DD1)
        a = i(a, b, c, d, m8, 6, 0x6FA87E4F)
        d = i(d, a, b, c, m15, 10, 0xFE2CE6E0)
        c = i(c, d, a, b, m6, 15, 0xA3014314)
        b = i(b, c, d, a, m13, 21, 0x4E0811A1)
        a = i(a, b, c, d, m4, 6, 0xF7537E82)
        d = i(d, a, b, c, m11, 10, 0xBD3AF235)
        c = i(c, d, a, b, m2, 15, 0x2AD7D2BB)
        b = i(b, c, d, a, m9, 21, 0xEB86D391)
        state.0 &+= a
        state.1 &+= b
        state.2 &+= c
        state.3 &+= d
    }
}
