/*
 * Fused batched Björck orthonormalisation, forward and backward, WebAssembly SIMD128.
 *
 * docs/method.md section 4: repeat `iters` times  w <- (1 + beta) w - beta w (w^T w).
 * Backward (adjoint of one iteration, G = dL/dw_{k+1}, A = w_k^T w_k, P = w_k^T G):
 *   dL/dw_k = (1 + beta) G - beta (G A + w_k (P + P^T)).
 *
 * Both are evaluated in the equivalent "identity plus small correction" form, with
 * E = w^T w - I (the Gram matrices kept for the backward pass are E, not A):
 *   w_{k+1} = w_k - beta w_k E,     dL/dw_k = G - beta (G E + w_k (P + P^T)).
 * Near convergence E -> 0, so the float32 rounding of the accumulated products is relative to
 * the small correction instead of to (1 + beta) w: on ill-conditioned 64x64 matrices this makes
 * the kernel 4-5x more accurate than the plain form, and more accurate than the stock composite
 * (tests/bjorck_accuracy_test.ts), at the same cost.
 *
 * Layout: the B matrices [B, m, n] (row-major) are packed four at a time into groups, one
 * matrix per SIMD lane: group g holds element (i, j) of matrices 4g..4g+3 at
 * ((i * c + j) * 4 + lane). Every matrix is handled in "tall" orientation r >= c: when m < n the
 * matrix is transposed while packing (Björck commutes with transposition), so the Gram matrix
 * is always the smaller c x c one. Padding lanes hold zeros and stay zero.
 *
 * Column counts c <= 16 use kernels specialised for a constant c (accumulators in registers);
 * larger c use generic loops.
 *
 * Build: core/kernels/native/build.sh (clang --target=wasm32 -msimd128 -O2 -nostdlib).
 */
typedef float v4 __attribute__((vector_size(16)));
#define LANES 4
#define INL static inline __attribute__((always_inline))
#define RESTRICT __restrict

INL v4 splat(float x) { return (v4){x, x, x, x}; }

static void pack(const float* src, v4* dstv, int g, int B, int m, int n, int tr) {
  int r = tr ? n : m, c = tr ? m : n;
  float* d = (float*)dstv;
  for (int l = 0; l < LANES; l++) {
    int b = g * LANES + l;
    if (b < B) {
      const float* s = src + b * m * n;
      if (tr) {
        for (int i = 0; i < r; i++)
          for (int j = 0; j < c; j++) d[(i * c + j) * LANES + l] = s[j * n + i];
      } else {
        for (int i = 0; i < r; i++)
          for (int j = 0; j < c; j++) d[(i * c + j) * LANES + l] = s[i * n + j];
      }
    } else {
      for (int e = 0; e < r * c; e++) d[e * LANES + l] = 0.f;
    }
  }
}

static void unpack(const v4* srcv, float* dst, int g, int B, int m, int n, int tr) {
  int r = tr ? n : m, c = tr ? m : n;
  const float* s = (const float*)srcv;
  for (int l = 0; l < LANES; l++) {
    int b = g * LANES + l;
    if (b >= B) break;
    float* d = dst + b * m * n;
    if (tr) {
      for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) d[j * n + i] = s[(i * c + j) * LANES + l];
    } else {
      for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) d[i * n + j] = s[(i * c + j) * LANES + l];
    }
  }
}

/* ---- kernels for a compile-time constant c (accumulators in registers) ---- */

/* E = W^T W - I (docs/method.md section 4, the Gram matrix of one iteration minus the identity);
 * upper triangle, mirrored. */
INL void gram_k(const v4* RESTRICT W, v4* RESTRICT A, int r, const int c) {
  for (int p = 0; p < c; p++) {
    v4 acc[c];
    for (int q = 0; q < c; q++) acc[q] = splat(0.f);
    for (int i = 0; i < r; i++) {
      const v4* wi = W + i * c;
      v4 wp = wi[p];
      for (int q = 0; q < c; q++)
        if (q >= p) acc[q] += wp * wi[q];
    }
    acc[p] -= splat(1.f); /* E = W^T W - I */
    for (int q = p; q < c; q++) {
      A[p * c + q] = acc[q];
      A[q * c + p] = acc[q];
    }
  }
}

/* N = W - beta W E = (1 + beta) W - beta W (W^T W) (docs/method.md section 4, one iteration). */
INL void step_k(const v4* RESTRICT W, const v4* RESTRICT A, v4* RESTRICT N, int r, const int c,
                float beta) {
  v4 b = splat(beta);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    v4 acc[c];
    for (int q = 0; q < c; q++) acc[q] = splat(0.f);
    for (int p = 0; p < c; p++) {
      v4 wp = wi[p];
      const v4* ap = A + p * c;
      for (int q = 0; q < c; q++) acc[q] += wp * ap[q];
    }
    for (int q = 0; q < c; q++) N[i * c + q] = wi[q] - b * acc[q];
  }
}

/* S = P + P^T with P = W^T G (backward of one iteration). */
INL void psym_k(const v4* RESTRICT W, const v4* RESTRICT G, v4* RESTRICT S, int r, const int c) {
  for (int p = 0; p < c; p++) {
    v4 acc[c];
    for (int q = 0; q < c; q++) acc[q] = splat(0.f);
    for (int i = 0; i < r; i++) {
      v4 wp = W[i * c + p];
      const v4* gi = G + i * c;
      for (int q = 0; q < c; q++) acc[q] += wp * gi[q];
    }
    for (int q = 0; q < c; q++) S[p * c + q] = acc[q];
  }
  for (int p = 0; p < c; p++)
    for (int q = p; q < c; q++) {
      v4 s = S[p * c + q] + S[q * c + p];
      S[p * c + q] = s;
      S[q * c + p] = s;
    }
}

/* N = G - beta (G E + W S) = (1 + beta) G - beta (G A + W S): dL/dw_k from G = dL/dw_{k+1}. */
INL void bstep_k(const v4* RESTRICT W, const v4* RESTRICT A, const v4* RESTRICT S,
                 const v4* RESTRICT G, v4* RESTRICT N, int r, const int c, float beta) {
  v4 b = splat(beta);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    const v4* gi = G + i * c;
    v4 acc[c];
    for (int q = 0; q < c; q++) acc[q] = splat(0.f);
    for (int p = 0; p < c; p++) {
      v4 gp = gi[p], wp = wi[p];
      const v4* ap = A + p * c;
      const v4* sp = S + p * c;
      for (int q = 0; q < c; q++) acc[q] += gp * ap[q] + wp * sp[q];
    }
    for (int q = 0; q < c; q++) N[i * c + q] = gi[q] - b * acc[q];
  }
}

/* ---- generic kernels for any c (accumulators in memory) ---- */

static void gram_g(const v4* RESTRICT W, v4* RESTRICT A, int r, int c) {
  for (int p = 0; p < c * c; p++) A[p] = splat(0.f);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    for (int p = 0; p < c; p++) {
      v4 wp = wi[p];
      v4* ap = A + p * c;
      for (int q = p; q < c; q++) ap[q] += wp * wi[q];
    }
  }
  for (int p = 0; p < c; p++) A[p * c + p] -= splat(1.f); /* E = W^T W - I */
  for (int p = 0; p < c; p++)
    for (int q = 0; q < p; q++) A[p * c + q] = A[q * c + p];
}

static void step_g(const v4* RESTRICT W, const v4* RESTRICT A, v4* RESTRICT N, int r, int c,
                   float beta) {
  v4 b = splat(beta);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    v4* ni = N + i * c;
    for (int q = 0; q < c; q++) ni[q] = splat(0.f);
    for (int p = 0; p < c; p++) {
      v4 wp = wi[p];
      const v4* ap = A + p * c;
      for (int q = 0; q < c; q++) ni[q] += wp * ap[q];
    }
    for (int q = 0; q < c; q++) ni[q] = wi[q] - b * ni[q];
  }
}

static void psym_g(const v4* RESTRICT W, const v4* RESTRICT G, v4* RESTRICT S, int r, int c) {
  for (int p = 0; p < c * c; p++) S[p] = splat(0.f);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    const v4* gi = G + i * c;
    for (int p = 0; p < c; p++) {
      v4 wp = wi[p];
      v4* sp = S + p * c;
      for (int q = 0; q < c; q++) sp[q] += wp * gi[q];
    }
  }
  for (int p = 0; p < c; p++)
    for (int q = p; q < c; q++) {
      v4 s = S[p * c + q] + S[q * c + p];
      S[p * c + q] = s;
      S[q * c + p] = s;
    }
}

static void bstep_g(const v4* RESTRICT W, const v4* RESTRICT A, const v4* RESTRICT S,
                    const v4* RESTRICT G, v4* RESTRICT N, int r, int c, float beta) {
  v4 b = splat(beta);
  for (int i = 0; i < r; i++) {
    const v4* wi = W + i * c;
    const v4* gi = G + i * c;
    v4* ni = N + i * c;
    for (int q = 0; q < c; q++) ni[q] = splat(0.f);
    for (int p = 0; p < c; p++) {
      v4 gp = gi[p], wp = wi[p];
      const v4* ap = A + p * c;
      const v4* sp = S + p * c;
      for (int q = 0; q < c; q++) ni[q] += gp * ap[q] + wp * sp[q];
    }
    for (int q = 0; q < c; q++) ni[q] = gi[q] - b * ni[q];
  }
}

/*
 * One group, forward. Ws holds W_0 on entry. With `keep`, Ws has room for iters+1 iterates and
 * As for iters Gram matrices, all kept for the backward pass; otherwise Ws has room for two
 * iterates (ping-pong) and As for one. Returns the final iterate.
 */
#define GROUP_FNS(SUFFIX, CPARAM, CARG)                                                          \
  static v4* fwd_##SUFFIX(v4* Ws, v4* As, int r, CPARAM, int iters, float beta, int keep) {      \
    int rc = r * c, cc = c * c;                                                                  \
    v4 *cur = Ws, *nxt = Ws + rc;                                                                \
    for (int k = 0; k < iters; k++) {                                                            \
      v4* A = keep ? As + k * cc : As;                                                           \
      gram_##CARG(cur, A, r, c);                                                                 \
      step_##CARG(cur, A, nxt, r, c, beta);                                                      \
      if (keep) {                                                                                \
        cur = nxt;                                                                               \
        nxt = cur + rc;                                                                          \
      } else {                                                                                   \
        v4* t = cur;                                                                             \
        cur = nxt;                                                                               \
        nxt = t;                                                                                 \
      }                                                                                          \
    }                                                                                            \
    return cur;                                                                                  \
  }                                                                                              \
  static v4* bwd_##SUFFIX(const v4* Ws, const v4* As, v4* Gc, v4* Gn, v4* S, int r, CPARAM,      \
                          int iters, float beta) {                                               \
    int rc = r * c, cc = c * c;                                                                  \
    for (int k = iters - 1; k >= 0; k--) {                                                       \
      psym_##CARG(Ws + k * rc, Gc, S, r, c);                                                     \
      bstep_##CARG(Ws + k * rc, As + k * cc, S, Gc, Gn, r, c, beta);                             \
      v4* t = Gc;                                                                                \
      Gc = Gn;                                                                                   \
      Gn = t;                                                                                    \
    }                                                                                            \
    return Gc;                                                                                   \
  }

GROUP_FNS(g, int c, g)

#define SPEC(C)                                                                       \
  static v4* fwd_##C(v4* Ws, v4* As, int r, int cc_unused, int it, float be, int kp) { \
    const int c = C;                                                                  \
    int rc = r * c, cc = c * c;                                                       \
    v4 *cur = Ws, *nxt = Ws + rc;                                                     \
    for (int k = 0; k < it; k++) {                                                    \
      v4* A = kp ? As + k * cc : As;                                                  \
      gram_k(cur, A, r, c);                                                           \
      step_k(cur, A, nxt, r, c, be);                                                  \
      if (kp) {                                                                       \
        cur = nxt;                                                                    \
        nxt = cur + rc;                                                               \
      } else {                                                                        \
        v4* t = cur;                                                                  \
        cur = nxt;                                                                    \
        nxt = t;                                                                      \
      }                                                                               \
    }                                                                                 \
    return cur;                                                                       \
  }                                                                                   \
  static v4* bwd_##C(const v4* Ws, const v4* As, v4* Gc, v4* Gn, v4* S, int r,        \
                     int cc_unused, int it, float be) {                               \
    const int c = C;                                                                  \
    int rc = r * c, cc = c * c;                                                       \
    for (int k = it - 1; k >= 0; k--) {                                               \
      psym_k(Ws + k * rc, Gc, S, r, c);                                               \
      bstep_k(Ws + k * rc, As + k * cc, S, Gc, Gn, r, c, be);                         \
      v4* t = Gc;                                                                     \
      Gc = Gn;                                                                        \
      Gn = t;                                                                         \
    }                                                                                 \
    return Gc;                                                                        \
  }
SPEC(1) SPEC(2) SPEC(3) SPEC(4) SPEC(5) SPEC(6) SPEC(7) SPEC(8)
SPEC(9) SPEC(10) SPEC(11) SPEC(12) SPEC(13) SPEC(14) SPEC(15) SPEC(16)

typedef v4* (*fwd_fn)(v4*, v4*, int, int, int, float, int);
typedef v4* (*bwd_fn)(const v4*, const v4*, v4*, v4*, v4*, int, int, int, float);
#define MAXSPEC 16
static const fwd_fn FWD[MAXSPEC + 1] = {fwd_g, fwd_1,  fwd_2,  fwd_3,  fwd_4,  fwd_5,
                                        fwd_6, fwd_7,  fwd_8,  fwd_9,  fwd_10, fwd_11,
                                        fwd_12, fwd_13, fwd_14, fwd_15, fwd_16};
static const bwd_fn BWD[MAXSPEC + 1] = {bwd_g, bwd_1,  bwd_2,  bwd_3,  bwd_4,  bwd_5,
                                        bwd_6, bwd_7,  bwd_8,  bwd_9,  bwd_10, bwd_11,
                                        bwd_12, bwd_13, bwd_14, bwd_15, bwd_16};

/* v4 elements one group keeps for the backward pass: iters+1 iterates and iters Gram matrices. */
static int kept_size(int r, int c, int iters) { return (iters + 1) * r * c + iters * c * c; }

/*
 * Forward: out[B, m, n] = Björck^iters(w[B, m, n]).
 * keep != 0: `keep` points at ceil(B/4) * kept_size v4 elements that receive every iterate and
 * Gram matrix, for bj_bwd. `work` needs 2 r c + c c v4 elements (16-byte aligned).
 */
__attribute__((export_name("bj_fwd"))) void bj_fwd(const float* w, float* out, int B, int m, int n,
                                                    int iters, float beta, v4* work, v4* keep) {
  int tr = m < n, r = tr ? n : m, c = tr ? m : n;
  int G = (B + LANES - 1) / LANES, ks = kept_size(r, c, iters);
  fwd_fn f = FWD[c <= MAXSPEC ? c : 0];
  for (int g = 0; g < G; g++) {
    v4 *Ws = keep ? keep + g * ks : work;
    v4 *As = keep ? Ws + (iters + 1) * r * c : work + 2 * r * c;
    pack(w, Ws, g, B, m, n, tr);
    v4* res = f(Ws, As, r, c, iters, beta, keep != 0);
    unpack(res, out, g, B, m, n, tr);
  }
}

/*
 * Backward: dw = (d Björck^iters / d w)^T dy. keep != 0: the iterates kept by bj_fwd on the same
 * w; keep == 0: they are recomputed per group into `work`. `work` needs kept_size + 3 r c + c c v4
 * elements when recomputing, 3 r c + c c otherwise.
 */
__attribute__((export_name("bj_bwd"))) void bj_bwd(const float* w, const float* dy, float* dw,
                                                    int B, int m, int n, int iters, float beta,
                                                    v4* work, v4* keep) {
  int tr = m < n, r = tr ? n : m, c = tr ? m : n;
  int rc = r * c, G = (B + LANES - 1) / LANES, ks = kept_size(r, c, iters);
  int spec = c <= MAXSPEC ? c : 0;
  v4* Gc = work;
  v4* Gn = Gc + rc;
  v4* S = Gn + rc;
  v4* own = S + c * c + rc; /* recompute area (after one spare rc for alignment slack) */
  for (int g = 0; g < G; g++) {
    v4* Ws = keep ? keep + g * ks : own;
    v4* As = Ws + (iters + 1) * rc;
    if (!keep) {
      pack(w, Ws, g, B, m, n, tr);
      FWD[spec](Ws, As, r, c, iters, beta, 1);
    }
    pack(dy, Gc, g, B, m, n, tr);
    v4* res = BWD[spec](Ws, As, Gc, Gn, S, r, c, iters, beta);
    unpack(res, dw, g, B, m, n, tr);
  }
}
