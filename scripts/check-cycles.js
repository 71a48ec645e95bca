// `npm run cycles`: fails when server/ has an import cycle. Type-only imports count (madge's default; no
// `skipTypeImports`): a type cycle still ties the files' meanings together, as the `Services` type of the wiring
// file (server/services.ts) once did for forty files. Same as
// `madge --circular --extensions ts,tsx --ts-config tsconfig.json server`, less Prisma's generated client
// (server/db/generated, not our code, cyclic by construction).
import madge from "madge";

const result = await madge("server", {
  fileExtensions: ["ts", "tsx"],
  tsConfig: "tsconfig.json",
  excludeRegExp: [/^db\/generated\//],
  detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
});
const cycles = result.circular();
const files = Object.keys(result.obj()).length;
if (cycles.length) {
  console.error(`${cycles.length} import cycle(s) among ${files} files under server/ (type-only imports count):`);
  for (const [i, cycle] of cycles.entries()) console.error(`${i + 1}) ${[...cycle, cycle[0]].join(" > ")}`);
  process.exit(1);
}
console.log(`No import cycles among ${files} files under server/.`);
