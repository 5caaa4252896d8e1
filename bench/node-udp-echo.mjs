// The UDP baseline for `bun run bench`: a plain Node.js `dgram` echo server, the way the Node docs
// would write it: each datagram back to its sender. The error handler keeps it alive when an echo
// meets ICMP "port unreachable" (a sender that left).
//   node bench/node-udp-echo.mjs [PORT] [HOST]      prints "listening on HOST:PORT (UDP)"
import dgram from "node:dgram";

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node bench/node-udp-echo.mjs [PORT] [HOST]");
  process.exit(2);
}

const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
socket.on("message", (message, from) => {
  socket.send(message, from.port, from.address);
});
socket.on("error", () => {}); // one sender's ICMP error is not the service's end
socket.bind(port, host, () => {
  console.log(`listening on ${host}:${socket.address().port} (UDP)`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
