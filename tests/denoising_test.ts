import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tf, useBackend } from "./helpers.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";
import { encodeGrayPng, listImages, readGrayImage } from "../core/data/images.ts";
import { extractPatches, writePatchFile } from "../core/data/patches.ts";
import { runDenoise, tooLarge } from "../cli/commands/denoise.ts";
import { isUserError } from "../core/errors.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { train } from "../core/train/engine.ts";
import { hostOps } from "../core/plugin/host_ops.ts";
import type { ExperimentContext, Metrics } from "../core/plugin/interfaces.ts";

/** A folder of `n` smooth synthetic 24×24 grayscale PNGs. */
async function imageFolder(n: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (let k = 0; k < n; k++) {
    const h = 24, w = 24;
    const data = new Float32Array(h * w).map((_, i) =>
      0.5 + 0.3 * Math.sin((i % w) * (0.2 + 0.05 * k)) * Math.cos(Math.floor(i / w) * 0.15)
    );
    await Deno.writeFile(join(dir, `img${k}.png`), encodeGrayPng({ height: h, width: w, data }));
  }
  return dir;
}

/** A tiny denoising config: 2 BCOP layers of 4 channels, 12×12 patches. */
function tinyConfig(train: string, val: string, logDir: string, name: string) {
  return {
    activation_fn_params: {
      activation_type: "linearspline",
      lipschitz_constrained: true,
      lmbda: 1e-6,
      spline_init: "identity",
      spline_range: 0.1,
      spline_size: 11,
    },
    exp_name: name,
    log_dir: logDir,
    net_params: { bias: true, kernel_size: 3, num_channels: [1, 4, 1] },
    optimizer: { lr_spline_coeffs: 1e-4, lr_spline_scaling_coeffs: 1e-4, lr_weights: 1e-2 },
    seed: 3,
    sigma: 25,
    training_options: {
      batch_size: 4,
      epochs: 2,
      train_data_file: train,
      val_data_file: val,
      patch_size: 12,
      patch_stride: 12,
      checkpoint_every_steps: 2,
    },
  };
}

Deno.test("denoising from the CLI: data patches, train, certify, denoise, report; a bad input exits 2", async () => {
  const imgs = await imageFolder(3);
  const dir = await Deno.makeTempDir();
  const h5 = join(dir, "train.h5");
  const made = await runCli([
    "data",
    "patches",
    "--images",
    imgs,
    "--out",
    h5,
    "--size",
    "12",
    "--stride",
    "12",
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /wrote 12 patches of 12×12 from 3 images/);

  const cfgFile = join(dir, "cfg.json");
  await Deno.writeTextFile(cfgFile, JSON.stringify(tinyConfig(h5, imgs, dir, "run")));
  const r = await runCli(["train", "--exp", "denoising", "--config", cfgFile, "--device", "cpu"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /training on 12 patches of 12×12/);
  assert.match(r.stdout, /validation \(sigma 25, 3 images\): PSNR [\d.]+ dB, SSIM/);
  const run = join(dir, "run");
  const rows = (await Deno.readTextFile(join(run, "metrics.jsonl"))).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(rows.map((x) => x.epoch), [0, 1]);
  for (const row of rows) {
    assert.ok(Number.isFinite(row.val_psnr) && row.val_ssim <= 1);
    assert.ok(Number.isFinite(row["val_psnr/img0"]) && Number.isFinite(row["val_ssim/img2"]));
  }
  const best = await readCheckpoint(join(run, "best.h5"));
  assert.equal(
    best.meta.best && (best.meta.best as { value: number }).value,
    Math.max(...rows.map((x) => x.val_psnr)),
  );
  for (
    const f of ["figures/denoised.png", "figures/epochs/denoised_epoch_1.png", "figures/curves.png"]
  ) {
    assert.ok((await Deno.stat(join(run, f))).size > 0, f);
  }

  // certify: the BCOP layers' DFT bounds, product ≤ 1 + 1e-3.
  const c = await runCli(["certify", run, "--max", "1.001", "--json", "--device", "cpu"]);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  const cert = JSON.parse(await Deno.readTextFile(join(run, "certify.json")));
  const product = cert.upper_bound ?? cert.product ?? cert.networks?.[0]?.upper_bound;
  assert.ok(typeof product === "number" && product <= 1.001, JSON.stringify(cert).slice(0, 300));

  // denoise with --sigma: a table per image and the mean, written as JSON.
  const out = join(dir, "out");
  const d = await runCli([
    "denoise",
    run,
    "--input",
    imgs,
    "--sigma",
    "25",
    "--seed",
    "1",
    "--out",
    out,
    "--device",
    "cpu",
  ]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /img1\.png\s+24x24/);
  assert.match(d.stdout, /\nmean\s/);
  const m = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
  assert.equal(m.images.length, 3);
  assert.ok(m.mean.psnr > 0 && m.mean.noisy_psnr > 0);

  const rep = await runCli(["report", run]);
  assert.equal(rep.code, 0, rep.stderr);

  // A bad input: one line on stderr, exit 2 (the other bad inputs are checked in-process below).
  const cfg2 = join(dir, "cfg2.json");
  await Deno.writeTextFile(cfg2, JSON.stringify(tinyConfig(join(dir, "nope"), imgs, dir, "bad")));
  const b = await runCli(["train", "--exp", "denoising", "--config", cfg2, "--device", "cpu"]);
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, /neither a folder nor a file: .*nope/);
  assert.equal(b.stderr.trim().split("\n").filter((l) => l.startsWith("error")).length, 1);
});

/** Train the tiny config in-process (no CLI), into `dir/name`; returns the run folder. */
async function trainInProcess(config: Record<string, unknown>, dir: string): Promise<string> {
  const registry = createRegistry(builtinPlugins);
  const experiment = await registry.experiment("denoising");
  const runDir = join(dir, String(config.exp_name));
  await Deno.mkdir(runDir, { recursive: true });
  await Deno.writeTextFile(join(runDir, "config.json"), JSON.stringify(config));
  const ctx: ExperimentContext = {
    tf,
    ops: hostOps,
    config,
    runDir,
    registry,
    rng: new MT19937(3),
    progress: { start() {}, update() {}, stop() {} },
    log: () => {},
    signal: new AbortController().signal,
    logMetrics: () => Promise.resolve(),
  };
  await train(ctx, await experiment.prepare!(ctx));
  return runDir;
}

Deno.test("denoising in-process: denoise is reproducible, takes any image size; bad inputs are UserErrors", async () => {
  await useBackend("cpu");
  const imgs = await imageFolder(2);
  const dir = await Deno.makeTempDir();
  const registry = createRegistry(builtinPlugins);
  const config = tinyConfig(imgs, imgs, dir, "run") as unknown as Record<string, unknown>;
  (config.training_options as Record<string, unknown>).epochs = 1;
  const run = await trainInProcess(config, dir);
  const quiet = () => {};

  // Same seed, same noise: same numbers.
  const out = join(dir, "out");
  const opts = { input: imgs, sigma: "25", seed: "1", out, device: "cpu" as const };
  const a = await runDenoise(run, opts, registry, quiet);
  const again = await runDenoise(run, opts, registry, quiet);
  assert.equal(a.length, 2);
  assert.deepEqual(again, a);
  assert.ok(a.every((row) => row.psnr! > 0 && row.noisy_psnr! > 0));

  // Without --sigma: one odd-sized image in, one denoised image out.
  const odd = join(dir, "odd.png");
  await Deno.writeFile(
    odd,
    encodeGrayPng({ height: 17, width: 30, data: new Float32Array(510).fill(0.4) }),
  );
  const rows = await runDenoise(
    join(run, "checkpoint.h5"),
    { input: odd, out, device: "cpu" },
    registry,
    quiet,
  );
  assert.deepEqual([rows[0].height, rows[0].width, rows[0].psnr], [17, 30, undefined]);
  assert.ok((await Deno.stat(join(out, "odd_denoised.png"))).size > 0);

  // An image too large for the backend's memory (measured: 2400×2400 with this preset's network on
  // wasm) is a one-line user error naming the file and its size; other errors pass through.
  const big = tooLarge(
    new RangeError("WebAssembly.Memory.grow(): Unable to grow instance memory"),
    "big.png",
    2400,
    2400,
    "wasm",
  );
  assert.ok(big && isUserError(big));
  assert.match(
    big.message,
    /^Cannot denoise big\.png as its 2400×2400 pixels need more memory than the wasm backend has/,
  );
  assert.equal(tooLarge(new TypeError("x is undefined"), "a.png", 9, 9, "wasm"), null);

  // Bad inputs: UserErrors naming what is wrong (the CLI prints them on one line, exit 2).
  const userError = async (f: () => Promise<unknown>, re: RegExp) => {
    const e = await f().then(() => null, (err) => err);
    assert.ok(isUserError(e), `expected a UserError, got ${e}`);
    assert.match((e as Error).message, re);
  };
  await userError(
    () => runDenoise(run, { input: join(dir, "none.png"), device: "cpu" }, registry, quiet),
    /--input does not exist/,
  );
  await userError(
    () => runDenoise(run, { input: imgs, sigma: "x", device: "cpu" }, registry, quiet),
    /Invalid --sigma/,
  );
  const wrong = join(dir, "wrong.h5");
  await writePatchFile(
    wrong,
    extractPatches([await readGrayImage(join(imgs, "img0.png"))], {
      size: 8,
      stride: 8,
    }),
  );
  const bad = tinyConfig(wrong, imgs, dir, "bad2") as unknown as Record<string, unknown>;
  await userError(() => trainInProcess(bad, dir), /must be \[1, 12, 12\]/);
  await userError(() => listImages(join(dir, "none"), "image folder (--images)"), /not a folder/);
});

Deno.test("denoising noise is drawn from the run's RNG: a run stopped mid-epoch and resumed ends identically", async () => {
  await useBackend("cpu");
  const imgs = await imageFolder(2);
  const registry = createRegistry(builtinPlugins);
  const experiment = await registry.experiment("denoising");
  const runOnce = async (dir: string, opts: { abortAt?: number; resume?: boolean }) => {
    const config = tinyConfig(imgs, imgs, dir, "r") as unknown as Record<string, unknown>;
    (config.training_options as Record<string, unknown>).patch_stride = 6; // 9 patches per image
    const controller = new AbortController();
    const rows: Metrics[] = [];
    const ctx: ExperimentContext = {
      tf,
      ops: hostOps,
      config,
      runDir: dir,
      registry,
      rng: new MT19937(3),
      progress: { start() {}, update() {}, stop() {} },
      log: () => {},
      signal: controller.signal,
      resume: opts.resume ? await readCheckpoint(join(dir, "checkpoint.h5")) : undefined,
      logMetrics: (m) => {
        rows.push(m);
        return Promise.resolve();
      },
    };
    const plan = await experiment.prepare!(ctx);
    const step = plan.step.bind(plan);
    plan.step = (b, index) => {
      if (index.globalStep === opts.abortAt) controller.abort();
      return step(b, index);
    };
    let final: Float32Array[] = [];
    const dispose = plan.dispose.bind(plan);
    plan.dispose = () => {
      final = plan.parameters.map((p) => new Float32Array(p.variable.dataSync()));
      dispose();
    };
    await train(ctx, plan);
    return { rows, final };
  };
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const full = await runOnce(a, {});
  const cut = await runOnce(b, { abortAt: 6 }); // epoch 1 (5 steps per epoch), step 1
  const ck = await readCheckpoint(join(b, "checkpoint.h5"));
  assert.equal(ck.meta.step_in_epoch, 2, "stopped in the middle of epoch 1");
  const resumed = await runOnce(b, { resume: true });
  assert.deepEqual(resumed.rows.map((r) => r.val_psnr), [full.rows[1].val_psnr]);
  assert.equal(cut.rows.length, 1);
  full.final.forEach((w, i) => assert.deepEqual(resumed.final[i], w, `parameter ${i}`));
});
