import AsyncHTTPClient

extension HTTPClient.Configuration {
    /// The set-up of the HTTP clients ShoalClient makes for itself: a refused connection
    /// fails the request at once, where AsyncHTTPClient would otherwise try again until the
    /// request's deadline. A caller with other instances, or its own retry policy, can then
    /// act at once.
    public static var failingFast: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        return configuration
    }
}
