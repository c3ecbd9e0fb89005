/**
 * Built-in plugins are written like third-party ones: no file under plugins/ imports core/
 * (they use the public API, `plugin.ts`/`mod.ts`, and the host's `ctx.tf` and `ctx.ops`).
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const core = join(root, "core") + "/";

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (/\.(ts|js|mts|mjs)$/.test(e.name)) yield p;
  }
}

/** Every module specifier of `import`/`export ... from`, `import "x"` and `import("x")`. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

Deno.test("no file under plugins/ imports from core/", async () => {
  const offenders: string[] = [];
  for await (const file of tsFiles(join(root, "plugins"))) {
    const text = await readFile(file, "utf8");
    for (const spec of specifiers(text)) {
      if (!spec.startsWith(".") && !spec.startsWith("/")) continue;
      const target = resolve(dirname(file), spec);
      if (target.startsWith(core)) offenders.push(`${relative(root, file)} imports ${spec}`);
    }
  }
  assert.ok(
    offenders.length === 0,
    `plugins must use the public API (plugin.ts, mod.ts) and ctx.tf / ctx.ops:\n${
      offenders.join("\n")
    }`,
  );
});

Deno.test("the import scan sees every kind of import", () => {
  assert.deepEqual(
    specifiers(
      `import a from "../x.ts";\nimport type { B } from '../../core/y.ts';\n` +
        `export { c } from "./c.ts";\nconst d = await import("../d.ts");\nimport "./e.ts";`,
    ),
    ["../x.ts", "../../core/y.ts", "./c.ts", "../d.ts", "./e.ts"],
  );
});
