// The floor: the least a Bun echo server can do. It ignores write()'s return and loses data under
// backpressure: for measuring the runtime's own cost only, never for use.
//   bun bench/floor-echo.ts PORT [buffer|uint8array]      prints "listening on 127.0.0.1:PORT"
const listener = Bun.listen({
  hostname: "127.0.0.1",
  port: Number(process.argv[2]),
  socket: {
    binaryType: (process.argv[3] ?? "buffer") as "buffer",
    data(s, d) {
      s.write(d);
    },
  },
});
console.log(`listening on 127.0.0.1:${listener.port}`);
