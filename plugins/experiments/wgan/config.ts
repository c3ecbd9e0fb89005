/**
 * The wgan experiment's config: the authors' keys (docs/configs.md) plus ours, all optional:
 * `training_options.max_train_images` / `max_val_images` (use the first N images),
 * `training_options.n_critic` (a generator step every N-th batch, default 5) and
 * `discriminator_net_params` (projections of the discriminator, docs/method.md §5.3).
 *
 * @module
 */
import { activationParamsSchema, commonSchema, optimizerSchema } from "../../../plugin.ts";
import { z } from "zod";

/** `training_options` keys shared by the MNIST experiments (ours are optional). */
export const mnistTrainingSchema = z.looseObject({
  epochs: z.number().int().min(0),
  batch_size: z.number().int().positive(),
  num_workers: z.number().int().min(0).optional(),
  checkpoint_every: z.number().int().min(0).optional(),
  checkpoint_every_steps: z.number().int().min(0).optional(),
  train_dataset_file: z.string().min(1),
  val_dataset_file: z.string().min(1),
  max_train_images: z.number().int().positive().optional(),
  max_val_images: z.number().int().positive().optional(),
});

/** Schema of a wgan config. */
export const wganSchema = z.looseObject({
  ...commonSchema.shape,
  discriminator_activation_fn_params: activationParamsSchema,
  generator_activation_fn_params: activationParamsSchema,
  discriminator_optimizer: optimizerSchema,
  generator_optimizer: optimizerSchema,
  discriminator_net_params: z.looseObject({
    projection: z.string().min(1).optional(),
    bjorck_iter: z.number().int().positive().optional(),
    downsample_bjorck_iter: z.number().int().positive().optional(),
  }).optional(),
  training_options: mnistTrainingSchema.extend({
    n_critic: z.number().int().positive().optional(),
  }),
});

/** The validated wgan config. */
export type WganConfig = z.infer<typeof wganSchema>;
