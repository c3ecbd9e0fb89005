/**
 * The WGAN's two networks, exactly as docs/method.md §5.3 specifies (NHWC layout; reshapes follow
 * PyTorch's NCHW order so that flattening matches the authors'):
 *
 * - generator: `z (62) -> Linear 1024 -> BN -> act -> Linear 6272 -> BN -> act -> reshape
 *   128×7×7 -> ConvTranspose 64 (4, s2, p1) -> BN -> act -> ConvTranspose 1 (4, s2, p1) -> tanh`
 *   (plain layers: `lipschitz_linear` with `no_projection`; `gan` init);
 * - discriminator: `LipschitzDownsample 1->64, act, LipschitzDownsample 64->128, act,
 *   LipschitzLinear 6272->1024, act, LipschitzLinear 1024->1` (`gan` init).
 *
 * Parameter names are prefixed `generator/` and `discriminator/` so that both networks (and their
 * optimisers' state) share one checkpoint. Also the experiment's `loadNetworks` hook.
 *
 * @module
 */
import {
  type ActivationParams,
  activationParamsSchema,
  type LayerInstance,
  type LoadNetworksContext,
  MT19937,
  type Network,
  type NetworkModule,
  type PluginResolver,
  restoreParameters,
  type Rng,
  sequentialNetwork,
  type TF,
  type TrainedNetwork,
  validateWith,
} from "../../../plugin.ts";
import type { Tensor } from "@tensorflow/tfjs-core";

/** Latent dimension of the generator (docs/method.md §5.3). */
export const Z_DIM = 62;

/** Projections of the discriminator (`discriminator_net_params`, a key of ours). */
export interface DiscriminatorNetParams {
  /** Projection of the two LipschitzLinear layers (default `orthonormalize`). */
  projection?: string;
  /** Björck iterations of the LipschitzLinear layers (default 15). */
  bjorck_iter?: number;
  /** Björck iterations of the LipschitzDownsample layers (default 12). */
  downsample_bjorck_iter?: number;
}

/** A parameter-free layer (reshape, flatten) with Lipschitz constant 1. */
function shapeLayer(name: string, kind: string, f: (x: Tensor) => Tensor, tf: TF): LayerInstance {
  return {
    kind,
    name,
    parameters: () => [],
    forward: (x) => tf.tidy(() => f(x)),
    lipschitzBound: () => Promise.resolve({ value: 1, method: "a permutation of coordinates" }),
  };
}

/** Build the generator (names `generator/...`). Its output is `[N, 28, 28, 1]` in [-1, 1]. */
export async function buildGenerator(
  tf: TF,
  registry: PluginResolver,
  rng: Rng,
  activation: ActivationParams,
): Promise<Network> {
  const p = "generator/";
  const linear = await registry.layer("lipschitz_linear");
  const bn = await registry.layer("batch_norm");
  const convT = await registry.layer("conv_transpose");
  const act = await registry.activation(activation.activation_type);
  const tanh = await registry.activation("tanh");
  const identity = (await registry.projection("no_projection")).create({ tf }, {});
  const m: NetworkModule[] = [];
  const actMod = (i: number, channels: number, mode: "fc" | "conv"): NetworkModule => ({
    type: "activation",
    name: `${p}activation${i}`,
    channels,
    activation: act.create({
      tf,
      channels,
      mode,
      params: activation,
      name: `${p}activation${i}`,
      rng,
    }),
  });
  const lin = (i: number, inF: number, outF: number): NetworkModule => ({
    type: "layer",
    name: `${p}linear${i}`,
    layer: linear.create({ tf, name: `${p}linear${i}`, rng, projection: identity }, {
      inFeatures: inF,
      outFeatures: outF,
      bias: true,
      init: "gan",
    }),
  });
  const norm = (i: number, channels: number): NetworkModule => ({
    type: "layer",
    name: `${p}bn${i}`,
    layer: bn.create({ tf, name: `${p}bn${i}`, rng }, { channels, init: "gan" }),
  });
  const ct = (i: number, cin: number, cout: number): NetworkModule => ({
    type: "layer",
    name: `${p}conv_transpose${i}`,
    layer: convT.create({ tf, name: `${p}conv_transpose${i}`, rng }, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: 4,
      stride: 2,
      padding: 1,
      bias: true,
      init: "gan",
    }),
  });
  m.push(lin(0, Z_DIM, 1024), norm(0, 1024), actMod(0, 1024, "fc"));
  m.push(lin(1, 1024, 128 * 7 * 7), norm(1, 128 * 7 * 7), actMod(1, 128 * 7 * 7, "fc"));
  m.push({
    type: "layer",
    name: `${p}reshape`,
    // PyTorch's view(-1, 128, 7, 7) (NCHW), then NHWC.
    layer: shapeLayer(
      `${p}reshape`,
      "reshape",
      (x) => tf.transpose(tf.reshape(x, [-1, 128, 7, 7]), [0, 2, 3, 1]),
      tf,
    ),
  });
  m.push(ct(0, 128, 64), norm(2, 64), actMod(2, 64, "conv"), ct(1, 64, 1));
  m.push({
    type: "activation",
    name: `${p}tanh`,
    channels: 1,
    activation: tanh.create({
      tf,
      channels: 1,
      mode: "conv",
      params: { activation_type: "tanh" },
      name: `${p}tanh`,
      rng,
    }),
  });
  return sequentialNetwork(tf, m);
}

/** Build the 1-Lipschitz discriminator (names `discriminator/...`); inputs `[N, 28, 28, 1]`. */
export async function buildDiscriminator(
  tf: TF,
  registry: PluginResolver,
  rng: Rng,
  activation: ActivationParams,
  netParams: DiscriminatorNetParams = {},
): Promise<Network> {
  const p = "discriminator/";
  const down = await registry.layer("lipschitz_downsample");
  const linear = await registry.layer("lipschitz_linear");
  const act = await registry.activation(activation.activation_type);
  const orth = await registry.projection("orthonormalize");
  const downProj = orth.create({ tf }, { bjorckIter: netParams.downsample_bjorck_iter ?? 12 });
  const linProj = (await registry.projection(netParams.projection ?? "orthonormalize"))
    .create({ tf }, { bjorckIter: netParams.bjorck_iter ?? 15 });
  for (const c of [64, 128, 1024]) act.validate?.(activation, c);
  const actMod = (i: number, channels: number, mode: "fc" | "conv"): NetworkModule => ({
    type: "activation",
    name: `${p}activation${i}`,
    channels,
    activation: act.create({
      tf,
      channels,
      mode,
      params: activation,
      name: `${p}activation${i}`,
      rng,
    }),
  });
  const m: NetworkModule[] = [];
  // 28×28×1 → 14×14×64 → 7×7×128
  for (const [i, inC, outC, size] of [[0, 1, 64, 28], [1, 64, 128, 14]] as const) {
    m.push({
      type: "layer",
      name: `${p}downsample${i}`,
      layer: down.create({ tf, name: `${p}downsample${i}`, rng, projection: downProj }, {
        inChannels: inC,
        outChannels: outC,
        bias: true,
        inputSize: size,
      }),
    }, actMod(i, outC, "conv"));
  }
  m.push({
    type: "layer",
    name: `${p}flatten`,
    // PyTorch's flatten of NCHW [N, 128, 7, 7].
    layer: shapeLayer(
      `${p}flatten`,
      "flatten",
      (x) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]),
      tf,
    ),
  });
  for (const [i, inF, outF] of [[0, 6272, 1024], [1, 1024, 1]] as const) {
    m.push({
      type: "layer",
      name: `${p}linear${i}`,
      layer: linear.create({ tf, name: `${p}linear${i}`, rng, projection: linProj }, {
        inFeatures: inF,
        outFeatures: outF,
        bias: true,
        init: "gan",
      }),
    });
    if (i === 0) m.push(actMod(2, 1024, "fc"));
  }
  return sequentialNetwork(tf, m);
}

/**
 * `Experiment.loadNetworks` of `wgan`: the discriminator of a checkpoint (inputs in [-1, 1]),
 * for `certify`; the downsample layers report their true bounds.
 */
export async function loadWganNetworks(ctx: LoadNetworksContext): Promise<TrainedNetwork[]> {
  const { tf, registry, config, checkpoint, file, configFile } = ctx;
  const activation = validateWith(
    activationParamsSchema,
    config.discriminator_activation_fn_params,
    `${configFile} (discriminator_activation_fn_params)`,
  ) as ActivationParams;
  const seed = typeof config.seed === "number" ? config.seed : 0;
  const net = await buildDiscriminator(
    tf,
    registry,
    new MT19937(seed),
    activation,
    (config.discriminator_net_params ?? {}) as DiscriminatorNetParams,
  );
  try {
    restoreParameters(tf, net.parameters(), checkpoint.tensors, file);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return [{ label: "discriminator", net, inputShape: [28, 28, 1], box: [-1, 1] }];
}
