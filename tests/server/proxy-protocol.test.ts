/** The PROXY protocol reader (src/server/features/proxy-protocol.ts): pure, so every case is a few bytes. */
import { describe, expect, test } from "bun:test";
import {
  MAX_V2_LENGTH,
  parse,
  ProxyHeaderReader,
} from "../../src/server/features/proxy-protocol.ts";
import { parseCidr, within } from "../../src/common/addresses.ts";
import { cidrList } from "../../src/cli/values.ts";

const text = (s: string) => new TextEncoder().encode(s);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A v2 header: version/command, family, then the body (addresses and TLVs). */
function v2(command: number, family: number, body: number[]): Uint8Array {
  return new Uint8Array([
    ...SIG,
    0x20 | command,
    family,
    body.length >> 8,
    body.length & 255,
    ...body,
  ]);
}
const ipv4Body = [203, 0, 113, 7, 192, 0, 2, 1, 0x9d, 0x78, 0x13, 0x88]; // 40312 -> 5000
const ipv6Body = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // 2001:db8::1
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // ::1
  0x9d,
  0x78,
  0x13,
  0x88,
];

describe("PROXY protocol v1", () => {
  test.each([
    [
      "PROXY TCP4 203.0.113.7 192.0.2.1 40312 5000\r\nhello",
      { family: "TCP4", source: { address: "203.0.113.7", port: 40312 } },
    ],
    [
      "PROXY TCP6 2001:db8::1 ::1 40312 5000\r\nhello",
      { family: "TCP6", source: { address: "2001:db8::1", port: 40312 } },
    ],
    ["PROXY UNKNOWN\r\nhello", { family: "UNKNOWN" }],
    ["PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nhello", { family: "UNKNOWN" }],
  ])("%p", (input, expected) => {
    const r = parse(text(input));
    expect(r.state).toBe("done");
    if (r.state !== "done") return;
    expect(r.header).toMatchObject({ version: 1, command: "PROXY", ...expected });
    if (expected.family === "UNKNOWN") expect(r.header.source).toBeUndefined();
    expect(new TextDecoder().decode(r.rest)).toBe("hello"); // the bytes after it are the client's
  });

  test.each([
    ["GET / HTTP/1.1\r\n", "signature"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1Malformed"], // no CR
    ["PROXY TCP4 999.2.3.4 5.6.7.8 1 2\r\n", "v1Malformed"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "v1Malformed"],
    ["PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 \x1b[2J\x1b[31mHACKED: ::1 1 2\r\n", "v1Malformed"], // not an address: no log forging
    ["PROXY TCP6 ::1\u202e ::1 1 2\r\n", "v1Malformed"],
    ["PROXY " + "x".repeat(120), "v1TooLong"], // 107 bytes and no CRLF
    // Not addresses, though made of address characters: HAProxy (inet_pton) refuses them all.
    ["PROXY TCP6 ...: ::1 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 ::: ::1 1 2\r\n", "v1Malformed"],
    [`PROXY TCP6 ${"f:".repeat(22)}f ::1 1 2\r\n`, "v1Malformed"], // 23 groups
    ["PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 1::2::3 ::1 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 12345:: ::1 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 1.2.3.4:: ::1 1 2\r\n", "v1Malformed"], // an IPv4 tail only at the end
    ["PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", "v1Malformed"], // 7 groups and no ::
    ["PROXY TCP4 001.002.003.004 1.2.3.4 1 2\r\n", "v1Malformed"],
    ["PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "v1Malformed"],
    ["PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "v1Malformed"],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1Malformed"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "v1Malformed"], // a port with a leading zero
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", "v1Malformed"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "v1Malformed"],
  ])("refused: %p", (input, problem) => {
    expect(parse(text(input))).toEqual({ state: "invalid", problem } as never);
  });

  test.each([
    ["0.0.0.0", "255.255.255.255", "0.0.0.0"],
    ["::", "::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "::1", "2001:db8::1"], // valid text, logged in one canonical form
    ["0001:0db8::0001", "::1", "1:db8::1"],
    ["::FFFF:192.0.2.1", "::1", "::ffff:192.0.2.1"],
    ["1:2:3:4:5:6:7::", "::1", "1:2:3:4:5:6:7:0"],
  ])("accepted: %s and %s (the first logged as %p)", (src, dst, logged) => {
    const family = src.includes(":") ? "TCP6" : "TCP4";
    const r = parse(text(`PROXY ${family} ${src} ${dst} 0 65535\r\n`));
    expect(r).toMatchObject({ state: "done", header: { source: { address: logged, port: 0 } } });
  });
});

describe("--proxy-from networks (src/common/addresses.ts)", () => {
  const list = (text: string) => text.split(",").map((c) => parseCidr(c)!);
  test.each([
    ["10.0.0.0/8", "10.200.3.4", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["10.0.0.0/8", "::ffff:10.1.2.3", true], // a dual-stack listener's IPv4 peer
    ["127.0.0.1", "127.0.0.1", true],
    ["127.0.0.1", "127.0.0.2", false],
    ["192.168.1.0/25", "192.168.1.127", true],
    ["192.168.1.0/25", "192.168.1.128", false],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["::1", "::1", true],
    ["::1", "127.0.0.1", false],
    ["0.0.0.0/0", "203.0.113.7", true],
    ["0.0.0.0/0", "2001:db8::1", false], // every IPv4 address, no IPv6 one
    ["::/0", "2001:db8::1", true],
    ["10.1.2.3/8", "10.9.9.9", true], // host bits beyond the prefix ignored, as nginx does
  ])("%s contains %s: %p", (cidr, address, inside) => {
    expect(within(address, list(cidr))).toBe(inside);
  });

  test("no address (a peer gone before open), or not an address, is never trusted", () => {
    expect(within(undefined, list("0.0.0.0/0"))).toBe(false);
    expect(within("localhost", list("0.0.0.0/0"))).toBe(false);
  });

  test.each([
    "10.0.0.0/33",
    "::/129",
    "10.0.0.0/08",
    "10.0.0/8",
    "",
    "1.2.3.4/8/8",
    "fe80::1%eth0",
  ])("not a network: %p", (text) => {
    expect(parseCidr(text)).toBeUndefined();
    expect(() => cidrList(text)).toThrow();
  });

  test("a list: comma-separated, spaces around each allowed", () => {
    expect(cidrList("10.0.0.0/8, ::1").length).toBe(2);
    expect(() => cidrList("10.0.0.0/8,")).toThrow();
  });
});

describe("PROXY protocol v2", () => {
  test("TCP over IPv4 and IPv6; TLVs skipped; the rest is the client's", () => {
    const tlv = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]; // PP2_TYPE_NOOP, 3 bytes
    const r4 = parse(new Uint8Array([...v2(1, 0x11, [...ipv4Body, ...tlv]), ...text("x")]));
    expect(r4).toMatchObject({
      state: "done",
      header: {
        version: 2,
        command: "PROXY",
        family: "TCP4",
        source: { address: "203.0.113.7", port: 40312 },
        destination: { address: "192.0.2.1", port: 5000 },
      },
    });
    if (r4.state === "done") expect(Array.from(r4.rest)).toEqual([0x78]);
    const r6 = parse(v2(1, 0x21, ipv6Body));
    expect(r6).toMatchObject({
      state: "done",
      header: { family: "TCP6", source: { address: "2001:db8::1", port: 40312 } },
    });
    if (r6.state === "done") expect(r6.header.destination?.address).toBe("::1");
  });

  test("LOCAL (a balancer's own check) and UNSPEC are accepted, with no client address", () => {
    expect(parse(v2(0, 0x00, []))).toMatchObject({ state: "done", header: { command: "LOCAL" } });
    const unspec = parse(v2(1, 0x00, []));
    expect(unspec).toMatchObject({
      state: "done",
      header: { command: "PROXY", family: "UNKNOWN" },
    });
    if (unspec.state === "done") expect(unspec.header.source).toBeUndefined();
    expect(parse(v2(1, 0x31, new Array(216).fill(0)))).toMatchObject({
      state: "done",
      header: { family: "UNKNOWN" }, // AF_UNIX: addresses not read
    });
  });

  test.each([
    [
      "a version other than 2",
      () => ((h) => ((h[12] = 0x31), h))(v2(1, 0x11, ipv4Body)),
      "v2Version",
    ],
    ["an unknown command", () => ((h) => ((h[12] = 0x2f), h))(v2(1, 0x11, ipv4Body)), "v2Command"],
    [
      "a length beyond the limit",
      () => ((h) => ((h[14] = 0xff), (h[15] = 0xff), h))(v2(1, 0x11, ipv4Body)),
      "v2TooLong",
    ],
    ["IPv4 addresses cut short", () => v2(1, 0x11, ipv4Body.slice(0, 8)), "v2Malformed"],
    ["an address family the specification does not name", () => v2(1, 0x55, ipv4Body), "v2Family"],
  ])("refused: %s", (_what, bytes, problem) => {
    expect(parse(bytes())).toEqual({ state: "invalid", problem } as never);
  });

  test("the limit is what the balancers send and more", () => {
    expect(MAX_V2_LENGTH).toBeGreaterThanOrEqual(1024);
  });
});

describe("a header cut into pieces", () => {
  test.each([
    ["v1", text("PROXY TCP4 203.0.113.7 192.0.2.1 40312 5000\r\nhello")],
    ["v2", new Uint8Array([...v2(1, 0x11, ipv4Body), ...text("hello")])],
  ])("%s, one byte at a time, still parses; the rest comes out once", (_v, bytes) => {
    const reader = new ProxyHeaderReader();
    let rest = "";
    let done = 0;
    for (const byte of bytes) {
      const r = reader.push(new Uint8Array([byte]));
      expect(r.state).not.toBe("invalid");
      if (r.state === "done") (done++, (rest = new TextDecoder().decode(r.rest)));
      else if (done > 0) throw new Error("parsed twice");
      if (done > 0) break;
    }
    expect(done).toBe(1);
    // The header's last byte arrived alone: nothing after it yet (the server echoes what follows).
    expect(rest).toBe("");
  });
});
