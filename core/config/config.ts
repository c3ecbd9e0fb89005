/**
 * Loading, overriding and validating the authors' JSON configs (docs/method.md §1). Their files load
 * unchanged: every key keeps its meaning; our own keys are optional with defaults. Validation
 * happens before anything runs and fails with one line naming the file, the key and what was
 * expected.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { UserError } from "../errors.ts";

/** A config object as read from JSON. */
export type Config = Record<string, unknown>;

/**
 * Read a JSON config file.
 *
 * @example
 * ```ts
 * import { loadConfigFile } from "./config.ts";
 * const cfg = await loadConfigFile("configs/config_1d.json");
 * ```
 */
export async function loadConfigFile(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(
      `Cannot read the config as the file does not exist or is unreadable: ${file}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `Cannot read the config as ${file} is not valid JSON: ${(e as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`Cannot read the config as ${file} must hold a JSON object`);
  }
  return value as Config;
}

/**
 * Apply `--set a.b.c=value` overrides to a copy of `config`. The value is parsed as JSON when it
 * is valid JSON, else taken as a string.
 *
 * @example
 * ```ts
 * import { applyOverrides } from "./config.ts";
 * const c = applyOverrides({ training_options: { epochs: 1000 } }, ["training_options.epochs=3"]);
 * // c.training_options.epochs === 3
 * ```
 */
export function applyOverrides(config: Config, sets: readonly string[]): Config {
  const out = structuredClone(config);
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      throw new UserError(`Cannot apply --set as it must look like key.path=value: got '${s}'`);
    }
    const path = s.slice(0, eq).split(".");
    if (path.some((p) => p === "")) {
      throw new UserError(`Cannot apply --set as the key path has an empty part: '${s}'`);
    }
    const raw = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node = out as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (typeof next !== "object" || next === null || Array.isArray(next)) {
        throw new UserError(
          `Cannot apply --set ${s} as '${key}' is not an object in the config: it is ${
            JSON.stringify(next)
          }`,
        );
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return out;
}

/** Read a nested key such as `training_options.epochs`; `undefined` when absent. */
export function getKey(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const k of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

// ---- schemas of the authors' keys (docs/method.md §1); unknown keys pass through untouched ----

const positiveInt = z.number().int().positive();
const nonNegative = z.number().min(0);

/** `activation_fn_params` (and the WGAN's discriminator/generator variants). */
export const activationParamsSchema = z.looseObject({
  activation_type: z.string().min(1),
  groupsort_groupsize: positiveInt.optional(),
  prelu_init: z.union([z.number().min(-1).max(1), z.literal("maxmin")]).optional(),
  lipschitz_constrained: z.boolean().optional(),
  spline_init: z.enum(["identity", "relu", "absolute_value", "maxmin", "zero"]).optional(),
  spline_range: z.number().positive().optional(),
  spline_size: z.number().int().min(3).optional(),
  spline_scaling_coeff: z.boolean().optional(),
  lmbda: nonNegative.optional(),
});

/** `optimizer` groups. */
export const optimizerSchema = z.looseObject({
  lr_weights: z.number().positive(),
  lr_spline_coeffs: z.number().positive().optional(),
  lr_spline_scaling_coeffs: z.number().positive().optional(),
});

/** Fully connected `net_params`. */
export const fcNetSchema = z.looseObject({
  layer_sizes: z.array(positiveInt).min(2),
  projection: z.string().min(1),
  bjorck_iter: positiveInt.optional(),
  weight_initialization: z.enum([
    "He_uniform",
    "He_normal",
    "Xavier_normal",
    "Xavier_uniform",
    "orthonormal",
    "gan",
    "identity",
    // Ours: PyTorch's nn.Linear default, the authors' effective fc init (docs/method.md (4.14)).
    "torch_linear_default",
  ]),
  bias: z.boolean(),
});

/** Keys every experiment has. */
export const commonSchema = z.looseObject({
  exp_name: z.string().min(1),
  log_dir: z.string().min(1),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
});

function describe(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? "missing" : s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/**
 * Validate `config` against `schema`; on failure throw a one-line `UserError` naming the file,
 * the key, what was expected and the current value.
 *
 * @example
 * ```ts
 * import { commonSchema, validateWith } from "./config.ts";
 * validateWith(commonSchema, { exp_name: "a", log_dir: "runs", seed: 1 }, "cfg.json");
 * ```
 */
export function validateWith<T>(schema: z.ZodType<T>, config: unknown, file: string): T {
  const r = schema.safeParse(config);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.map(String).join(".") || "(top level)";
  const current = getKey(config as Config, issue.path.map(String).join("."));
  const expected = issue.message.replace(/^Invalid input: /, "").replace(/^Too (big|small): /, "");
  throw new UserError(
    `Invalid config ${file}: key '${key}' ${expected}; current value is ${describe(current)}`,
  );
}

/** `training_options` keys shared by the authors' configs (`num_workers` is accepted and ignored). */
const trainingSchema = z.looseObject({
  epochs: z.number().int().min(0),
  batch_size: z.number().int().positive(),
  num_workers: z.number().int().min(0).optional(),
  // Ours, read by the training engine (core/train/engine.ts): checkpoint every N epochs
  // (default 1) and/or every N steps (default 0: off).
  checkpoint_every: z.number().int().min(0).optional(),
  checkpoint_every_steps: z.number().int().min(0).optional(),
});

/** The authors' 1d config (docs/method.md §1, §5). */
export const onedConfigSchema = z.looseObject({
  ...commonSchema.shape,
  activation_fn_params: activationParamsSchema,
  net_params: fcNetSchema,
  optimizer: optimizerSchema,
  dataset: z.looseObject({
    function_type: z.enum(["f1", "f2", "f3"]),
    number_knots: z.number().int().min(0),
    training_dataset_size: z.number().int().positive(),
    testing_dataset_size: z.number().int().min(2),
  }),
  training_options: trainingSchema.extend({ nbr_models: z.number().int().positive() }),
});

/**
 * Schemas of the authors' four configs (docs/method.md §1), by experiment name. Experiment plugins use
 * these for the keys the authors defined and add their own optional keys.
 */
export const authorsSchemas: Record<"1d" | "wasserstein" | "wgan" | "denoising", z.ZodType> = {
  "1d": onedConfigSchema,
  wasserstein: z.looseObject({
    ...commonSchema.shape,
    activation_fn_params: activationParamsSchema,
    net_params: fcNetSchema,
    optimizer: optimizerSchema,
    training_options: trainingSchema.extend({
      train_dataset_file: z.string().min(1),
      val_dataset_file: z.string().min(1),
    }),
  }),
  wgan: z.looseObject({
    ...commonSchema.shape,
    discriminator_activation_fn_params: activationParamsSchema,
    generator_activation_fn_params: activationParamsSchema,
    discriminator_optimizer: optimizerSchema,
    generator_optimizer: optimizerSchema,
    training_options: trainingSchema.extend({
      train_dataset_file: z.string().min(1),
      val_dataset_file: z.string().min(1),
    }),
  }),
  denoising: z.looseObject({
    ...commonSchema.shape,
    activation_fn_params: activationParamsSchema,
    net_params: z.looseObject({
      bias: z.boolean(),
      kernel_size: z.number().int().positive().refine((k) => k % 2 === 1, "an odd integer"),
      num_channels: z.array(z.number().int().positive()).min(2),
    }),
    optimizer: optimizerSchema,
    sigma: z.number().min(0),
    training_options: trainingSchema.extend({
      train_data_file: z.string().min(1),
      val_data_file: z.string().min(1),
    }),
  }),
};
