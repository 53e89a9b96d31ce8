"""The Python side of lock-vs-redis-py: redis-py's Lock and python-redis-lock, driven the
same way `shoal bench lock` drives RedisLock. Prints one JSON object.

    lock_peer.py LIBRARY PORT CLIENTS HOLD_MS SECONDS

Each client is a process of its own. Each loops: acquire (blocking, the library's
defaults), hold for exactly HOLD_MS (sleeping, then spinning the last 200 µs), release.
"""
import json
import multiprocessing
import sys
import time


def make_lock(library, client, name):
    if library == "redis-py":
        return client.lock(name, timeout=10)
    import redis_lock
    return redis_lock.Lock(client, name, expire=10)


def run_client(library, port, hold, start, end, results):
    import redis
    client = redis.Redis(port=port)
    lock = make_lock(library, client, "peer-bench")
    lock.acquire(blocking=True)  # connect before timing
    lock.release()
    while time.time() < start:
        time.sleep(0.001)
    cycles = 0
    waits = []
    while time.time() < end:
        lock = make_lock(library, client, "peer-bench")
        asked = time.perf_counter()
        lock.acquire(blocking=True)
        waits.append((time.perf_counter() - asked) * 1000)
        if hold > 0:  # as shoal bench lock: sleep, then spin the last 200 µs
            until = time.perf_counter() + hold
            if hold > 0.0002:
                time.sleep(hold - 0.0002)
            while time.perf_counter() < until:
                pass
        lock.release()
        cycles += 1
    results.put((cycles, waits))


def main():
    library, port, clients, hold_ms, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    results = multiprocessing.Queue()
    start = time.time() + 1.0
    end = start + seconds
    processes = [multiprocessing.Process(target=run_client, args=(library, port, hold_ms / 1000, start, end, results))
                 for _ in range(clients)]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    counts = [cycles for cycles, _ in outcomes]
    waits = sorted(wait for _, client_waits in outcomes for wait in client_waits)

    def quantile(q):
        return waits[min(len(waits) - 1, max(0, int(len(waits) * q + 0.999999) - 1))] if waits else 0

    print(json.dumps({
        "clients": clients,
        "cycles_per_second": sum(counts) / seconds,
        "per_client": counts,
        "share": min(counts) / max(max(counts), 1),
        "wait_ms": {"p50": quantile(0.5), "p99": quantile(0.99), "max": waits[-1] if waits else 0},
    }))


if __name__ == "__main__":
    main()
