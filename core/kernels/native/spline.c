// Fused linear-spline kernels (spec §3) in WebAssembly SIMD, for the tfjs `wasm` backend.
//
// The module imports the backend's own memory (`env.memory`), so it reads and writes tensors
// where they live: no copies. It therefore must not own any memory: no data segments and no
// stack (every local fits in registers); core/kernels/native/build.sh checks both.
//
// Layout (core/ops/spline.ts): x is [G, N, C], element (g, n, c) uses channel ch = g*C + c,
// coef is [G*C, K], alpha is [G*C]. Knot units (spec §3, "Evaluation"):
//   w = x * alpha / T + off,  off = z - shift / T,
//   j = clamp(floor(w), 0, K-2),  f = w - j  (unclamped w: linear extension),
//   y = (p[j] + (p[j+1] - p[j]) f + shift) / alpha.
// Four consecutive channels share one vector; each lane's segment line is gathered with one
// 64-bit load (wasm SIMD has no gather).

#include <wasm_simd128.h>

// Per channel: sa = alpha / T and ia = 1 / alpha (spec §3: u = alpha x, y = s(u) / alpha); per
// segment j the line y = P_j + D_j f with P_j = (p[j] + shift) / alpha, D_j = (p[j+1] - p[j]) /
// alpha (spec §3, "Evaluation"), so s'(u) = D_j alpha / T. They are formed where an input needs
// them, from the pair (p[j], p[j+1]) gathered with one 64-bit load: no O(channels × K) table per
// call, which in the 1d experiment (10 inputs per channel, K = 101) cost more than the inputs.

// Four consecutive channels ch..ch+3 for inputs xv: knot coordinate w, fraction f, flat segment
// index ch*K + j per lane, and the gathered (P_j, D_j) (spec §3 clamp of u; NaN inputs use
// segment 0, as in the scalar path).
typedef struct {
  v128_t f, P, D, sa, ia;
  int idx[4];
} Lanes;

static inline Lanes lanes4(v128_t xv, const float* coef, const float* alpha, int ch, int K,
                           float invT, float off, float shift, float jm) {
  Lanes s;
  const v128_t a = wasm_v128_load(alpha + ch);
  s.sa = wasm_f32x4_mul(a, wasm_f32x4_splat(invT));
  s.ia = wasm_f32x4_div(wasm_f32x4_splat(1.0f), a);
  v128_t w = wasm_f32x4_add(wasm_f32x4_mul(xv, s.sa), wasm_f32x4_splat(off));
  // pmax/pmin are single instructions (max/min are not, for their NaN and -0 rules):
  // pmax(0, NaN) = 0, so NaN lands on segment 0; then 0 <= jf <= K-2 is a small integer
  v128_t jf = wasm_f32x4_pmax(wasm_f32x4_splat(0.0f), wasm_f32x4_floor(w));
  jf = wasm_f32x4_pmin(jf, wasm_f32x4_splat(jm));
  s.f = wasm_f32x4_sub(w, jf);
  // float -> int of a small non-negative integer: add 2^23, the integer is in the mantissa
  v128_t j = wasm_i32x4_sub(wasm_f32x4_add(jf, wasm_f32x4_splat(8388608.0f)),
                            wasm_i32x4_splat(0x4B000000));
  v128_t base = wasm_i32x4_mul(wasm_i32x4_add(wasm_i32x4_splat(ch), wasm_i32x4_make(0, 1, 2, 3)),
                               wasm_i32x4_splat(K));
  v128_t idx = wasm_i32x4_add(base, j);
  s.idx[0] = wasm_i32x4_extract_lane(idx, 0);
  s.idx[1] = wasm_i32x4_extract_lane(idx, 1);
  s.idx[2] = wasm_i32x4_extract_lane(idx, 2);
  s.idx[3] = wasm_i32x4_extract_lane(idx, 3);
  // one 64-bit load per lane fetches the pair (p[j], p[j+1])
  v128_t v01 = wasm_v128_load64_zero(coef + s.idx[0]);
  v01 = wasm_v128_load64_lane(coef + s.idx[1], v01, 1);
  v128_t v23 = wasm_v128_load64_zero(coef + s.idx[2]);
  v23 = wasm_v128_load64_lane(coef + s.idx[3], v23, 1);
  const v128_t p0 = wasm_i32x4_shuffle(v01, v23, 0, 2, 4, 6);
  const v128_t p1 = wasm_i32x4_shuffle(v01, v23, 1, 3, 5, 7);
  s.P = wasm_f32x4_mul(wasm_f32x4_add(p0, wasm_f32x4_splat(shift)), s.ia);
  s.D = wasm_f32x4_mul(wasm_f32x4_sub(p1, p0), s.ia);
  return s;
}

// Scalar segment of one element (same arithmetic as lanes4, one lane).
static inline int segment1(float w, float jm) {
  float jf = __builtin_floorf(w);
  jf = jf > 0.0f ? jf : 0.0f;
  jf = jf < jm ? jf : jm;
  return jf == jf ? (int)jf : 0;  // NaN -> 0, as the vector path
}

// Forward pass (spec §3, "Evaluation"): y = P_j + D_j f.
__attribute__((export_name("spline_forward"))) void spline_forward(
    const float* x, const float* coef, const float* alpha, float* out, int G, int N, int C, int K,
    float invT, float off, float shift) {
  const float jm = (float)(K - 2);
  const int C4 = C & ~3;
  for (int g = 0; g < G; g++) {
    for (int n = 0; n < N; n++) {
      const int row = (g * N + n) * C;
      for (int c = 0; c < C4; c += 4) {
        Lanes s = lanes4(wasm_v128_load(x + row + c), coef, alpha, g * C + c, K, invT, off, shift,
                         jm);
        wasm_v128_store(out + row + c, wasm_f32x4_add(s.P, wasm_f32x4_mul(s.D, s.f)));
      }
      for (int c = C4; c < C; c++) {
        const int ch = g * C + c;
        const float ia = 1.0f / alpha[ch];
        const float w = x[row + c] * (alpha[ch] * invT) + off;
        const int j = segment1(w, jm);
        const float* p = coef + ch * K + j;
        out[row + c] = (p[0] + shift) * ia + ((p[1] - p[0]) * ia) * (w - (float)j);
      }
    }
  }
}

// Backward pass (spec §3, "Gradients") for upstream dy:
//   dx = dy (p[j+1] - p[j]) / T;  with g = dy / alpha: dcoef[j] += (1-f) g, dcoef[j+1] += f g;
//   dalpha = -(1/alpha) Σ_j b_j Σ_{i in j} g_i,  b_j = p[j] + shift - (p[j+1] - p[j]) (j - off)
// (the intercept s(0) of segment j; see core/kernels/spline_cpu.ts). Per segment the loop sums
// S0 = Σ g and S1 = Σ g f in float64 (S: 2 doubles per segment, all zero on entry), then forms
// dcoef and dalpha per channel. With `list` (G*C*N ints), each input's flat segment index is
// recorded there, for the sparse finish.
static inline void accumulate(const float* x, const float* coef, const float* alpha,
                              const float* dy, float* dx, int G, int N, int C, int K, float invT,
                              float off, float shift, double* S, int* list) {
  const float jm = (float)(K - 2);
  const int C4 = C & ~3;
  for (int g = 0; g < G; g++) {
    for (int n = 0; n < N; n++) {
      const int row = (g * N + n) * C;
      for (int c = 0; c < C4; c += 4) {
        const int ch = g * C + c;
        Lanes s = lanes4(wasm_v128_load(x + row + c), coef, alpha, ch, K, invT, off, shift, jm);
        v128_t d = wasm_v128_load(dy + row + c);
        // dx = dy s'(u) = dy D_j alpha / T
        wasm_v128_store(dx + row + c, wasm_f32x4_mul(d, wasm_f32x4_mul(s.D, s.sa)));
        v128_t gv = wasm_f32x4_mul(d, s.ia);  // g = dy / alpha
        v128_t gf = wasm_f32x4_mul(gv, s.f);
        // (g, g f) of each lane, widened to float64 and added to its segment's (S0, S1);
        // four distinct channels, so four distinct segments: no conflicts within a vector
        v128_t lo = wasm_i32x4_shuffle(gv, gf, 0, 4, 1, 5);
        v128_t hi = wasm_i32x4_shuffle(gv, gf, 2, 6, 3, 7);
        double* s0 = S + 2 * s.idx[0];
        double* s1 = S + 2 * s.idx[1];
        double* s2 = S + 2 * s.idx[2];
        double* s3 = S + 2 * s.idx[3];
        wasm_v128_store(s0, wasm_f64x2_add(wasm_v128_load(s0), wasm_f64x2_promote_low_f32x4(lo)));
        wasm_v128_store(s1, wasm_f64x2_add(wasm_v128_load(s1), wasm_f64x2_promote_low_f32x4(
                                                                   wasm_i64x2_shuffle(lo, lo, 1, 0))));
        wasm_v128_store(s2, wasm_f64x2_add(wasm_v128_load(s2), wasm_f64x2_promote_low_f32x4(hi)));
        wasm_v128_store(s3, wasm_f64x2_add(wasm_v128_load(s3), wasm_f64x2_promote_low_f32x4(
                                                                   wasm_i64x2_shuffle(hi, hi, 1, 0))));
        if (list) {
          for (int l = 0; l < 4; l++) list[(ch + l) * N + n] = s.idx[l];
        }
      }
      for (int c = C4; c < C; c++) {
        const int ch = g * C + c;
        const float ia = 1.0f / alpha[ch];
        const float sa = alpha[ch] * invT;
        const float w = x[row + c] * sa + off;
        const int j = segment1(w, jm);
        const int b = ch * K + j;
        const float d = dy[row + c];
        dx[row + c] = d * (((coef[b + 1] - coef[b]) * ia) * sa);
        const float gi = d * ia;
        S[2 * b] += gi;
        S[2 * b + 1] += gi * (w - (float)j);
        if (list) list[ch * N + n] = b;
      }
    }
  }
}

// The term of segment b (channel row starting at `base`, j = b - base) in dalpha's sum.
static inline double alpha_term(const float* coef, const double* S, int b, int j, float shift,
                                float off) {
  const double dp = (double)coef[b + 1] - (double)coef[b];
  return S[2 * b] * ((double)coef[b] + (double)shift - dp * ((double)j - (double)off));
}

// scratch: 2*G*C*K doubles (8-byte aligned); any content on entry.
__attribute__((export_name("spline_backward"))) void spline_backward(
    const float* x, const float* coef, const float* alpha, const float* dy, float* dx,
    float* dcoef, float* dalpha, int G, int N, int C, int K, float invT, float off, float shift,
    double* S) {
  const int GC = G * C;
  __builtin_memset(S, 0, sizeof(double) * 2 * (unsigned)(GC * K));  // (S0, S1) per segment
  accumulate(x, coef, alpha, dy, dx, G, N, C, K, invT, off, shift, S, 0);
  for (int ch = 0; ch < GC; ch++) {
    double prev_s1 = 0.0, da = 0.0;
    for (int j = 0; j < K; j++) {
      const int b = ch * K + j;
      const double s0 = j < K - 1 ? S[2 * b] : 0.0;      // Σ g over segment j
      const double s1 = j < K - 1 ? S[2 * b + 1] : 0.0;  // Σ g f over segment j
      dcoef[b] = (float)(s0 - s1 + prev_s1);  // (1-f) g from segment j, f g from segment j-1
      prev_s1 = s1;
      if (j < K - 1) da += alpha_term(coef, S, b, j, shift, off);
    }
    dalpha[ch] = (float)(-da * (double)(1.0f / alpha[ch]));
  }
}

// The same gradients when few inputs fall on each channel (N much smaller than K: the 1d
// experiment's batch of 10 on 101 knots). S must be all zero on entry and is left all zero;
// `list` holds G*C*N ints. Only the segments some input fell in are visited, in increasing
// order, so dcoef and dalpha get the values of spline_backward (a segment without inputs adds
// S0 = 0 to dalpha's sum, which changes no value).
__attribute__((export_name("spline_backward_sparse"))) void spline_backward_sparse(
    const float* x, const float* coef, const float* alpha, const float* dy, float* dx,
    float* dcoef, float* dalpha, int G, int N, int C, int K, float invT, float off, float shift,
    double* S, int* list) {
  const int GC = G * C;
  __builtin_memset(dcoef, 0, sizeof(float) * (unsigned)(GC * K));
  accumulate(x, coef, alpha, dy, dx, G, N, C, K, invT, off, shift, S, list);
  for (int ch = 0; ch < GC; ch++) {
    int* L = list + ch * N;
    for (int i = 1; i < N; i++) {  // insertion sort: N is small
      const int v = L[i];
      int k = i - 1;
      while (k >= 0 && L[k] > v) {
        L[k + 1] = L[k];
        k--;
      }
      L[k + 1] = v;
    }
    const int base = ch * K;
    double da = 0.0;
    for (int i = 0; i < N; i++) {
      const int b = L[i];
      if (i > 0 && b == L[i - 1]) continue;
      const int j = b - base;
      // dcoef[j] and dcoef[j+1] as spline_backward forms them (segment K-1 holds no inputs)
      const double prev_s1 = j > 0 ? S[2 * (b - 1) + 1] : 0.0;
      dcoef[b] = (float)(S[2 * b] - S[2 * b + 1] + prev_s1);
      const double s0n = j + 1 < K - 1 ? S[2 * (b + 1)] : 0.0;
      const double s1n = j + 1 < K - 1 ? S[2 * (b + 1) + 1] : 0.0;
      dcoef[b + 1] = (float)(s0n - s1n + S[2 * b + 1]);
      da += alpha_term(coef, S, b, j, shift, off);
    }
    dalpha[ch] = (float)(-da * (double)(1.0f / alpha[ch]));
    for (int i = 0; i < N; i++) {
      S[2 * L[i]] = 0.0;
      S[2 * L[i] + 1] = 0.0;
    }
  }
}
