import PropertyBased
import ShoalTesting
import Testing

@Suite("Errors thrown inside a property check")
struct RecordingThrowsTests {
    struct Thrown: Error {}

    @Test("a body wrapped in recordingThrows that throws fails the property check")
    func wrappedThrowFails() async {
        await withKnownIssue {
            await propertyCheck(count: 3, input: Gen.uint64()) { _ in
                await recordingThrows { throw Thrown() }
            }
        }
    }

    @Test("a bare throw counts as a pass in swift-property-based 2.0.1: why the wrapper exists")
    func bareThrowIsSwallowed() async {
        // If this starts failing, the library reports thrown errors itself and the wrapper
        // can go.
        await propertyCheck(count: 3, input: Gen.uint64()) { _ in throw Thrown() }
    }
}
