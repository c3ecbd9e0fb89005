/**
 * The MNIST experiments' building blocks (docs/method.md §4–5): MNIST loading, transposed
 * convolution against its direct formula, batch norm train vs eval, the downsample layer's true
 * bound against the dense Jacobian of the strided convolution, and gradients of a tiny network of
 * these layers against finite differences.
 */
import assert from "node:assert/strict";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Tensor, Tensor4D } from "@tensorflow/tfjs-core";
import { tf, useBackend } from "./helpers.ts";
import { singularValues } from "./brute_force.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { loadMnistImages, packagedMnistDir, resolveMnistFile } from "../core/data/mnist.ts";
import { UserError } from "../core/errors.ts";
import { sequentialNetwork } from "../core/nn/network.ts";
import { downsampleLipschitzUpperBound } from "../plugins/layers/lipschitz_downsample.ts";
import { fromHalfBits, toHalfBits } from "../plugins/experiments/wasserstein/generator_file.ts";
import { initBias, initWeight } from "../core/nn/weight_init.ts";

const backend = Deno.env.get("LIPSPLINE_TEST_BACKEND") ?? "cpu";
await useBackend(backend as "cpu");
const registry = createRegistry(builtinPlugins);

Deno.test("MNIST: .pt and missing paths fall back to the packaged IDX files; pixels / 255 once", async () => {
  const notes: string[] = [];
  const train = await resolveMnistFile("data/mnist/train.pt", "train", (l) => notes.push(l));
  assert.ok(train.endsWith("train-images-idx3-ubyte"));
  const test = await resolveMnistFile("nowhere/val.pt", "test", (l) => notes.push(l));
  assert.ok(test.endsWith("t10k-images-idx3-ubyte"));
  assert.equal(notes.length, 2);
  const imgs = await loadMnistImages(test, 3);
  assert.deepEqual([imgs.count, imgs.rows, imgs.cols], [3, 28, 28]);
  let max = 0, min = 1;
  for (const v of imgs.pixels) [max, min] = [Math.max(max, v), Math.min(min, v)];
  assert.equal(max, 1); // 255 / 255: scaled once, not twice
  assert.equal(min, 0);
  // A folder holding the official names is used as is.
  assert.equal(
    await resolveMnistFile(packagedMnistDir(), "test"),
    join(packagedMnistDir(), "t10k-images-idx3-ubyte"),
  );
});

Deno.test("MNIST: a corrupted official file fails its md5 check with one UserError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "t10k-images-idx3-ubyte");
    await copyFile(join(packagedMnistDir(), "t10k-images-idx3-ubyte"), path);
    const bytes = await Deno.readFile(path);
    bytes[5000] ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(
      loadMnistImages(path),
      (e: unknown) =>
        e instanceof UserError && e.message.includes("md5") && e.message.includes(path),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("torch_linear_default init: weights and biases uniform within ±1/sqrt(fan_in)", () => {
  const w = initWeight(new MT19937(3), "torch_linear_default", 50, 16);
  const b = initBias(new MT19937(4), "torch_linear_default", 50, 16);
  const bound = 1 / Math.sqrt(16);
  assert.ok(w.every((v) => Math.abs(v) <= bound) && b.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...w.map(Math.abs)) > 0.9 * bound);
});

Deno.test("float16 bit round trip of the shipped generator file", () => {
  for (const v of [0, 1, -2.5, 0.1, 1e-6, 65504, -3.0517578125e-5]) {
    const r = fromHalfBits(toHalfBits(v));
    assert.ok(Math.abs(r - v) <= Math.abs(v) * 1e-3 + 6e-8, `${v} -> ${r}`);
  }
});

Deno.test("conv_transpose equals the direct formula of PyTorch's ConvTranspose2d", async () => {
  const layer = (await registry.layer("conv_transpose")).create(
    { tf, name: "ct", rng: new MT19937(1) },
    {
      inChannels: 2,
      outChannels: 3,
      kernelSize: 4,
      stride: 2,
      padding: 1,
      bias: true,
      init: "torch_default",
    },
  );
  const [N, H, W, cin, cout, k, s, p] = [2, 3, 4, 2, 3, 4, 2, 1];
  const x = Float32Array.from({ length: N * H * W * cin }, (_, i) => Math.sin(i * 1.3));
  const y = layer.forward(tf.tensor4d(x, [N, H, W, cin]));
  const [Ho, Wo] = [(H - 1) * s - 2 * p + k, (W - 1) * s - 2 * p + k];
  assert.deepEqual(y.shape, [N, Ho, Wo, cout]);
  const wt = await layer.parameters()[0].variable.data(); // [cin, cout, k, k]
  const bias = await layer.parameters()[1].variable.data();
  const ref = new Float64Array(N * Ho * Wo * cout);
  for (let n = 0; n < N; n++) {
    for (let q = 0; q < H; q++) {
      for (let r = 0; r < W; r++) {
        for (let c = 0; c < cin; c++) {
          for (let a = 0; a < k; a++) {
            for (let b = 0; b < k; b++) {
              const i = q * s + a - p, j = r * s + b - p;
              if (i < 0 || j < 0 || i >= Ho || j >= Wo) continue;
              for (let o = 0; o < cout; o++) {
                ref[((n * Ho + i) * Wo + j) * cout + o] += x[((n * H + q) * W + r) * cin + c] *
                  wt[((c * cout + o) * k + a) * k + b];
              }
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < ref.length; i++) ref[i] += bias[i % cout];
  const got = await y.data();
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i] - ref[i]) < 1e-5, `${i}`);
  y.dispose();
});

Deno.test("batch_norm: training uses batch statistics and updates running ones; eval uses running", async () => {
  const bn = (await registry.layer("batch_norm")).create({ tf, name: "bn", rng: new MT19937(1) }, {
    channels: 2,
  });
  const x = tf.tensor2d([[1, 10], [3, 20], [5, 60]]);
  const yt = await bn.forward(x, { training: true }).data();
  // Channel 0: mean 3, biased var 8/3 -> (x - 3)/sqrt(8/3 + 1e-5).
  assert.ok(Math.abs(yt[0] - (1 - 3) / Math.sqrt(8 / 3 + 1e-5)) < 1e-5);
  const [, , rm, rv] = bn.parameters();
  const rmean = await rm.variable.data(), rvar = await rv.variable.data();
  assert.ok(Math.abs(rmean[0] - 0.3) < 1e-6); // 0.9·0 + 0.1·3
  assert.ok(Math.abs(rvar[0] - (0.9 + 0.1 * 4)) < 1e-5); // unbiased var 4
  assert.equal(rm.variable.trainable, false);
  const ye = await bn.forward(x, { training: false }).data();
  assert.ok(Math.abs(ye[0] - (1 - 0.3) / Math.sqrt(1.3 + 1e-5)) < 1e-5);
  // 2-D (NHWC): statistics over N, H, W.
  const bn2 = (await registry.layer("batch_norm")).create(
    { tf, name: "bn2", rng: new MT19937(1) },
    { channels: 3 },
  );
  const y2 = bn2.forward(tf.randomNormal([4, 5, 5, 3], 2, 3, "float32", 1));
  const m = await tf.moments(y2, [0, 1, 2]).mean.data();
  assert.ok(Math.max(...Array.from(m, Math.abs)) < 1e-4);
});

/** Dense Jacobian of the 4x4 stride-2 padding-1 convolution with matrix w [cout, cin·16]. */
function denseDownsample(w: ArrayLike<number>, cin: number, cout: number, H: number): Float64Array {
  const Ho = Math.floor(H / 2);
  const rows = Ho * Ho * cout, cols = H * H * cin;
  const J = new Float64Array(rows * cols);
  for (let i = 0; i < Ho; i++) {
    for (let j = 0; j < Ho; j++) {
      for (let o = 0; o < cout; o++) {
        for (let c = 0; c < cin; c++) {
          for (let a = 0; a < 4; a++) {
            for (let b = 0; b < 4; b++) {
              const y = 2 * i + a - 1, x = 2 * j + b - 1;
              if (y < 0 || x < 0 || y >= H || x >= H) continue;
              J[((i * Ho + j) * cout + o) * cols + (y * H + x) * cin + c] +=
                w[o * cin * 16 + c * 16 + a * 4 + b];
            }
          }
        }
      }
    }
  }
  return J;
}

Deno.test("lipschitz_downsample: forward is the strided conv; its bound is an upper bound of the dense Jacobian's norm, can exceed 1", async () => {
  const orth = (await registry.projection("orthonormalize")).create({ tf }, { bjorckIter: 12 });
  const [cin, cout, H] = [2, 3, 6];
  const layer = (await registry.layer("lipschitz_downsample")).create(
    { tf, name: "d", rng: new MT19937(7), projection: orth },
    { inChannels: cin, outChannels: cout, bias: false, inputSize: H },
  );
  // Forward equals J x.
  const wp = orth.project(layer.parameters()[0].variable);
  const w = await wp.data();
  wp.dispose();
  const J = denseDownsample(w, cin, cout, H);
  const x = Float32Array.from({ length: H * H * cin }, (_, i) => Math.cos(i));
  const y = await layer.forward(tf.tensor4d(x, [1, H, H, cin])).data();
  const cols = H * H * cin;
  for (let r = 0; r < y.length; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += J[r * cols + c] * x[c];
    assert.ok(Math.abs(s - y[r]) < 1e-5);
  }
  const exact = singularValues(J, y.length, cols)[0];
  const bound = (await layer.lipschitzBound()).value!;
  assert.ok(bound >= exact * (1 - 1e-9), `bound ${bound} < exact ${exact}`);
  assert.ok(bound <= 2 + 1e-6, `bound ${bound} above (4.13)'s 2`);
  // A kernel that repeats one orthonormal 2x2 block makes overlapping patches add up: > 1.
  const w2 = new Float64Array(16).fill(0.25); // cin = cout = 1, ||w||_2 = 1
  const J2 = denseDownsample(w2, 1, 1, 8);
  const exact2 = singularValues(J2, 16, 64)[0];
  const b2 = downsampleLipschitzUpperBound(w2, 1, 1, 8);
  assert.ok(exact2 > 1.5, `${exact2}`);
  assert.ok(b2 >= exact2 * (1 - 1e-9) && b2 <= 2 + 1e-9, `${b2} vs ${exact2}`);
});

Deno.test("gradients of a tiny downsample/spline/batch-norm/transposed-conv network match finite differences", async () => {
  const rng = new MT19937(3);
  const orth = (await registry.projection("orthonormalize")).create({ tf }, { bjorckIter: 12 });
  const spline = await registry.activation("linearspline");
  const params = {
    activation_type: "linearspline",
    spline_init: "absolute_value" as const,
    spline_range: 0.5,
    spline_size: 11,
    lipschitz_constrained: true,
  };
  const net = sequentialNetwork(tf, [
    {
      type: "layer",
      name: "d",
      layer: (await registry.layer("lipschitz_downsample")).create({
        tf,
        name: "d",
        rng,
        projection: orth,
      }, { inChannels: 1, outChannels: 4, bias: true, inputSize: 6 }),
    },
    {
      type: "activation",
      name: "a",
      channels: 4,
      activation: spline.create({ tf, channels: 4, mode: "conv", params, name: "a", rng }),
    },
    {
      type: "layer",
      name: "bn",
      layer: (await registry.layer("batch_norm")).create({ tf, name: "bn", rng }, {
        channels: 4,
        init: "gan",
      }),
    },
    {
      type: "layer",
      name: "ct",
      layer: (await registry.layer("conv_transpose")).create({ tf, name: "ct", rng }, {
        inChannels: 4,
        outChannels: 1,
        kernelSize: 4,
        stride: 2,
        padding: 1,
        bias: true,
        init: "torch_default",
      }),
    },
  ]);
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 36 }, (_, i) => Math.sin(0.7 * i)), [
    2,
    6,
    6,
    1,
  ]);
  const target = tf.tensor4d(Float32Array.from({ length: 2 * 36 }, (_, i) => Math.cos(0.3 * i)), [
    2,
    6,
    6,
    1,
  ]);
  const trainable = net.parameters().filter((p) => p.variable.trainable);
  const lossOf = () => tf.tidy(() => tf.sum(tf.mul(net.forward(x), target)) as tf.Scalar);
  const { grads } = tf.variableGrads(lossOf, trainable.map((p) => p.variable));
  // Running statistics change on every training forward but do not enter the training output.
  for (const p of trainable) {
    if (p.name.includes("a/")) continue; // spline coefficients: kinks make FD noisy
    const v = await p.variable.data();
    const g = await grads[p.variable.name].data();
    for (const i of [0, Math.floor(v.length / 2), v.length - 1]) {
      const h = Math.max(2e-3 * Math.abs(v[i]), 3e-4);
      const at = async (d: number) => {
        const w = new Float32Array(v);
        w[i] += d;
        p.variable.assign(tf.tensor(w, p.variable.shape));
        const l = lossOf();
        const r = (await l.data())[0];
        l.dispose();
        return r;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      p.variable.assign(tf.tensor(v, p.variable.shape));
      assert.ok(
        Math.abs(fd - g[i]) < 5e-2 * Math.max(1, Math.abs(fd)),
        `${p.name}[${i}]: fd ${fd} vs ${g[i]}`,
      );
    }
  }
  net.dispose();
});

Deno.test("the WGAN networks have the specified shapes and unique prefixed names", async () => {
  const { buildGenerator, buildDiscriminator } = await import(
    "../plugins/experiments/wgan/networks.ts"
  );
  const g = await buildGenerator(tf, registry, new MT19937(1), { activation_type: "relu" });
  const d = await buildDiscriminator(tf, registry, new MT19937(1), { activation_type: "relu" }, {
    projection: "no_projection",
  });
  const img = g.forward(tf.randomUniform([2, 62]), { training: false }) as Tensor;
  assert.deepEqual(img.shape, [2, 28, 28, 1]);
  const out = d.forward(img as Tensor4D);
  assert.deepEqual(out.shape, [2, 1]);
  const names = [...g.parameters(), ...d.parameters()].map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.every((n) => n.startsWith("generator/") || n.startsWith("discriminator/")));
  g.dispose();
  d.dispose();
});
