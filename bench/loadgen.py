"""A small HTTP/1.1 load generator, for machines without wrk.

    python loadgen.py URL --connections 50 --seconds 5 [--header 'Name: value' ...]

Keep-alive connections, each sending the next request as soon as the previous answer
is read (the same closed loop as wrk). Prints one JSON object: requests completed,
non-2xx answers, socket errors, elapsed seconds and latency percentiles in seconds.
It runs as its own process so its CPU is never counted as the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status


async def _connection(
    host: str, port: int, request: bytes, until: float, stats: dict, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            began = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - began)
            stats["requests"] += 1
            if not 200 <= status < 300:
                stats["non_2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        stats["socket_errors"] += 1
    finally:
        writer.close()


async def run(url: str, connections: int, seconds: float, headers: list[str]) -> dict:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    request = "\r\n".join(lines).encode()
    stats = {"requests": 0, "non_2xx": 0, "socket_errors": 0}
    latencies: list[float] = []
    began = time.perf_counter()
    until = began + seconds
    await asyncio.gather(
        *(
            _connection(
                parts.hostname or "127.0.0.1", parts.port or 80, request, until, stats, latencies
            )
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        **stats,
        "seconds": elapsed,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    job = run(args.url, args.connections, args.seconds, args.header)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(job)
    else:
        result = uvloop.run(job)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
