/**
 * The denoising experiment from the CLI with `--device webgpu` (the software adapter here, so
 * the sizes are tiny): `train` of a `[1, 4, 4, 1]` BCOP network (circular padding, linear
 * splines) on 8×8 patches for two steps, then `denoise` of its run on webgpu and on cpu, which
 * must agree (docs/backends.md).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers.ts";
import { encodeGrayPng, type GrayImage } from "../core/data/images.ts";
import { extractPatches, writePatchFile } from "../core/data/patches.ts";

Deno.test("denoising with --device webgpu: train two steps, evaluate, denoise (as on cpu)", async () => {
  const dir = await Deno.makeTempDir();
  const val = join(dir, "val");
  await Deno.mkdir(val);
  const images: GrayImage[] = [];
  for (let k = 0; k < 2; k++) {
    const h = 16, w = 16;
    const data = new Float32Array(h * w).map((_, i) =>
      0.5 + 0.3 * Math.sin((i % w) * (0.2 + 0.05 * k)) * Math.cos(Math.floor(i / w) * 0.15)
    );
    images.push({ height: h, width: w, data });
    await Deno.writeFile(join(val, `img${k}.png`), encodeGrayPng(images[k]));
  }
  const h5 = join(dir, "train.h5");
  await writePatchFile(h5, extractPatches(images, { size: 8, stride: 8 })); // 8 patches
  const config = {
    activation_fn_params: {
      activation_type: "linearspline",
      lipschitz_constrained: true,
      lmbda: 1e-6,
      spline_init: "identity",
      spline_range: 0.1,
      spline_size: 11,
    },
    exp_name: "run",
    log_dir: dir,
    net_params: { bias: true, kernel_size: 3, num_channels: [1, 4, 4, 1] },
    optimizer: { lr_spline_coeffs: 1e-5, lr_spline_scaling_coeffs: 1e-4, lr_weights: 1e-3 },
    seed: 3,
    sigma: 25,
    training_options: {
      batch_size: 4,
      epochs: 1,
      train_data_file: h5,
      val_data_file: val,
      patch_size: 8,
    },
  };
  const cfgFile = join(dir, "cfg.json");
  await Deno.writeTextFile(cfgFile, JSON.stringify(config));
  const r = await runCli([
    "train",
    "--exp",
    "denoising",
    "--config",
    cfgFile,
    "--device",
    "webgpu",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /device webgpu/);
  assert.match(r.stdout, /trained 1 epochs of 2 steps/);
  const psnr = Number(r.stdout.match(/validation \(sigma 25, 2 images\): PSNR ([\d.]+) dB/)![1]);
  assert.ok(psnr > 5 && psnr < 60, r.stdout);

  const run = join(dir, "run");
  const means: Record<string, { psnr: number; ssim: number }> = {};
  for (const device of ["webgpu", "cpu"]) {
    const out = join(dir, `out_${device}`);
    const args = ["denoise", run, "--input", val, "--sigma", "25", "--seed", "1", "--out", out];
    const d = await runCli([...args, "--device", device]);
    assert.equal(d.code, 0, d.stderr);
    means[device] = JSON.parse(await Deno.readTextFile(join(out, "metrics.json"))).mean;
    assert.ok((await Deno.stat(join(out, "img1_denoised.png"))).size > 0);
  }
  assert.ok(Math.abs(means.webgpu.psnr - means.cpu.psnr) < 1e-3, JSON.stringify(means));
  assert.ok(Math.abs(means.webgpu.ssim - means.cpu.ssim) < 1e-4, JSON.stringify(means));
});
