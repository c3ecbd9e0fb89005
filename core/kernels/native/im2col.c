// im2col for the BLAS convolutions (core/kernels/blas/blas_kernels.ts, docs/backends.md) in
// WebAssembly: the patch matrix of a chunk of images, written where OpenBLAS reads it (a view of
// this module's own memory). The JS loop it replaces copied each (pixel, filter row) run with one
// TypedArray.set per run, about 150 ns each: 2.2 s of a 4.9 s denoiser step. Here each run is one
// memory.copy. Pure copies and zeros: the same matrix, bit for bit.
//
// Layout: x holds images n0..n1-1 of [N, H, W, Cin] (row-major, the chunk only); cols gets
//   cols[p, (ky*fw + kx)*Cin + ci] = x[n, iy, ix, ci],  iy = oy*sh - top + ky,  ix = ox*sw - left + kx
// for output pixel p of (n, oy, ox), zero where the tap falls in the padding.

__attribute__((export_name("im2col"))) void im2col(const float* x, float* cols, int images, int H,
                                                   int W, int Cin, int OH, int OW, int fh, int fw,
                                                   int sh, int sw, int top, int left) {
  const int K = fh * fw * Cin;
  const int rowLen = fw * Cin;
  for (int n = 0; n < images; n++) {
    for (int oy = 0; oy < OH; oy++) {
      for (int ox = 0; ox < OW; ox++) {
        float* c = cols + ((long)(n * OH + oy) * OW + ox) * K;
        const int ix0 = ox * sw - left;
        const int kx0 = ix0 < 0 ? -ix0 : 0;                   // taps inside: [kx0, kx1)
        const int kx1 = W - ix0 < fw ? W - ix0 : fw;
        for (int ky = 0; ky < fh; ky++) {
          float* row = c + ky * rowLen;
          const int iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H || kx1 <= kx0) {
            __builtin_memset(row, 0, sizeof(float) * (unsigned)rowLen);
            continue;
          }
          if (kx0 > 0) __builtin_memset(row, 0, sizeof(float) * (unsigned)(kx0 * Cin));
          if (kx1 < fw) {
            __builtin_memset(row + kx1 * Cin, 0, sizeof(float) * (unsigned)((fw - kx1) * Cin));
          }
          const float* src = x + ((long)(n * H + iy) * W + ix0 + kx0) * Cin;
          __builtin_memcpy(row + kx0 * Cin, src, sizeof(float) * (unsigned)((kx1 - kx0) * Cin));
        }
      }
    }
  }
}
