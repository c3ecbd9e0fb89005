// The fused Adam update (docs/method.md (3.10)) in WebAssembly SIMD, for the tfjs `wasm` backend.
// Like spline.c, the module imports the backend's memory and owns none. It is the loop of
// core/ops/adam_update.ts operation for operation in float64 (float32 loads and stores at the
// same places), so both give the same bits, two elements per f64x2 vector.
#include <wasm_simd128.h>

// Two float32 at p, widened to float64.
static inline v128_t load2(const float* p) {
  return wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p));
}

// Two float64 rounded to float32 and stored at p.
static inline void store2(float* p, v128_t v) {
  wasm_v128_store64_lane(p, wasm_f32x4_demote_f64x2_zero(v), 0);
}

__attribute__((export_name("adam_update"))) void adam_update(
    const float* w, const float* g, const float* m, const float* v, int n, double beta1,
    double beta2, double eps, double step, double c2, float* wOut, float* mOut, float* vOut) {
  const double b1 = 1 - beta1, b2 = 1 - beta2;
  const v128_t B1 = wasm_f64x2_splat(beta1), B2 = wasm_f64x2_splat(beta2);
  const v128_t C1 = wasm_f64x2_splat(b1), C2 = wasm_f64x2_splat(b2);
  const v128_t E = wasm_f64x2_splat(eps), S = wasm_f64x2_splat(step), K2 = wasm_f64x2_splat(c2);
  int i = 0;
  for (; i + 2 <= n; i += 2) {
    const v128_t gi = load2(g + i);
    // m' = b1 m + (1-b1) g;  v' = b2 v + (1-b2) g g  (each rounded to float32 when stored)
    const v128_t mi = wasm_f64x2_add(wasm_f64x2_mul(B1, load2(m + i)), wasm_f64x2_mul(C1, gi));
    const v128_t vi = wasm_f64x2_add(wasm_f64x2_mul(B2, load2(v + i)),
                                     wasm_f64x2_mul(wasm_f64x2_mul(C2, gi), gi));
    const v128_t mf = wasm_f32x4_demote_f64x2_zero(mi), vf = wasm_f32x4_demote_f64x2_zero(vi);
    wasm_v128_store64_lane(mOut + i, mf, 0);
    wasm_v128_store64_lane(vOut + i, vf, 0);
    // w' = w - (lr/bc1) m' / (sqrt(v' / bc2) + eps), with the float32 m' and v'
    const v128_t den = wasm_f64x2_add(
        wasm_f64x2_sqrt(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(vf), K2)), E);
    const v128_t upd = wasm_f64x2_div(wasm_f64x2_mul(S, wasm_f64x2_promote_low_f32x4(mf)), den);
    store2(wOut + i, wasm_f64x2_sub(load2(w + i), upd));
  }
  for (; i < n; i++) {
    const double gi = g[i];
    const double mi = beta1 * (double)m[i] + b1 * gi;
    const double vi = beta2 * (double)v[i] + b2 * gi * gi;
    const float mf = (float)mi, vf = (float)vi;
    mOut[i] = mf;
    vOut[i] = vf;
    wOut[i] = (float)((double)w[i] - (step * (double)mf) / (__builtin_sqrt((double)vf * c2) + eps));
  }
}
