import Testing

@testable import ShoalDiscovery

@Suite("Stored registrations")
struct StoredRegistrationTests {
    @Test("each JSON decodes to the registration it was written from, remembered or not")
    func rememberedDecodes() throws {
        // More than the memory holds, so some are decoded afresh and some remembered.
        let count = StoredRegistration.rememberedLimit * 3 / 2
        let stored = try (0..<count).map { (n: Int) throws -> StoredRegistration in
            let zone: String? = n % 3 == 0 ? nil : "z\(n % 3)"
            let instance = try ServiceInstance(
                service: "web", id: "i-\(n)", address: "10.0.\(n / 256).\(n % 256)", port: 8000 + n % 1000,
                weight: Double(n % 7 + 1) / 2, zone: zone, metadata: ["n": String(n)])
            return StoredRegistration(instance, ttl: .seconds(n % 60 + 1))
        }
        let texts = stored.map { $0.json() }
        #expect(Set(texts).count == count)
        for (registration, json) in zip(stored, texts).reversed() {
            #expect(StoredRegistration.decode(json) == registration)
        }
        // Written elsewhere, in another key order: decoded afresh, then remembered alike.
        let elsewhere = #"{"ttlMilliseconds":5000,"port":80,"metadata":{},"weight":1,"address":"10.9.9.9"}"#
        for _ in 0..<2 {
            let decoded = try #require(StoredRegistration.decode(elsewhere))
            #expect(decoded.address == "10.9.9.9" && decoded.port == 80 && decoded.ttlMilliseconds == 5000)
        }
        #expect(StoredRegistration.decode(#"{"port":80}"#) == nil)
    }
}
