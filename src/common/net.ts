/** Questions asked of the network before a message is worded (errors.ts does no I/O), and its sizes. */

/** The largest UDP payload: 65,535 less the UDP (8) and IPv4 (20) headers; IPv6 carries 65,527. */
export const MAX_DATAGRAM_IPV4 = 65_507;
export const MAX_DATAGRAM_IPV6 = 65_527;

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
