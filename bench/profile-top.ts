/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the top frames by self time and by inclusive time, as a table.
 *
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [count=25] [filter]
 *
 * Self time is where the CPU was when sampled; inclusive time adds everything a frame called (a frame counted once
 * per sample even when it recurses). `filter` keeps frames whose URL contains it (e.g. `server/`).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(profile: Profile, count = 25, filter = ""): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "~/").replace(process.cwd() + "/", "");
    return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  });
  const rows = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !filter || name.includes(filter))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, t]) => `| ${((100 * t) / total).toFixed(1)}% | ${name} |`);
  return [
    `total sampled: ${(total / 1000).toFixed(0)} ms`,
    "",
    "| self | frame |",
    "|---:|---|",
    ...rows(self),
    "",
    "| inclusive | frame |",
    "|---:|---|",
    ...rows(inclusive).filter((r) => !/\((root|program|idle|garbage collector)\)/.test(r)),
  ].join("\n");
}

const [file, count, filter] = process.argv.slice(2);
if (file) console.log(summarise(JSON.parse(readFileSync(file, "utf8")) as Profile, Number(count ?? 25), filter ?? ""));
