// The dense parts of a fully connected ensemble's training step (docs/method.md §4, (4.1); the
// loss (5.1)) for the native ensemble trainer (core/train/native_fc_ensemble.ts): products of
// G independent small matrices, their gradients, the weight scaling of the Björck projection and
// the squared-error loss. Like spline.c, the module imports the memory it works in and owns none
// (no data segment, no stack): the trainer gives it the Björck module's memory, where every
// buffer of the step lives.
//
// Every sum runs in one fixed order, one float32 rounding per operation (no FMA, no
// reassociation): the product sums over k in increasing order, the gradients over the batch in
// increasing order, as the tfjs kernels the generic step uses do for these shapes.

// y[g, n, o] = sum_k x[g, n, k] w[g, o, k] (+ b[g, o]): a linear layer, x wᵀ + b (docs/method.md
// (4.1)); b == 0: no bias. The bias is added after the sum, as the generic step's separate Add.
__attribute__((export_name("dense_forward"))) void dense_forward(const float* x, const float* w,
                                                                 const float* b, float* y, int G,
                                                                 int N, int I, int O) {
  for (int g = 0; g < G; g++) {
    const float* wg = w + g * O * I;
    for (int n = 0; n < N; n++) {
      const float* xr = x + (g * N + n) * I;
      float* yr = y + (g * N + n) * O;
      for (int o = 0; o < O; o++) {
        const float* wr = wg + o * I;
        float acc = 0.0f;
        for (int k = 0; k < I; k++) acc += xr[k] * wr[k];
        yr[o] = b ? acc + b[g * O + o] : acc;
      }
    }
  }
}

// Gradients of dense_forward for the upstream gradient dy [G, N, O]:
//   dx[g, n, k] = sum_o dy[g, n, o] w[g, o, k]     (dx == 0: not wanted, the network's input)
//   dw[g, o, k] = sum_n dy[g, n, o] x[g, n, k]
//   db[g, o]    = sum_n dy[g, n, o]                 (db == 0: no bias)
__attribute__((export_name("dense_backward"))) void dense_backward(
    const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int G, int N,
    int I, int O) {
  for (int g = 0; g < G; g++) {
    const float* wg = w + g * O * I;
    const float* xg = x + g * N * I;
    const float* dyg = dy + g * N * O;
    if (dx) {
      for (int n = 0; n < N; n++) {
        float* dxr = dx + (g * N + n) * I;
        for (int k = 0; k < I; k++) {
          float acc = 0.0f;
          for (int o = 0; o < O; o++) acc += dyg[n * O + o] * wg[o * I + k];
          dxr[k] = acc;
        }
      }
    }
    for (int o = 0; o < O; o++) {
      float* dwr = dw + (g * O + o) * I;
      for (int k = 0; k < I; k++) {
        float acc = 0.0f;
        for (int n = 0; n < N; n++) acc += dyg[n * O + o] * xg[n * I + k];
        dwr[k] = acc;
      }
      if (db) {
        float acc = 0.0f;
        for (int n = 0; n < N; n++) acc += dyg[n * O + o];
        db[g * O + o] = acc;
      }
    }
  }
}

// out[i] = a[i] / s, one float32 division each: the weight scaling W / sqrt(out·in) of the
// Björck projection (docs/method.md §4) and, with the same s, its gradient.
__attribute__((export_name("divide"))) void divide(const float* a, float* out, int n, float s) {
  for (int i = 0; i < n; i++) out[i] = a[i] / s;
}

// The squared-error part of the 1d loss (docs/method.md (5.1)) for predictions p and targets t
// (n values): writes dp[i] = ((p[i] - t[i]) * 2) * scale (scale = 1/B, the loss's division, as
// the generic step's gradient chain rounds it) and returns sum_i (p[i] - t[i])² summed in float64.
__attribute__((export_name("squared_error"))) double squared_error(const float* p, const float* t,
                                                                    float* dp, int n, float scale) {
  double sum = 0.0;
  for (int i = 0; i < n; i++) {
    const float d = p[i] - t[i];
    sum += (double)d * (double)d;
    dp[i] = (d * 2.0f) * scale;
  }
  return sum;
}

// out[i] = v, for i < n (the TV(2) term's upstream gradient: lmbda for every spline row).
__attribute__((export_name("fill"))) void fill(float* out, int n, float v) {
  for (int i = 0; i < n; i++) out[i] = v;
}
