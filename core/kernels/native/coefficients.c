// The spline-coefficient projection and its TV(2) (docs/method.md §3, (3.2), (3.7), (3.8)) in
// WebAssembly SIMD, for the tfjs `wasm` backend. Like spline.c, the module imports the backend's
// memory and owns none (no data segment, no stack), so it works where the tensors live.
//
// It is the loop of core/ops/spline_coefficients.ts operation for operation, in float64 with
// float32 loads and stores at the same places, so the two give the same bits (tested in
// tests/coefficient_kernels_test.ts). Rows are independent (row r is c[r*K .. r*K + K-1]): two
// rows go through the two lanes of an f64x2 vector, without branches. Slopes sit on the clip
// bound ±T after a relu or identity initialisation, where branches mispredict half the time.
#include <wasm_simd128.h>

// Element k of rows a and b, widened to float64.
static inline v128_t pair(const float* a, const float* b, int k) {
  return wasm_f64x2_make((double)a[k], (double)b[k]);
}

// Store the lanes of v, rounded to float32, at element k of rows a and b.
static inline void put(float* a, float* b, int k, v128_t v) {
  a[k] = (float)wasm_f64x2_extract_lane(v, 0);
  b[k] = (float)wasm_f64x2_extract_lane(v, 1);
}

// clamp(v, -T, T) per lane, NaN passing through, as `clip` in spline_coefficients.ts:
// pmax(v, -T) is `v < -T ? -T : v` and pmin(x, T) is `T < x ? T : x`, one instruction each.
static inline v128_t clip(v128_t v, v128_t T, v128_t negT) {
  return wasm_f64x2_pmin(wasm_f64x2_pmax(v, negT), T);
}

// sign(a) per lane as 1.0, -1.0 or +0.0 (NaN: 0).
static inline v128_t sign(v128_t a) {
  const v128_t one = wasm_f64x2_splat(1.0), zero = wasm_f64x2_splat(0.0);
  return wasm_f64x2_sub(wasm_v128_and(wasm_f64x2_gt(a, zero), one),
                        wasm_v128_and(wasm_f64x2_lt(a, zero), one));
}

// Forward (docs/method.md (3.2)) of rows a, b: d_k = clamp(c[k+1] - c[k], -T, T), p_0 = 0,
// p_{k+1} = p_k + d_k, then p += mean(c) - mean(p); tv = sum_k |d_{k+1} - d_k| / T, the TV(2) of
// p (docs/method.md (3.8)).
static void project_pair(const float* ca, const float* cb, int K, double T, float* pa, float* pb,
                         float* tva, float* tvb) {
  const v128_t Tv = wasm_f64x2_splat(T), negT = wasm_f64x2_splat(-T);
  v128_t prev = pair(ca, cb, 0), q = wasm_f64x2_splat(0), sq = q, sc = prev, dPrev = q, t = q;
  pa[0] = 0.0f;
  pb[0] = 0.0f;
  for (int k = 1; k < K; k++) {
    const v128_t cur = pair(ca, cb, k);
    const v128_t d = clip(wasm_f64x2_sub(cur, prev), Tv, negT);
    if (k > 1) t = wasm_f64x2_add(t, wasm_f64x2_abs(wasm_f64x2_sub(d, dPrev)));
    dPrev = d;
    q = wasm_f64x2_add(q, d);
    put(pa, pb, k, q);
    sq = wasm_f64x2_add(sq, q);
    sc = wasm_f64x2_add(sc, cur);
    prev = cur;
  }
  const v128_t shift = wasm_f64x2_div(wasm_f64x2_sub(sc, sq), wasm_f64x2_splat((double)K));
  for (int k = 0; k < K; k++) put(pa, pb, k, wasm_f64x2_add(pair(pa, pb, k), shift));
  if (tva) put(tva, tvb, 0, wasm_f64x2_div(t, Tv));
}

__attribute__((export_name("coef_project"))) void coef_project(const float* c, int rows, int K,
                                                               double T, float* p, float* tv) {
  // an odd last row goes with itself (both lanes compute it; the second store repeats the first)
  for (int r = 0; r < rows; r += 2) {
    const int s = r + 1 < rows ? r + 1 : r;
    project_pair(c + r * K, c + s * K, K, T, p + r * K, p + s * K, tv ? tv + r : 0,
                 tv ? tv + s : 0);
  }
}

// Gradient (docs/method.md (3.7)) of rows a, b for upstream g: with G = sum_k g_k,
// gd_j = sum_{k > j} (g_k - G/K), and dc_i = G/K plus ±gd_j where slope j was not clipped (the
// clip test in float32). With dtv, the TV(2) term (sign(a_{j-1}) - sign(a_j)) dtv / T joins
// gd_j, a_k = d_{k+1} - d_k. The scalar loop adds gd to dc_{j+1} only where the slope passed;
// adding +0 elsewhere is the same (dc is never -0: it starts at G/K, and G is a sum from +0).
static void project_grad_pair(const float* ca, const float* cb, const float* ga, const float* gb,
                              const float* dtva, const float* dtvb, int K, double T, float* da,
                              float* db) {
  const v128_t Tv = wasm_f64x2_splat(T), negT = wasm_f64x2_splat(-T);
  const v128_t T32 = wasm_f64x2_splat((double)(float)T), negT32 = wasm_f64x2_splat(-(double)(float)T);
  const v128_t zero = wasm_f64x2_splat(0.0);
  const v128_t tvScale = dtva ? wasm_f64x2_div(pair(dtva, dtvb, 0), Tv) : zero;
  v128_t G = zero;
  for (int k = 0; k < K; k++) G = wasm_f64x2_add(G, pair(ga, gb, k));
  const v128_t mean = wasm_f64x2_div(G, wasm_f64x2_splat((double)K));
  v128_t suffix = zero, signNext = zero;
  // d_j for the current j, carried down the loop (d_{j-1} becomes the next d_j)
  v128_t dj = K >= 2 ? clip(wasm_f64x2_sub(pair(ca, cb, K - 1), pair(ca, cb, K - 2)), Tv, negT)
                     : zero;
  put(da, db, K - 1, mean);
  for (int j = K - 2; j >= 0; j--) {
    suffix = wasm_f64x2_add(suffix, wasm_f64x2_sub(pair(ga, gb, j + 1), mean));
    v128_t gd = suffix;
    const v128_t cj = pair(ca, cb, j), cj1 = pair(ca, cb, j + 1);
    v128_t djm1 = zero;
    if (j > 0) djm1 = clip(wasm_f64x2_sub(cj, pair(ca, cb, j - 1)), Tv, negT);
    if (dtva) {
      const v128_t signPrev = j > 0 ? sign(wasm_f64x2_sub(dj, djm1)) : zero;
      gd = wasm_f64x2_add(gd, wasm_f64x2_mul(wasm_f64x2_sub(signPrev, signNext), tvScale));
      signNext = signPrev;
    }
    // the clip test in float32: the difference rounded to float32, against float32 T
    const v128_t diff = wasm_f64x2_promote_low_f32x4(
        wasm_f32x4_demote_f64x2_zero(wasm_f64x2_sub(cj1, cj)));
    const v128_t pass = wasm_v128_and(wasm_f64x2_ge(diff, negT32), wasm_f64x2_le(diff, T32));
    const v128_t passed = wasm_v128_and(pass, gd);  // gd where the slope passed, else +0
    put(da, db, j, wasm_f64x2_sub(mean, passed));
    put(da, db, j + 1, wasm_f64x2_add(pair(da, db, j + 1), passed));
    dj = djm1;
  }
}

__attribute__((export_name("coef_project_grad"))) void coef_project_grad(
    const float* c, const float* g, const float* dtv, int rows, int K, double T, float* dc) {
  for (int r = 0; r < rows; r += 2) {
    const int s = r + 1 < rows ? r + 1 : r;
    project_grad_pair(c + r * K, c + s * K, g + r * K, g + s * K, dtv ? dtv + r : 0,
                      dtv ? dtv + s : 0, K, T, dc + r * K, dc + s * K);
  }
}
