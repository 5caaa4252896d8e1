// The baseline for `bun run bench`: a plain Node.js `net` echo server, the way the Node docs
// would write it. pipe() pauses reading while the echo is not taken and resumes on 'drain';
// allowHalfOpen lets the echo finish after the client's FIN, then pipe() ends our side.
//   node bench/node-echo.mjs [PORT] [HOST]      prints "listening on HOST:PORT"
//   node bench/node-echo.mjs --unix PATH        prints "listening on PATH" (a Unix socket)
import net from "node:net";

const unix = process.argv[2] === "--unix" ? process.argv[3] : undefined;
const port = unix ? 0 : Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535 || unix === "") {
  console.error("usage: node bench/node-echo.mjs [PORT] [HOST] | --unix PATH");
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
if (unix) server.listen({ path: unix, backlog: 4096 }, () => console.log(`listening on ${unix}`));
else
  server.listen({ port, host, backlog: 4096 }, () => {
    console.log(`listening on ${host}:${server.address().port}`);
  });
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
