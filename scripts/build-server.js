// Bundles the TypeScript host (server/main.ts and every server/ module it imports) into one ES module,
// build/server/main.js, for `npm start` (ADR 0012). Dependencies stay in node_modules (`packages: "external"`): only
// our own sources are compiled, once, instead of by tsx's loader hooks at every start. Not minified, and without
// esbuild's keepNames helpers (tsx wraps every named function in `__name()`, which costs on the request path).
// The output sits two levels below the project root, like the sources it came from, so paths built from
// `import.meta.url` (server/db/migrate.ts: `../../prisma/migrations`) still resolve.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const serverBundle = "build/server/main.js";

/**
 * Builds build/server/main.js (and its source map). Each file is written under a temporary name and renamed into
 * place, so a server starting meanwhile (or a second build running at the same time) never reads half a file.
 */
export async function buildServer() {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: ["server/main.ts"],
    outfile: serverBundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    write: false,
  });
  mkdirSync(path.dirname(serverBundle), { recursive: true });
  // The map first: the bundle names it, so it must be there when the bundle is.
  const files = [...result.outputFiles].sort((a) => (a.path.endsWith(".map") ? -1 : 1));
  for (const file of files) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

/** Whether the bundle is missing or older than a file under server/ (sources changed since the last build). */
export function serverBundleStale() {
  let built;
  try {
    built = statSync(serverBundle).mtimeMs;
  } catch {
    return true;
  }
  const newer = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      // No sources next to the bundle (a runtime image may ship only the build).
      return false;
    }
    return entries.some((entry) => {
      const file = path.join(dir, entry.name);
      return entry.isDirectory() ? newer(file) : /\.[cm]?[jt]sx?$/.test(entry.name) && statSync(file).mtimeMs > built;
    });
  };
  return newer("server");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  await buildServer();
  console.error(`${serverBundle} built in ${Math.round(performance.now() - started)} ms`);
}
