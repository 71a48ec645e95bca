/**
 * CIDR matching for TRUSTED_IP_RANGES (who may scrape /metrics without a token, who skips rate limits) with
 * ipaddr.js. Entries are `10.0.0.0/8`, `2001:db8::/32` or single addresses. IPv4-mapped IPv6 addresses match as
 * the IPv4 address they carry, on either side: the caller `::ffff:10.1.2.3` is in `10.0.0.0/8`, and the entry
 * `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
 */
import ipaddr from "ipaddr.js";

export interface IpRanges {
  /** The ranges as configured (for logs). */
  readonly entries: readonly string[];
  readonly empty: boolean;
  contains(ip: string | null | undefined): boolean;
}

type Parsed = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Answers remembered per range list by default: callers repeat, and parsing an address costs more than a lookup. */
const CACHE_LIMIT = 10_000;

function parseEntry(entry: string): Parsed {
  if (entry.includes("/")) {
    const [address, bits] = ipaddr.parseCIDR(entry);
    if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [address, bits];
  }
  const address = ipaddr.process(entry);
  return [address, address.kind() === "ipv4" ? 32 : 128];
}

/** Parses a list of ranges; throws naming the first bad entry. `cacheSize: 0` remembers no answers. */
export function parseIpRanges(entries: readonly string[], options: { cacheSize?: number } = {}): IpRanges {
  const cacheSize = options.cacheSize ?? CACHE_LIMIT;
  const ranges: Parsed[] = entries.map((entry) => {
    try {
      return parseEntry(entry);
    } catch {
      throw new Error(`TRUSTED_IP_RANGES: "${entry}" is not an IP address or CIDR range`);
    }
  });
  const answers = new Map<string, boolean>();
  const match = (ip: string): boolean => {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process(): IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes plain IPv4.
      address = ipaddr.process(ip);
    } catch {
      return false;
    }
    return ranges.some(([range, bits]) => address.kind() === range.kind() && address.match(range, bits));
  };
  return {
    entries: [...entries],
    empty: ranges.length === 0,
    contains(ip) {
      if (!ip || ranges.length === 0) return false;
      if (cacheSize === 0) return match(ip);
      const known = answers.get(ip);
      if (known !== undefined) return known;
      const inside = match(ip);
      // Bounded: a scan from many addresses must not grow memory.
      if (answers.size >= cacheSize) answers.clear();
      answers.set(ip, inside);
      return inside;
    },
  };
}

/** 127.0.0.0/8 and ::1: the machine itself. */
export const LOOPBACK = parseIpRanges(["127.0.0.0/8", "::1"], { cacheSize: 0 });
