import ShoalCore

extension Duration {
    /// The duration as `shoal serve`'s API reads it: whole milliseconds, rounded up (`1500ms`).
    var apiText: String {
        "\((totalNanoseconds + 999_999) / 1_000_000)ms"
    }
}
