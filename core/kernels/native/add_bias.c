// Broadcast addition of a bias, out[g, n, c] = a[g, n, c] + b[g, c], and its gradient (sum_rows,
// below), in WebAssembly SIMD for the tfjs `wasm` backend: the layout of every bias in lipspline
// (a dense layer's [M, 1, out] bias on [M, N, out] activations, a convolution's [C] bias on NHWC
// activations). The stock wasm `Add`
// takes a generic broadcasting loop there (about 2 ns per element). One float32 addition per
// element, as the stock kernel makes it, so the bits are the same. Like spline.c, the module
// imports the backend's memory and owns none.
#include <wasm_simd128.h>

__attribute__((export_name("add_bias"))) void add_bias(const float* a, const float* b, float* out,
                                                       int G, int N, int C) {
  const int C4 = C & ~3;
  for (int g = 0; g < G; g++) {
    const float* bg = b + g * C;
    for (int n = 0; n < N; n++) {
      const float* ar = a + ((long)g * N + n) * C;
      float* orow = out + ((long)g * N + n) * C;
      int c = 0;
      for (; c < C4; c += 4) {
        wasm_v128_store(orow + c,
                        wasm_f32x4_add(wasm_v128_load(ar + c), wasm_v128_load(bg + c)));
      }
      for (; c < C; c++) orow[c] = ar[c] + bg[c];
    }
  }
}

// The bias gradient, a Sum over the leading axes: out[c] = sum_r x[r, c] for x [R, C]. Each
// channel is summed in row order in float64 from 0 and rounded once, the arithmetic of the JS
// loop it replaces (leadingAxesSum in core/kernels/wasm/missing.ts), so the same bits. Sixteen
// channels (one 64-byte line of a row) per pass over the rows, their sums in eight f64x2
// registers; a tail of fewer channels one at a time.
static inline v128_t widen_lo(v128_t v) { return wasm_f64x2_promote_low_f32x4(v); }
static inline v128_t widen_hi(v128_t v) {
  return wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0));
}

__attribute__((export_name("sum_rows"))) void sum_rows(const float* x, float* out, int R, int C) {
  int c0 = 0;
  for (; c0 + 16 <= C; c0 += 16) {
    v128_t s[8];
    for (int i = 0; i < 8; i++) s[i] = wasm_f64x2_splat(0.0);
    for (int r = 0; r < R; r++) {
      const float* p = x + (long)r * C + c0;
      for (int q = 0; q < 4; q++) {
        const v128_t v = wasm_v128_load(p + 4 * q);
        s[2 * q] = wasm_f64x2_add(s[2 * q], widen_lo(v));
        s[2 * q + 1] = wasm_f64x2_add(s[2 * q + 1], widen_hi(v));
      }
    }
    for (int q = 0; q < 4; q++) {
      wasm_v128_store(out + c0 + 4 * q, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(s[2 * q]),
                                                           wasm_f32x4_demote_f64x2_zero(s[2 * q + 1]),
                                                           0, 1, 4, 5));
    }
  }
  for (; c0 < C; c0++) {
    double s = 0.0;
    for (int r = 0; r < R; r++) s += (double)x[(long)r * C + c0];
    out[c0] = (float)s;
  }
}
