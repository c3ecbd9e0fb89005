/**
 * The Winograd convolutions of the BLAS route (core/kernels/blas/winograd.ts): forward, input and
 * filter gradients against float64 brute force for both tiles, every padding the transforms
 * handle (same, valid, explicit, outputs not a multiple of the tile), padded output channels
 * (64 → 1 as in the denoiser's last layer), several chunks of images, an image in bands of tile
 * rows (as a large one goes when its tiles exceed the chunk budget); the filter transform's
 * adjoint; which convolutions take the route.
 */
import assert from "node:assert/strict";
import { openBlas } from "../core/backend/openblas_ffi.ts";
import {
  filterTransform,
  filterTransformTranspose,
  WINOGRAD_CHUNK_BYTES,
  winogradApplies,
  winogradConv2D,
  winogradConv2DBackpropFilter,
  winogradConv2DBackpropInput,
  type WinogradTile,
} from "../core/kernels/blas/winograd.ts";
import type { ConvGeometry } from "../core/kernels/cpu/missing.ts";
import { type ConvCase, convGradsRef, geometry, rand } from "./brute_force.ts";

const BLAS = openBlas();

/** Largest |got - want| relative to the largest |want|. */
function relErr(got: Float32Array, want: Float64Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  return d / s;
}

const CASES: ConvCase[] = [
  { x: [3, 11, 13, 16], f: [3, 3, 16, 20], s: [1, 1], pad: "same" }, // OH, OW odd
  { x: [2, 10, 10, 16], f: [3, 3, 16, 16], s: [1, 1], pad: "valid" }, // 8×8: whole tiles
  { x: [2, 9, 12, 20], f: [3, 3, 20, 1], s: [1, 1], pad: "same" }, // 1 output channel, padded to 4
  { x: [1, 7, 9, 16], f: [3, 3, 16, 6], s: [1, 1], pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  // 1.2 MiB of tiles per image (F(4×4), 16×16 tiles): 60 images span two chunks of 64 MiB
  { x: [60, 66, 66, 16], f: [3, 3, 16, 16], s: [1, 1], pad: "valid" },
];

Deno.test({
  name: "Winograd F(2×2) and F(4×4): forward, input and filter gradients match float64",
  ignore: BLAS === null,
  fn() {
    const big = CASES.at(-1)!;
    const perImage = 36 * (64 / 4) ** 2 * (big.x[3] + big.f[3]) * 4;
    assert.ok(big.x[0] * perImage > WINOGRAD_CHUNK_BYTES, "the last case must span chunks");
    for (const [i, c] of CASES.entries()) {
      const [N, H, W, Cin] = c.x, Cout = c.f[3];
      const { OH, OW, top, left } = geometry(H, W, 3, 3, c.s, c.pad);
      const g: ConvGeometry = { N, H, W, Cin, OH, OW, Cout, fh: 3, fw: 3, sh: 1, sw: 1, top, left };
      const x = rand(N * H * W * Cin, 40 + i), w = rand(9 * Cin * Cout, 50 + i);
      const dy = rand(N * OH * OW * Cout, 60 + i);
      const ref = convGradsRef(c, x, w, dy);
      // whole images per chunk, and (small cases) bands of 1 and 2 tile rows per chunk, as a
      // large image gets when its tiles exceed the chunk budget
      const budgets = i < CASES.length - 1
        ? [undefined, 1, 36 * 4 * (Cin + 20) * 4 * 8]
        : [undefined];
      for (const m of [2, 4] as WinogradTile[]) {
        for (const budget of budgets) {
          const y = new Float32Array(ref.y.length), dx = new Float32Array(x.length).fill(NaN);
          const dw = new Float32Array(w.length).fill(NaN); // every entry must be written
          winogradConv2D(x, w, y, g, BLAS!, null, m, budget);
          winogradConv2DBackpropInput(dy, w, dx, g, BLAS!, null, m, budget);
          winogradConv2DBackpropFilter(x, dy, dw, g, BLAS!, null, m, budget);
          // float32 rounding of the transforms: ~1e-7 (m = 2), ~3e-6 (m = 4) measured
          const tol = m === 2 ? 2e-6 : 2e-5;
          const at = `case ${i}, m = ${m}, budget ${budget ?? "default"}`;
          assert.ok(relErr(y, ref.y) < tol, `${at}: forward ${relErr(y, ref.y)}`);
          assert.ok(relErr(dx, ref.dx) < tol, `${at}: input gradient ${relErr(dx, ref.dx)}`);
          assert.ok(relErr(dw, ref.dw) < tol, `${at}: filter gradient ${relErr(dw, ref.dw)}`);
        }
      }
    }
  },
});

Deno.test("the Winograd filter transform's transpose is its adjoint", () => {
  for (const m of [2, 4] as WinogradTile[]) {
    const Cin = 4, Cout = 3, a2 = (m + 2) ** 2;
    const w = rand(9 * Cin * Cout, 1), d = rand(a2 * Cin * Cout, 2);
    const u = filterTransform(w, Cin, Cout, m);
    const dw = new Float32Array(w.length);
    filterTransformTranspose(d, dw, Cin, Cout, m);
    // <G w G^T, d> = <w, G^T d G>
    let lhs = 0, rhs = 0;
    for (let i = 0; i < u.length; i++) lhs += u[i] * d[i];
    for (let i = 0; i < w.length; i++) rhs += w[i] * dw[i];
    assert.ok(Math.abs(lhs - rhs) < 1e-5 * (1 + Math.abs(lhs)), `m = ${m}: ${lhs} vs ${rhs}`);
    // the centre tap of F(2×2) is the filter itself at the corners of the tile: U[0] = g[0][0]
    if (m === 2) { for (let i = 0; i < Cin * Cout; i++) assert.equal(u[i], w[i]); }
  }
});

Deno.test("which convolutions take the Winograd route", () => {
  const g = (o: Partial<ConvGeometry>): ConvGeometry => ({
    N: 1,
    H: 8,
    W: 8,
    Cin: 64,
    OH: 8,
    OW: 8,
    Cout: 64,
    fh: 3,
    fw: 3,
    sh: 1,
    sw: 1,
    top: 1,
    left: 1,
    ...o,
  });
  for (const pass of ["forward", "input", "filter"] as const) {
    assert.ok(winogradApplies(g({}), pass), pass);
    assert.ok(!winogradApplies(g({ fh: 5, fw: 5 }), pass), `${pass}: 5×5`);
    assert.ok(!winogradApplies(g({ sh: 2, sw: 2 }), pass), `${pass}: stride 2`);
  }
  // the denoiser's first layer (1 → 64): thin input, im2col; its last (64 → 1): forward and
  // filter gradient by Winograd with the output padded to 4 channels, input gradient by im2col
  assert.ok(!winogradApplies(g({ Cin: 1 }), "forward"));
  assert.ok(!winogradApplies(g({ Cin: 1 }), "filter"));
  assert.ok(winogradApplies(g({ Cout: 1 }), "forward"));
  assert.ok(winogradApplies(g({ Cout: 1 }), "filter"));
  assert.ok(!winogradApplies(g({ Cout: 1 }), "input"));
  assert.ok(!winogradApplies(g({ Cin: 18 }), "forward"), "not a multiple of 4");
  assert.ok(!winogradApplies(g({ Cin: 8, Cout: 8 }), "forward"), "below 16 channels");
});
