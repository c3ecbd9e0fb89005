/**
 * Strict config keys: a key that no experiment or plugin declares is a mistake (a typo such as
 * `spline_sise` would otherwise run silently with the default). {@linkcode checkKnownKeys} walks
 * a config against a {@linkcode KnownTree}, built from zod object schemas by
 * {@linkcode knownTreeFromSchema} and merged with {@linkcode mergeKnownTrees}, and throws a
 * one-line `UserError` naming the file, the key and the nearest known key.
 *
 * @module
 */
import type { ZodType } from "zod";
import { UserError } from "../errors.ts";
import type { OptionsSchema } from "../plugin/interfaces.ts";

/**
 * The keys known at one level of a config: `true` for a key whose value is not walked (a number,
 * an array, anything), a nested tree for a key whose value is an object with known keys.
 */
export interface KnownTree {
  [key: string]: KnownTree | true;
}

/** The parts of zod's internal definition the walk reads (zod 4, any copy of the package). */
interface ZodDefLike {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  options?: unknown[];
  left?: unknown;
  right?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  const internals = (schema as { _zod?: { def?: ZodDefLike } } | null)?._zod;
  return internals?.def;
}

/** True when `value` is a zod schema (of any copy of zod 4). */
function isZodSchema(value: unknown): value is ZodType {
  return typeof value === "object" && value !== null && defOf(value) !== undefined;
}

/** The object tree of one zod schema, or `true` when it is not an object schema. */
function treeOf(schema: unknown, depth = 0): KnownTree | true {
  const def = defOf(schema);
  if (!def || depth > 32) return true;
  switch (def.type) {
    case "object": {
      const tree: KnownTree = {};
      for (const [k, v] of Object.entries(def.shape ?? {})) tree[k] = treeOf(v, depth + 1);
      return tree;
    }
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return treeOf(def.innerType, depth + 1);
    case "pipe":
      return treeOf(def.in, depth + 1);
    case "union": {
      const objects = (def.options ?? []).map((o) => treeOf(o, depth + 1))
        .filter((t): t is KnownTree => t !== true);
      return objects.length ? mergeKnownTrees(...objects) : true;
    }
    case "intersection": {
      const parts = [treeOf(def.left, depth + 1), treeOf(def.right, depth + 1)]
        .filter((t): t is KnownTree => t !== true);
      return parts.length ? mergeKnownTrees(...parts) : true;
    }
    default:
      return true;
  }
}

/**
 * The known keys of a zod object schema (its shape's keys, recursing into nested object
 * schemas through optional/default/nullable wrappers), or of a plain record of key → zod type.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { knownTreeFromSchema } from "./strict_keys.ts";
 * const t = knownTreeFromSchema(z.object({ a: z.number(), b: z.object({ c: z.string() }) }));
 * // t is { a: true, b: { c: true } }
 * ```
 */
export function knownTreeFromSchema(schema: OptionsSchema | ZodType | undefined): KnownTree {
  if (schema === undefined) return {};
  if (isZodSchema(schema)) {
    const t = treeOf(schema);
    return t === true ? {} : t;
  }
  const tree: KnownTree = {};
  for (const [k, v] of Object.entries(schema)) tree[k] = treeOf(v);
  return tree;
}

/**
 * Union of known trees: a key known in any of them is known; nested trees merge; a key that is a
 * leaf (`true`) in one of them stays a leaf (its value is not walked).
 */
export function mergeKnownTrees(...trees: KnownTree[]): KnownTree {
  const out: KnownTree = {};
  for (const tree of trees) {
    for (const [k, v] of Object.entries(tree)) {
      const prev = out[k];
      if (prev === undefined) out[k] = v === true ? true : mergeKnownTrees(v);
      else if (prev === true || v === true) out[k] = true;
      else out[k] = mergeKnownTrees(prev, v);
    }
  }
  return out;
}

/**
 * Optimal-string-alignment distance (Levenshtein with adjacent transpositions, Damerau): the
 * number of insertions, deletions, substitutions and swaps of neighbours turning `a` into `b`.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => {
    const row = new Array<number>(n + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[m][n];
}

const normalize = (s: string) => s.toLowerCase().replace(/-/g, "_");

/**
 * The known key nearest to `key`, when it is close: at most a third of the key's length edits
 * (at least 1, at most 3; none for keys under 3 characters), ignoring case and `-` versus `_`.
 * Ties go to the first candidate.
 *
 * @example
 * ```ts
 * import { suggestKey } from "./strict_keys.ts";
 * suggestKey("spline_sise", ["spline_range", "spline_size"]); // "spline_size"
 * suggestKey("colour", ["spline_size"]); // undefined
 * ```
 */
export function suggestKey(key: string, candidates: Iterable<string>): string | undefined {
  const k = normalize(key);
  const limit = k.length < 3 ? 0 : Math.min(3, Math.max(1, Math.floor(k.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(k, normalize(c));
    if (dist <= limit && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Throw a one-line `UserError` for the first key of `config` (walking nested objects) that
 * `known` does not declare, naming `file`, the key path and the nearest known key, e.g.
 * `Invalid config configs/config_1d.json: unknown key 'activation_fn_params.spline_sise'; did you
 * mean 'spline_size'?`. Values of leaf keys and of objects whose key is a leaf are not walked.
 *
 * @example
 * ```ts
 * import { checkKnownKeys } from "./strict_keys.ts";
 * checkKnownKeys({ seed: 1, training_options: { epochs: 3 } }, {
 *   seed: true,
 *   training_options: { epochs: true },
 * }, "cfg.json"); // passes; { trainig_options: {} } would throw
 * ```
 */
export function checkKnownKeys(config: unknown, known: KnownTree, file: string): void {
  const walk = (node: Record<string, unknown>, tree: KnownTree, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const entry = Object.hasOwn(tree, key) ? tree[key] : undefined;
      if (entry === undefined) {
        const keys = Object.keys(tree);
        const near = suggestKey(key, keys);
        const hint = near !== undefined
          ? `did you mean '${near}'?`
          : keys.length
          ? `known keys there are ${keys.sort().join(", ")}`
          : "nothing declares keys there";
        throw new UserError(`Invalid config ${file}: unknown key '${path}'; ${hint}`);
      }
      if (entry !== true && isPlainObject(value)) walk(value, entry, path);
    }
  };
  if (isPlainObject(config)) walk(config, known, "");
}
