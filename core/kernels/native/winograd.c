// Winograd transforms of the 3x3 stride-1 BLAS convolutions (core/kernels/blas/winograd.ts,
// docs/backends.md "Winograd convolutions"), in WebAssembly SIMD. The module imports its memory
// (`env.memory`): on the tfjs wasm backend that is the backend's heap, so the transforms read and
// write the tensors in place (scratch from the backend's malloc), and OpenBLAS works on the same
// heap; on the cpu backend a memory of its own. So, like spline.c, it owns no memory: no data
// segment and no stack (every loop over a tile is unrolled, its values kept in locals), which
// build.sh checks.
//
// Minimal filtering F(m x m, 3 x 3) (Lavin & Gray 2016): the output is cut into m x m tiles;
// tile t reads the alpha x alpha input patch d (alpha = m + 2) at rows m*ty - top + r, columns
// m*tx - left + s (zero outside the image), and
//   y_t = A^T [ U (.) V_t ] A,   U = G g G^T (per channel pair),   V_t = B^T d_t B,
// where (.) is the element-wise product, summed over input channels: for each of the alpha^2
// positions k one matrix product Yh[k] [T, Cout] = V[k] [T, Cin] . U[k] [Cin, Cout]. The
// backward passes are the exact transposes of that linear map:
//   Mg_t = A dy_t A^T;   dV[k] = Mg[k] . U[k]^T;   dx += B dV_t B^T (scatter-add over tiles);
//   dU[k] += V[k]^T . Mg[k];   dg = G^T dU G.
// So the products run alpha^2 / (m^2 ... ) fewer multiplies than im2col: 16 vs 36 per output
// pair for m = 2, 36 vs 144 for m = 4.
//
// Layouts: images [n, H, W, C] (NHWC, the chunk only); transformed tiles [alpha^2][T][C] with
// tile t = (n*TH + ty)*TW + tx. C must be a multiple of 4 (one v128 = 4 channels). A band of tile
// rows ty0.. of one image is the same call with TH rows, top - m*ty0 for top, and the output
// images (y, dy) given from row m*ty0 with OH - m*ty0 rows.
#include <wasm_simd128.h>

typedef v128_t V4;
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("clang loop unroll(full)")

// F(2x2, 3x3): points 0, 1, -1, infinity.
static const float BT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const float AT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
// F(4x4, 3x3): points 0, 1, -1, 2, -2, infinity.
static const float BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const float AT4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

// sum_k c[k*cs] * x[k*xs] over k < q, skipping zero coefficients (resolved at compile time once
// unrolled: the matrices are constants).
INLINE V4 comb(const float* c, int cs, const V4* x, int xs, int q) {
  V4 acc = wasm_f32x4_splat(0.0f);
  int any = 0;
  UNROLL for (int k = 0; k < q; k++) {
    const float w = c[k * cs];
    if (w == 0.0f) continue;
    const V4 t = x[k * xs];
    if (!any) {
      acc = w == 1.0f    ? t
            : w == -1.0f ? wasm_f32x4_neg(t)
                         : wasm_f32x4_mul(wasm_f32x4_splat(w), t);
      any = 1;
    } else if (w == 1.0f) {
      acc = wasm_f32x4_add(acc, t);
    } else if (w == -1.0f) {
      acc = wasm_f32x4_sub(acc, t);
    } else {
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(w), t));
    }
  }
  return acc;
}

// out (p x p) = L in L^T for in (q x q), L[i][k] = c[i*ri + k*ki] (p x q).
INLINE void sandwich(const float* c, int ri, int ki, int p, int q, const V4* in, V4* out) {
  V4 tmp[6 * 6];
  UNROLL for (int i = 0; i < p; i++) {
    UNROLL for (int j = 0; j < q; j++) tmp[i * q + j] = comb(c + i * ri, ki, in + j, q, q);
  }
  UNROLL for (int i = 0; i < p; i++) {
    UNROLL for (int j = 0; j < p; j++) out[i * p + j] = comb(c + j * ri, ki, tmp + i * q, 1, q);
  }
}

#define LOAD(p) wasm_v128_load(p)
#define STORE(p, v) wasm_v128_store(p, v)

// V[k][t][c] = (B^T d_t B)[k]: the input transform of every tile of `images` images.
INLINE void input_tiles(int m, const float* BT, const float* x, float* v, int images, int H, int W,
                        int C, int TH, int TW, int top, int left, int plane) {
  const int a = m + 2;
  for (int n = 0; n < images; n++) {
    for (int ty = 0; ty < TH; ty++) {
      for (int tx = 0; tx < TW; tx++) {
        const long t = ((long)n * TH + ty) * TW + tx;
        const int y0 = m * ty - top, x0 = m * tx - left;
        const int inside = y0 >= 0 && x0 >= 0 && y0 + a <= H && x0 + a <= W;
        const float* base = x + (((long)n * H + y0) * W + x0) * C;
        for (int c = 0; c < C; c += 4) {
          V4 d[36], o[36];
          UNROLL for (int r = 0; r < a; r++) {
            UNROLL for (int s = 0; s < a; s++) {
              const int iy = y0 + r, ix = x0 + s;
              d[r * a + s] = inside || (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                 ? LOAD(base + ((long)r * W + s) * C + c)
                                 : wasm_f32x4_splat(0.0f);
            }
          }
          sandwich(BT, a, 1, a, a, d, o);
          UNROLL for (int k = 0; k < a * a; k++) STORE(v + (long)k * plane + t * C + c, o[k]);
        }
      }
    }
  }
}

// y[n, m*ty + i, m*tx + j, c] = (A^T Yh_t A)[i][j]: the output transform (parts of tiles past
// OH x OW are dropped).
INLINE void output_tiles(int m, const float* AT, const float* yh, float* y, int images, int OH,
                         int OW, int C, int TH, int TW, int plane) {
  const int a = m + 2;
  for (int n = 0; n < images; n++) {
    for (int ty = 0; ty < TH; ty++) {
      for (int tx = 0; tx < TW; tx++) {
        const long t = ((long)n * TH + ty) * TW + tx;
        const int inside = m * ty + m <= OH && m * tx + m <= OW;
        float* base = y + (((long)n * OH + m * ty) * OW + m * tx) * C;
        for (int c = 0; c < C; c += 4) {
          V4 d[36], o[16];
          UNROLL for (int k = 0; k < a * a; k++) d[k] = LOAD(yh + (long)k * plane + t * C + c);
          sandwich(AT, a, 1, m, a, d, o);
          UNROLL for (int i = 0; i < m; i++) {
            UNROLL for (int j = 0; j < m; j++) {
              if (inside || (m * ty + i < OH && m * tx + j < OW)) {
                STORE(base + ((long)i * OW + j) * C + c, o[i * m + j]);
              }
            }
          }
        }
      }
    }
  }
}

// Mg[k][t][c] = (A dy_t A^T)[k]: the transpose of the output transform (dy zero past OH x OW).
INLINE void output_grad_tiles(int m, const float* AT, const float* dy, float* mg, int images,
                              int OH, int OW, int C, int TH, int TW, int plane) {
  const int a = m + 2;
  for (int n = 0; n < images; n++) {
    for (int ty = 0; ty < TH; ty++) {
      for (int tx = 0; tx < TW; tx++) {
        const long t = ((long)n * TH + ty) * TW + tx;
        const int inside = m * ty + m <= OH && m * tx + m <= OW;
        const float* base = dy + (((long)n * OH + m * ty) * OW + m * tx) * C;
        for (int c = 0; c < C; c += 4) {
          V4 d[16], o[36];
          UNROLL for (int i = 0; i < m; i++) {
            UNROLL for (int j = 0; j < m; j++) {
              d[i * m + j] = inside || (m * ty + i < OH && m * tx + j < OW)
                                 ? LOAD(base + ((long)i * OW + j) * C + c)
                                 : wasm_f32x4_splat(0.0f);
            }
          }
          // A[i][k] = AT[k][i]: rows step 1, columns step a.
          sandwich(AT, 1, a, a, m, d, o);
          UNROLL for (int k = 0; k < a * a; k++) STORE(mg + (long)k * plane + t * C + c, o[k]);
        }
      }
    }
  }
}

// dx += sum over tiles of B dV_t B^T, scattered to the tile's input patch (the transpose of the
// input transform; taps outside the image dropped). The caller clears dx: a large image's tiles
// come in bands of tile rows, each call adding one band.
INLINE void input_grad_tiles(int m, const float* BT, const float* dv, float* dx, int images, int H,
                             int W, int C, int TH, int TW, int top, int left, int plane) {
  const int a = m + 2;
  for (int n = 0; n < images; n++) {
    for (int ty = 0; ty < TH; ty++) {
      for (int tx = 0; tx < TW; tx++) {
        const long t = ((long)n * TH + ty) * TW + tx;
        const int y0 = m * ty - top, x0 = m * tx - left;
        const int inside = y0 >= 0 && x0 >= 0 && y0 + a <= H && x0 + a <= W;
        float* base = dx + (((long)n * H + y0) * W + x0) * C;
        for (int c = 0; c < C; c += 4) {
          V4 d[36], o[36];
          UNROLL for (int k = 0; k < a * a; k++) d[k] = LOAD(dv + (long)k * plane + t * C + c);
          sandwich(BT, 1, a, a, a, d, o); // B[i][k] = BT[k][i]
          UNROLL for (int r = 0; r < a; r++) {
            UNROLL for (int s = 0; s < a; s++) {
              const int iy = y0 + r, ix = x0 + s;
              if (inside || (iy >= 0 && iy < H && ix >= 0 && ix < W)) {
                float* p = base + ((long)r * W + s) * C + c;
                STORE(p, wasm_f32x4_add(LOAD(p), o[r * a + s]));
              }
            }
          }
        }
      }
    }
  }
}

#define EXPORT(name) __attribute__((export_name(name)))

// Every function takes `plane`, the floats from one tile position's [T][C] plane to the next:
// T*C plus a pad, so that the alpha^2 planes a tile reads or writes do not all fall on the same
// cache sets (T*C*4 bytes is often a multiple of 4096).
#define IN_ARGS int images, int H, int W, int C, int TH, int TW, int top, int left, int plane
#define IN_PASS images, H, W, C, TH, TW, top, left, plane
#define OUT_ARGS int images, int OH, int OW, int C, int TH, int TW, int plane
#define OUT_PASS images, OH, OW, C, TH, TW, plane

// The four transforms of F(M x M, 3 x 3), exported as input<M>, output<M>, outputGrad<M> and
// inputGrad<M>, with the matrices BT (B^T) and AT (A^T).
#define VARIANT(M, BT, AT)                                                                   \
  EXPORT("input" #M) void input##M(const float* x, float* v, IN_ARGS) {                       \
    input_tiles(M, &BT[0][0], x, v, IN_PASS);                                                 \
  }                                                                                           \
  EXPORT("output" #M) void output##M(const float* yh, float* y, OUT_ARGS) {                   \
    output_tiles(M, &AT[0][0], yh, y, OUT_PASS);                                              \
  }                                                                                           \
  EXPORT("outputGrad" #M) void outputGrad##M(const float* dy, float* mg, OUT_ARGS) {          \
    output_grad_tiles(M, &AT[0][0], dy, mg, OUT_PASS);                                        \
  }                                                                                           \
  EXPORT("inputGrad" #M) void inputGrad##M(const float* dv, float* dx, IN_ARGS) {             \
    input_grad_tiles(M, &BT[0][0], dv, dx, IN_PASS);                                          \
  }

VARIANT(2, BT2, AT2)
VARIANT(4, BT4, AT4)
