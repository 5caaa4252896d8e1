/** TLS files, read up front so that a bad path is one clear line, not a failure deep in Bun. */
import type { Messages } from "./messages/index.ts";
import { errorCode } from "./errors.ts";

async function readPem(t: Messages, path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await Bun.file(path).text();
  } catch (error) {
    throw t.tlsUnreadable(what, path, errorCode(error) ?? String(error));
  }
  if (!text.includes("-----BEGIN ")) throw t.tlsNotPem(what, path);
  return text;
}

/** The server's certificate and key; rejects with the line to print. */
export async function readTls(t: Messages, files: { cert: string; key: string }) {
  return {
    cert: await readPem(t, files.cert, "certificate"),
    key: await readPem(t, files.key, "key"),
  };
}

/** The CA file the client verifies the server against. */
export async function readCa(t: Messages, path: string): Promise<string> {
  return readPem(t, path, "CA");
}
