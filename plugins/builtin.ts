/**
 * The manifest of built-in plugins: name → lazy import. The registry (core/plugin/registry.ts) resolves
 * config names through it; any other name is treated as a module path.
 *
 * @module
 */
import type { PluginManifest } from "../plugin.ts";

/** Every built-in plugin, by kind and config name. */
export const builtinPlugins: PluginManifest = {
  activation: {
    relu: () => import("./activations/relu.ts"),
    absolute_value: () => import("./activations/absolute_value.ts"),
    prelu: () => import("./activations/prelu.ts"),
    groupsort: () => import("./activations/groupsort.ts"),
    householder: () => import("./activations/householder.ts"),
    linearspline: () => import("./activations/linearspline.ts"),
    tanh: () => import("./activations/tanh.ts"),
  },
  layer: {
    lipschitz_linear: () => import("./layers/lipschitz_linear.ts"),
    bcop_conv: () => import("./layers/bcop_conv.ts"),
    lipschitz_downsample: () => import("./layers/lipschitz_downsample.ts"),
    batch_norm: () => import("./layers/batch_norm.ts"),
    conv_transpose: () => import("./layers/conv_transpose.ts"),
  },
  projection: {
    orthonormalize: () => import("./projections/orthonormalize.ts"),
    no_projection: () => import("./projections/no_projection.ts"),
    spectral_norm: () => import("./projections/spectral_norm.ts"),
  },
  experiment: {
    "1d": () => import("./experiments/oned/mod.ts"),
    denoising: () => import("./experiments/denoising/mod.ts"),
    wgan: () => import("./experiments/wgan/mod.ts"),
    wasserstein: () => import("./experiments/wasserstein/mod.ts"),
  },
};
