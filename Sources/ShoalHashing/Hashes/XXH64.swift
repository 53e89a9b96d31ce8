/// XXH64, the 64-bit xxHash of Yann Collet, implemented here because the package mirror has no
/// xxHash package.
///
/// Output is identical to the reference implementation (`XXH64()` in xxhash.h) on every
/// platform; the tests check it against vectors produced by the reference library. It is fast,
/// non-cryptographic and stable across processes, machines and Swift versions, unlike Swift's
/// `Hasher`, which is seeded per process.
///
/// ```swift
/// XXH64.hash("user:42")            // same value everywhere, forever
/// XXH64.hash("user:42", seed: 7)
/// ```
public enum XXH64 {
    @usableFromInline static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The hash of the UTF-8 bytes of `string`.
    @inlinable
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        withUTF8Bytes(of: string) { hash($0, seed: seed) }
    }

    /// The hash of `bytes`.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            let limit = count - 32
            repeat {
                v1 = round(v1, read64(bytes, offset))
                v2 = round(v2, read64(bytes, offset + 8))
                v3 = round(v3, read64(bytes, offset + 16))
                v4 = round(v4, read64(bytes, offset + 24))
                offset += 32
            } while offset <= limit
            h = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(truncatingIfNeeded: count)

        while offset + 8 <= count {
            h ^= round(0, read64(bytes, offset))
            h = h.rotatedLeft(27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= count {
            h ^= UInt64(read32(bytes, offset)) &* prime1
            h = h.rotatedLeft(23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(bytes[offset]) &* prime5
            h = h.rotatedLeft(11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    @inlinable @inline(__always)
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        (acc &+ input &* prime2).rotatedLeft(31) &* prime1
    }

    @inlinable @inline(__always)
    static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }

    @inlinable @inline(__always)
    static func avalanche(_ hash: UInt64) -> UInt64 {
        var h = hash
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }

    @inlinable @inline(__always)
    static func read64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func read32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

extension UInt64 {
    @inlinable @inline(__always)
    func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 &- count))
    }
}
