/**
 * The 1d experiment's config: the authors' keys (docs/configs.md) plus ours.
 *
 * @module
 */
import { z } from "zod";
import { onedConfigSchema, optimizerSchema } from "../../../core/config/config.ts";

/** Schema of a 1d config. */
export const onedSchema = onedConfigSchema.extend({
  optimizer: optimizerSchema.extend({
    lr_spline_coeffs: z.number().positive(),
    lr_spline_scaling_coeffs: z.number().positive(),
  }),
});

/** The validated 1d config. */
export type OnedConfig = z.infer<typeof onedSchema>;
