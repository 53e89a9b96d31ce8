#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `x` to the power `y`, from the C library.
@inline(__always)
func power(_ x: Double, _ y: Double) -> Double {
    pow(x, y)
}

/// `e` to the power `x`, from the C library.
@inline(__always)
func exponential(_ x: Double) -> Double {
    exp(x)
}
