/**
 * TLS files, read up front so that a bad path is one clear line, not a failure deep in Bun.
 * Only regular files, and small ones: /dev/zero or a FIFO named by mistake must not grow the
 * process or hang it.
 */
import { statSync } from "node:fs";
import { errorCode } from "./errors.ts";

/** PEM certificates and keys are a few KB; a chain of a hundred is still far below this. */
const MAX_PEM_BYTES = 1 << 20;

type TlsFileKind = "certificate" | "key" | "ca";
type TlsFileProblem = "unreadable" | "notRegular" | "tooLarge" | "notPem" | "wrongKind";

/** Which file, and what is wrong with it: the entry point words it. */
export class TlsFileError extends Error {
  constructor(
    readonly problem: TlsFileProblem,
    readonly kind: TlsFileKind,
    readonly path: string,
    readonly reason = "",
  ) {
    super(`${problem}: ${kind} ${path}`);
  }
}

/** What a PEM file of each kind must hold. */
const HOLDS: Record<TlsFileKind, RegExp> = {
  certificate: /-----BEGIN (TRUSTED )?CERTIFICATE-----/,
  ca: /-----BEGIN (TRUSTED )?CERTIFICATE-----/,
  key: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/,
};

async function readPem(path: string, kind: TlsFileKind): Promise<string> {
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new TlsFileError("notRegular", kind, path);
    if (stat.size > MAX_PEM_BYTES) throw new TlsFileError("tooLarge", kind, path);
    text = await Bun.file(path).text();
  } catch (error) {
    if (error instanceof TlsFileError) throw error;
    throw new TlsFileError("unreadable", kind, path, errorCode(error) ?? String(error));
  }
  if (!text.includes("-----BEGIN ")) throw new TlsFileError("notPem", kind, path);
  if (!HOLDS[kind].test(text)) throw new TlsFileError("wrongKind", kind, path);
  return text;
}

/** The server's certificate and key. */
export async function readTls(files: { cert: string; key: string }) {
  return { cert: await readPem(files.cert, "certificate"), key: await readPem(files.key, "key") };
}

/** The CA file the client verifies the server against. */
export function readCa(path: string): Promise<string> {
  return readPem(path, "ca");
}

/** A handshake that failed because the peer does not speak TLS at all (a plain TCP server). */
export function notTls(error: Error | null | undefined): boolean {
  return /WRONG_VERSION_NUMBER|UNEXPECTED_MESSAGE|UNKNOWN_PROTOCOL|packet length|record/i.test(
    error?.message ?? "",
  );
}

/**
 * Bytes that begin with a TLS record header: content type alert (0x15) or handshake (0x16),
 * then version 3.x. A TLS server answers plain text with such an alert.
 */
export function isTlsRecord(bytes: Uint8Array): boolean {
  const [type, major, minor] = [bytes[0], bytes[1], bytes[2]];
  return (type === 0x15 || type === 0x16) && major === 0x03 && minor !== undefined && minor <= 0x04;
}
