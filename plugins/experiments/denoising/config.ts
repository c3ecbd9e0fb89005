/**
 * The denoising experiment's config (docs/configs.md): the authors' keys plus ours, all optional
 * with defaults. `train_data_file` and `val_data_file` name an HDF5 file or a folder of PNG/JPEG
 * images (docs/method.md §5.4).
 *
 * @module
 */
import { authorsSchemas, optimizerSchema } from "../../../plugin.ts";
import { z } from "zod";

const authors = authorsSchemas.denoising as z.ZodObject<z.ZodRawShape>;
const authorsTraining = authors.shape.training_options as z.ZodObject<z.ZodRawShape>;

/** Schema of a denoising config. */
export const denoisingSchema = authors.extend({
  optimizer: optimizerSchema.extend({
    lr_spline_coeffs: z.number().positive(),
    lr_spline_scaling_coeffs: z.number().positive(),
  }),
  training_options: authorsTraining.extend({
    train_data_file: z.string().min(1),
    val_data_file: z.string().min(1),
    // Ours: how patches are cut when train_data_file is an image folder (docs/method.md §5.4).
    patch_size: z.number().int().min(3).optional(),
    patch_stride: z.number().int().positive().optional(),
    augment: z.boolean().optional(),
    // Ours: seed of the fixed validation noise (default 0).
    val_seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  }),
  net_params: z.looseObject({
    bias: z.boolean(),
    kernel_size: z.number().int().positive().refine((k) => k % 2 === 1, "an odd integer"),
    num_channels: z.array(z.number().int().positive()).min(2),
    // Ours: Björck iterations of every BCOP layer (default 25).
    bjorck_iter: z.number().int().positive().optional(),
  }),
});

/** The validated denoising config. */
export interface DenoisingConfig {
  exp_name: string;
  log_dir: string;
  seed: number;
  sigma: number;
  activation_fn_params: import("../../../plugin.ts").ActivationParams;
  net_params: {
    bias: boolean;
    kernel_size: number;
    num_channels: number[];
    bjorck_iter?: number;
  };
  optimizer: { lr_weights: number; lr_spline_coeffs: number; lr_spline_scaling_coeffs: number };
  training_options: {
    epochs: number;
    batch_size: number;
    num_workers?: number;
    checkpoint_every?: number;
    checkpoint_every_steps?: number;
    train_data_file: string;
    val_data_file: string;
    patch_size?: number;
    patch_stride?: number;
    augment?: boolean;
    val_seed?: number;
  };
}
