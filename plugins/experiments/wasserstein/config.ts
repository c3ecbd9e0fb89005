/**
 * The wasserstein experiment's config: the authors' keys (docs/configs.md) plus ours, all
 * optional: `training_options.generator_checkpoint` (the generator G, default
 * `data/wgan_generator.h5`), `max_train_images` / `max_val_images`, `eval_every` (default 5),
 * `val_fakes` (default 6000), `fake_pool_size` (default: the number of training images) and
 * `net_params.apply_weight_initialization` (default false: the authors' effective init,
 * docs/method.md (4.14)).
 *
 * @module
 */
import {
  activationParamsSchema,
  commonSchema,
  fcNetSchema,
  optimizerSchema,
} from "../../../plugin.ts";
import { z } from "zod";
import { mnistTrainingSchema } from "../wgan/config.ts";

/** Default generator: the one lipspline ships (data/README.md). */
export const DEFAULT_GENERATOR = "data/wgan_generator.h5";

/** Schema of a wasserstein config. */
export const wassersteinSchema = z.looseObject({
  ...commonSchema.shape,
  activation_fn_params: activationParamsSchema,
  net_params: fcNetSchema.extend({ apply_weight_initialization: z.boolean().optional() }),
  optimizer: optimizerSchema,
  training_options: mnistTrainingSchema.extend({
    generator_checkpoint: z.string().min(1).optional(),
    eval_every: z.number().int().positive().optional(),
    val_fakes: z.number().int().positive().optional(),
    fake_pool_size: z.number().int().positive().optional(),
  }),
});

/** The validated wasserstein config. */
export type WassersteinConfig = z.infer<typeof wassersteinSchema>;
