import ShoalTesting

/// A network lab whose first six hosts run a Sentinel-managed Redis: the primary and two
/// replicas on hosts 0 to 2, three sentinels (down after 1 s) on hosts 3 to 5. The other
/// hosts are the test's.
struct SentinelLab {
    let lab: NetworkLab
    let cluster: SentinelCluster

    init(hosts: Int) throws {
        precondition(hosts > 6, "the Sentinel setup takes six hosts")
        lab = try NetworkLab(hosts: hosts)
        do {
            cluster = try SentinelCluster.start(
                servers: [lab.host(0), lab.host(1), lab.host(2)], sentinels: [lab.host(3), lab.host(4), lab.host(5)],
                downAfterMilliseconds: 1000)
        } catch {
            lab.tearDown()
            throw error
        }
    }

    func host(_ index: Int) -> TestHost { lab.host(index) }

    func tearDown() {
        cluster.stop()
        lab.tearDown()
    }
}
