"""Opens N streaming requests that stay open (the agent pauses between chunks), reads the first
bytes of each, holds them, and prints the server's RSS (kB) read from /proc/<pid>/status."""
import asyncio
import sys

HOST, PORT, PID, N = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
BODY = b'{"input":[{"role":"user","content":"idle"}],"stream":true}'
REQ = (
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'x-mock-scenario: {"timing": {"chunk_delay_ms": 600000}}\r\n'
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


def rss_kb() -> int:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


async def open_stream():
    reader, writer = await asyncio.open_connection(HOST, PORT)
    writer.write(REQ)
    await writer.drain()
    await reader.read(1024)  # head and the first event: the stream is live
    return writer


async def main():
    before = rss_kb()
    writers = []
    for start in range(0, N, 100):
        writers += await asyncio.gather(*(open_stream() for _ in range(min(100, N - start))))
    await asyncio.sleep(1)
    print(f"{before} {rss_kb()} {len(writers)}")
    for w in writers:
        w.close()


asyncio.run(main())
