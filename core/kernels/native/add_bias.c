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
// channel is summed in row order in float32 from 0, as the stock wasm Sum sums it after
// transposing the reduced axes innermost (same bits, without the transpose); four channels per
// vector, the running sums kept in out.
__attribute__((export_name("sum_rows"))) void sum_rows(const float* x, float* out, int R, int C) {
  const int C4 = C & ~3;
  for (int c = 0; c < C; c++) out[c] = 0.0f;
  for (int r = 0; r < R; r++) {
    const float* row = x + (long)r * C;
    int c = 0;
    for (; c < C4; c += 4) {
      wasm_v128_store(out + c, wasm_f32x4_add(wasm_v128_load(out + c), wasm_v128_load(row + c)));
    }
    for (; c < C; c++) out[c] += row[c];
  }
}
