/**
 * The 1d experiment's config: the authors' keys (docs/configs.md) plus ours:
 * `net_params.apply_weight_initialization` (default false: the networks start from the authors'
 * effective initialisation, PyTorch's `nn.Linear` default, docs/method.md (4.14); true applies
 * `weight_initialization` literally), `training_options.workers` and `training_options.native_step`.
 *
 * @module
 */
import { fcNetSchema, onedConfigSchema, optimizerSchema, z } from "../../../plugin.ts";

/** Schema of a 1d config. */
export const onedSchema = onedConfigSchema.extend({
  net_params: fcNetSchema.extend({ apply_weight_initialization: z.boolean().optional() }),
  // Ours: train the ensemble on several cores (plugins/experiments/oned/parallel.ts); a count,
  // or "auto" (min(2, cores, nbr_models) on the cpu and wasm backends); absent: 1.
  training_options: onedConfigSchema.shape.training_options.extend({
    workers: z.union([z.literal("auto"), z.number().int().positive()]).optional(),
    // Ours: the whole step in WebAssembly on the CPU backends (core/train/native_fc_ensemble.ts);
    // default true; false keeps the TF.js step.
    native_step: z.boolean().optional(),
  }),
  optimizer: optimizerSchema.extend({
    lr_spline_coeffs: z.number().positive(),
    lr_spline_scaling_coeffs: z.number().positive(),
  }),
});

/** The validated 1d config. */
export type OnedConfig = z.infer<typeof onedSchema>;
