import Foundation
import Hummingbird
import NIOFoundationCompat
import ShoalAdmin
import ShoalGateway

/// `GET /v1/gateway` on the admin listener: the gateway's ``GatewayStatus`` as JSON, behind
/// the token like the rest of `/v1`.
struct GatewayStatusRoute {
    let gateway: Gateway

    func addRoutes(to router: Router<AdminRequestContext>) {
        router.get("/v1/gateway") { [gateway] _, _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(data: try encoder.encode(gateway.status))))
        }
    }
}
