// The UDP floor: the least a Bun UDP echo server can do (`data` -> `send`, and the error handler
// without which one departed sender kills it). No queue: an echo the kernel refuses is lost. For
// measuring the runtime's own cost only, never for use.
//   bun bench/floor-udp-echo.ts [PORT] [HOST]      prints "listening on HOST:PORT (UDP)"
const hostname = process.argv[3] ?? "127.0.0.1";
const socket = await Bun.udpSocket({
  hostname,
  port: Number(process.argv[2] ?? 0),
  binaryType: "buffer",
  socket: {
    data(s, d, port, address) {
      try {
        s.send(d, port, address);
      } catch {}
    },
    error() {},
  },
});
console.log(`listening on ${hostname}:${socket.port} (UDP)`);
