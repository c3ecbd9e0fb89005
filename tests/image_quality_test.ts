import assert from "node:assert/strict";
import { psnr, ssim, ssimTaps } from "../core/metrics/image_quality.ts";

const C1 = 0.01 ** 2, C2 = 0.03 ** 2;

Deno.test("PSNR matches hand-computed values", () => {
  // A constant error of 0.1: MSE 0.01, PSNR 20 dB; of 0.01: 40 dB.
  assert.ok(Math.abs(psnr(new Float32Array(9), new Float32Array(9).fill(0.1)) - 20) < 1e-5);
  const x = Float32Array.from([0, 0.5, 1, 0.25]);
  const y = Float32Array.from([0.02, 0.5, 1, 0.25]); // MSE = 0.0004 / 4 = 1e-4 → 40 dB
  assert.ok(Math.abs(psnr(x, y) - 40) < 1e-4);
  // Data range 255: MSE 1 → 20 log10(255) = 48.1308 dB.
  assert.ok(Math.abs(psnr([0, 0], [1, 1], 255) - 48.13080360867910) < 1e-9);
  assert.equal(psnr(x, x), Infinity);
});

Deno.test("SSIM window: 11 normalised Gaussian taps of standard deviation 1.5", () => {
  const t = ssimTaps();
  assert.equal(t.length, 11);
  assert.ok(Math.abs(t.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  // Ratio of neighbouring taps: exp(-(k+1)²/4.5 + k²/4.5).
  assert.ok(Math.abs(t[6] / t[5] - Math.exp(-1 / 4.5)) < 1e-14);
  assert.ok(Math.abs(t[10] / t[5] - Math.exp(-25 / 4.5)) < 1e-14);
});

Deno.test("SSIM of constant images is the luminance term (2ab + C1)/(a² + b² + C1)", () => {
  const n = 20;
  for (const [a, b] of [[0.5, 0.5], [0.2, 0.6], [0, 1], [0.9, 0.3]]) {
    const got = ssim(new Float32Array(n * n).fill(a), new Float32Array(n * n).fill(b), n, n);
    const f = (v: number) => Math.fround(v); // the images are float32
    const want = (2 * f(a) * f(b) + C1) / (f(a) ** 2 + f(b) ** 2 + C1);
    assert.ok(Math.abs(got - want) < 1e-12, `${a}, ${b}: ${got} vs ${want}`);
  }
});

Deno.test("SSIM of an 11×11 image is the one-window formula (brute force, float64)", () => {
  // Deterministic pseudo-random pixels.
  const n = 11;
  const x = new Float64Array(n * n), y = new Float64Array(n * n);
  let s = 12345;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < n * n; i++) {
    x[i] = r();
    y[i] = 0.7 * x[i] + 0.3 * r();
  }
  // Direct 2-D Gaussian weights w(i, j) ∝ exp(-((i-5)² + (j-5)²) / 4.5).
  let wsum = 0;
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      wsum += w[i * n + j] = Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / 4.5);
    }
  }
  let mx = 0, my = 0;
  for (let k = 0; k < n * n; k++) {
    mx += (w[k] / wsum) * x[k];
    my += (w[k] / wsum) * y[k];
  }
  let vx = 0, vy = 0, cxy = 0;
  for (let k = 0; k < n * n; k++) {
    const p = w[k] / wsum;
    vx += p * (x[k] - mx) ** 2;
    vy += p * (y[k] - my) ** 2;
    cxy += p * (x[k] - mx) * (y[k] - my);
  }
  const want = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
  const got = ssim(x, y, n, n);
  assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  assert.ok(got > 0 && got < 1);
});

Deno.test("SSIM is 1 for identical images, symmetric, and averages over window positions", () => {
  const h = 16, w = 13;
  const x = new Float64Array(h * w).map((_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
  const y = x.map((v, i) => v + 0.05 * Math.cos(i * 1.3));
  assert.ok(Math.abs(ssim(x, x, h, w) - 1) < 1e-12);
  assert.ok(Math.abs(ssim(x, y, h, w) - ssim(y, x, h, w)) < 1e-12);
  // Mean over the 6×3 window positions, each computed on its 11×11 crop.
  let sum = 0;
  for (let i = 0; i + 11 <= h; i++) {
    for (let j = 0; j + 11 <= w; j++) {
      const crop = (a: Float64Array) => {
        const c = new Float64Array(121);
        for (let r = 0; r < 11; r++) {
          for (let q = 0; q < 11; q++) c[r * 11 + q] = a[(i + r) * w + j + q];
        }
        return c;
      };
      sum += ssim(crop(x), crop(y), 11, 11);
    }
  }
  assert.ok(Math.abs(ssim(x, y, h, w) - sum / 18) < 1e-12);
  assert.throws(() => ssim(new Float32Array(100), new Float32Array(100), 10, 10), /at least 11/);
});
