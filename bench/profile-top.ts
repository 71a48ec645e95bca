/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the top frames by self time and by inclusive time, as a table.
 *
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [count=25] [filter] [lastSeconds]
 *
 * Self time is where the CPU was when sampled; inclusive time adds everything a frame called (a frame counted once
 * per sample even when it recurses). Percentages are of the busy samples (idle left out). `filter` keeps frames whose
 * URL contains it (e.g. `server/`); `lastSeconds` counts only the end of the profile (the measured load, not the
 * start-up and warm-up before it).
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

export function summarise(profile: Profile, count = 25, filter = "", lastSeconds = Infinity): string {
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
  const span = profile.timeDeltas.reduce((sum, dt) => sum + dt, 0);
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    const node = byId.get(id)!;
    if (span - at > lastSeconds * 1e6 || node.callFrame.functionName === "(idle)") return;
    total += dt;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let frame: number | undefined = id; frame !== undefined; frame = parent.get(frame)) {
      const name = label(byId.get(frame)!);
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
    `busy samples: ${(total / 1000).toFixed(0)} ms`,
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

const [file, count, filter, last] = process.argv.slice(2);
if (file) console.log(summarise(JSON.parse(readFileSync(file, "utf8")) as Profile, Number(count ?? 25), filter ?? "", last ? Number(last) : Infinity));
