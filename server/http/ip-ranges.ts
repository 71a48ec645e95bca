/**
 * CIDR matching for TRUSTED_IP_RANGES (who may scrape /metrics without a token, who skips rate limits) with
 * ipaddr.js. Entries are `10.0.0.0/8`, `2001:db8::/32` or single addresses; IPv4-mapped IPv6 addresses
 * (`::ffff:10.1.2.3`) match IPv4 ranges.
 */
import ipaddr from "ipaddr.js";

export interface IpRanges {
  /** The ranges as configured (for logs). */
  readonly entries: readonly string[];
  readonly empty: boolean;
  contains(ip: string | null | undefined): boolean;
}

type Parsed = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses a list of ranges; throws naming the first bad entry. */
export function parseIpRanges(entries: readonly string[]): IpRanges {
  const ranges: Parsed[] = entries.map((entry) => {
    try {
      if (entry.includes("/")) return ipaddr.parseCIDR(entry);
      const address = ipaddr.parse(entry);
      return [address, address.kind() === "ipv4" ? 32 : 128];
    } catch {
      throw new Error(`TRUSTED_IP_RANGES: "${entry}" is not an IP address or CIDR range`);
    }
  });
  return {
    entries: [...entries],
    empty: ranges.length === 0,
    contains(ip) {
      if (!ip || ranges.length === 0) return false;
      let address: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        address = ipaddr.process(ip);
      } catch {
        return false;
      }
      return ranges.some(([range, bits]) => address.kind() === range.kind() && address.match(range, bits));
    },
  };
}

/** 127.0.0.0/8 and ::1: the machine itself. */
export const LOOPBACK = parseIpRanges(["127.0.0.0/8", "::1"]);
