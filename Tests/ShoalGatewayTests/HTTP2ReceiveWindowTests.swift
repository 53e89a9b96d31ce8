import Testing

@testable import ShoalGateway

@Suite("an HTTP/2 receive window kept by hand: credit goes back once half of it was used")
struct HTTP2ReceiveWindowTests {
    @Test("no update until half the window was used; then all that was used, at once")
    func halfWindow() {
        var window = HTTP2ReceiveWindow(size: 1000)
        #expect(window.used(200) == nil)
        #expect(window.used(299) == nil)
        #expect(window.used(1) == 500)
        #expect(window.owed == 0)
        #expect(window.used(700) == 700)
        #expect(window.used(0) == nil)
    }

    @Test("a frame's flow-controlled length counts its padding and the padding's length byte")
    func padding() {
        #expect(HTTP2ReceiveWindow.flowControlledLength(bytes: 100, padding: nil) == 100)
        #expect(HTTP2ReceiveWindow.flowControlledLength(bytes: 100, padding: 0) == 101)
        #expect(HTTP2ReceiveWindow.flowControlledLength(bytes: 100, padding: 10) == 111)
    }
}
