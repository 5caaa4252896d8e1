/**
 * Real processes and real sockets for the tests: no mocks, no fixed sleeps. By what they serve,
 * in tests/support/: children (run, kill, side by side), terminal, servers, peers, lines.
 */
export * from "./support/children.ts";
export * from "./support/terminal.ts";
export * from "./support/servers.ts";
export * from "./support/peers.ts";
export * from "./support/lines.ts";
export * from "./support/side-port.ts";
