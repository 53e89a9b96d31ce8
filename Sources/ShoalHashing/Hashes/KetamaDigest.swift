import Crypto

/// The MD5-derived 32-bit values ketama places on its ring and looks keys up by.
///
/// An MD5 digest is 16 bytes; ketama reads it as four little-endian `UInt32`s. A key's hash
/// is the first of them; a point label gives all four. Labels are hashed with swift-crypto;
/// keys, on the lookup path, with ``MD5Words``, which does not allocate.
enum KetamaDigest {
    /// The four little-endian `UInt32`s of MD5(`bytes`), by swift-crypto.
    static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
        let digest = Insecure.MD5.hash(data: bytes)
        return digest.withUnsafeBytes { raw in
            (
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            )
        }
    }

    /// The ketama hash of a key: the first little-endian `UInt32` of its MD5.
    @inline(__always)
    static func keyHash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        MD5Words.hash(bytes).0
    }

    /// The four points of one label, in the order ketama adds them.
    static func points(label: String) -> [UInt32] {
        let w = withUTF8Bytes(of: label) { words($0) }
        return [w.0, w.1, w.2, w.3]
    }
}
