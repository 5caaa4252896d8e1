/** Questions asked of the network before a message is worded (src/errors.ts does no I/O). */

/** Does this host name resolve? IP literals need no asking. */
export async function hostResolves(host: string): Promise<boolean> {
  if (/^[\d.]+$/.test(host) || host.includes(":")) return true;
  try {
    await Bun.dns.lookup(host);
    return true;
  } catch {
    return false;
  }
}
