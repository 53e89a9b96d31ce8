#!/usr/bin/env python3
"""A gRPC peer that Shoal did not write, for Shoal's tests: grpcio (Debian's python3-grpcio).

Messages are raw bytes (no protobuf), on the service shoal.test.Peer.

  grpc_peer.py serve NAME [--max-streams N] [--unavailable]
      Serves until killed; prints its port on the first line of standard output. With
      --unavailable, Unary fails with UNAVAILABLE.
  grpc_peer.py client TARGET CHECK...
      Runs each check against TARGET (host:port, h2c) and prints one JSON object a line.
"""
import json
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "shoal.test.Peer"


def ident(data):
    return data


def status_code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = 0
        self.cancelled = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def begin(self):
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def end(self):
        with self.lock:
            self.in_flight -= 1


def serve(name, max_streams, unavailable):
    stats = Stats()
    label = name.encode()

    def counted(function):
        def wrapper(request, context):
            stats.begin()
            try:
                return function(request, context)
            finally:
                stats.end()
        return wrapper

    def counted_stream(function):
        def wrapper(request, context):
            stats.begin()
            try:
                yield from function(request, context)
            finally:
                stats.end()
        return wrapper

    @counted
    def unary(request, context):
        if unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, name + " is unavailable")
        context.set_trailing_metadata((("peer-name", name),))
        return label + b":" + request

    @counted
    def fail(request, context):
        context.abort(status_code(int(request)), "failed as asked by the test")

    @counted
    def slow(request, context):
        until = time.monotonic() + int(request) / 1000
        while time.monotonic() < until:
            if not context.is_active():
                with stats.lock:
                    stats.cancelled += 1
                return b""
            time.sleep(0.005)
        return label

    @counted_stream
    def server_stream(request, context):
        count, size = (int(part) for part in request.split(b" "))
        for index in range(count):
            yield (b"%d:" % index) + b"x" * size

    @counted
    def client_stream(requests, context):
        count = total = 0
        for message in requests:
            count += 1
            total += len(message)
        return b"%d %d" % (count, total)

    @counted_stream
    def bidi(requests, context):
        for message in requests:
            yield message

    def stats_call(request, context):
        with stats.lock:
            return json.dumps({
                "calls": stats.calls, "cancelled": stats.cancelled, "most_in_flight": stats.most_in_flight,
            }).encode()

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, ident, ident),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, ident, ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "Stats": grpc.unary_unary_rpc_method_handler(stats_call, ident, ident),
    }
    options = [("grpc.max_concurrent_streams", max_streams)] if max_streams else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=options)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


def error_of(error):
    return {"code": error.code().value[0], "message": error.details()}


def unary_from_threads(method, going, pause, threads=8):
    """Unary calls from `threads` threads, each calling while `going(calls it made)` and
    sleeping `pause` seconds after each: how many ended with each status code."""
    codes = {}
    lock = threading.Lock()

    def work():
        call = method("unary_unary", "Unary")
        done = 0
        while going(done):
            try:
                call(b"u", timeout=5)
                code = 0
            except grpc.RpcError as error:
                code = error.code().value[0]
            done += 1
            with lock:
                codes[str(code)] = codes.get(str(code), 0) + 1
            if pause:
                time.sleep(pause)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return codes


def run_check(channel, check):
    name, _, argument = check.partition(":")
    method = lambda kind, rpc: getattr(channel, kind)("/%s/%s" % (SERVICE, rpc), ident, ident)
    try:
        if name == "unary":
            names = {}
            for index in range(int(argument or 1)):
                reply = method("unary_unary", "Unary")(b"%d" % index, timeout=10)
                owner = reply.split(b":")[0].decode()
                names[owner] = names.get(owner, 0) + 1
            return {"names": names}
        if name in ("none", "noroute"):
            service = "shoal.test.None" if name == "none" else "shoal.test.Nowhere"
            channel.unary_unary("/%s/Unary" % service, ident, ident)(b"n", timeout=10)
            return {"code": 0}
        if name == "trailers":
            reply, call = method("unary_unary", "Unary").with_call(b"t", timeout=10)
            return {"reply": reply.decode(), "trailers": dict(call.trailing_metadata())}
        if name == "fail":
            method("unary_unary", "Fail")(argument.encode(), timeout=10)
            return {"code": 0}
        if name == "slow":
            milliseconds, _, timeout = argument.partition("/")
            reply = method("unary_unary", "Slow")(milliseconds.encode(), timeout=float(timeout or 10))
            return {"code": 0, "reply": reply.decode()}
        if name == "cancel":
            future = method("unary_unary", "Slow").future(argument.encode() or b"3000", timeout=30)
            time.sleep(0.5)
            future.cancel()
            return {"cancelled": future.cancelled()}
        if name == "server_stream":
            count, _, size = argument.partition("x")
            received = total = 0
            for message in method("unary_stream", "ServerStream")(
                    b"%s %s" % (count.encode(), (size or "10").encode()), timeout=60):
                received += 1
                total += len(message)
                if received == 1:
                    time.sleep(0.2)  # a slow reader: the stream must wait, not fail or buffer it all
            return {"received": received, "bytes": total}
        if name == "client_stream":
            count, _, size = argument.partition("x")
            messages = (b"y" * int(size or 10) for _ in range(int(count)))
            reply = method("stream_unary", "ClientStream")(messages, timeout=60)
            return {"reply": reply.decode()}
        if name == "bidi":
            count = int(argument)
            replies = method("stream_stream", "Bidi")((b"m%d" % index for index in range(count)), timeout=60)
            echoed = [reply.decode() for reply in replies]
            return {"echoed": len(echoed), "in_order": echoed == ["m%d" % index for index in range(count)]}
        if name == "concurrent":
            count, _, milliseconds = argument.partition("x")
            calls = [method("unary_unary", "Slow").future((milliseconds or "300").encode(), timeout=30)
                     for _ in range(int(count))]
            codes = {}
            for call in calls:
                try:
                    call.result()
                    code = 0
                except grpc.RpcError as error:
                    code = error.code().value[0]
                codes[str(code)] = codes.get(str(code), 0) + 1
            return {"codes": codes}
        if name == "stats":
            return json.loads(method("unary_unary", "Stats")(b"", timeout=10))
        if name == "burst":
            # N calls from 8 threads at once, as fast as they go: counts of each status code.
            count = int(argument or 800) // 8
            return {"codes": unary_from_threads(method, lambda done: done < count, pause=0)}
        if name == "load":
            # Calls from 8 threads for the given seconds, each thread at most 50 a second (the
            # tests run beside others on two cores): counts of each status code.
            until = time.monotonic() + float(argument or 3)
            return {"codes": unary_from_threads(method, lambda _: time.monotonic() < until, pause=0.02)}
        return {"error": "unknown check " + check}
    except grpc.RpcError as error:
        return error_of(error)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        options = sys.argv[3:]
        max_streams = int(options[options.index("--max-streams") + 1]) if "--max-streams" in options else 0
        serve(sys.argv[2], max_streams, "--unavailable" in options)
    elif len(sys.argv) >= 4 and sys.argv[1] == "client":
        with grpc.insecure_channel(sys.argv[2]) as channel:
            for check in sys.argv[3:]:
                print(json.dumps(run_check(channel, check)), flush=True)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
