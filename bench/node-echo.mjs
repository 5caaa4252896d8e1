// The baseline for `bun run bench`: a plain Node.js `net` echo server, the way the Node docs
// would write it. pipe() pauses reading while the echo is not taken and resumes on 'drain';
// allowHalfOpen lets the echo finish after the client's FIN, then pipe() ends our side.
//   node bench/node-echo.mjs [PORT] [HOST]      prints "listening on HOST:PORT"
import net from "node:net";

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node bench/node-echo.mjs [PORT] [HOST]");
  process.exit(2);
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.on("error", (error) => {
  console.error(`node-echo: ${error.message}`);
  process.exit(1);
});
server.listen({ port, host, backlog: 4096 }, () => {
  console.log(`listening on ${host}:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
