// emulate fused kernel variants in scalar JS with float32 rounding
const fr = Math.fround;
function rngf(seed: number) { let s = seed >>> 0; return () => { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0; return s / 4294967296; }; }
function gauss(r: () => number) { return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()); }
function orth(n: number, r: () => number) { const q = new Float64Array(n * n); for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) q[i*n+j] = gauss(r); for (let k = 0; k < i; k++) { let d = 0; for (let j = 0; j < n; j++) d += q[i*n+j]*q[k*n+j]; for (let j = 0; j < n; j++) q[i*n+j] -= d*q[k*n+j]; } let s = 0; for (let j = 0; j < n; j++) s += q[i*n+j]**2; s = Math.sqrt(s); for (let j = 0; j < n; j++) q[i*n+j] /= s; } return q; }
const n = 64, iters = 25, beta = 0.5, c = n, r = n;
const LO = Number(Deno.args[0] ?? 3);
const rr = rngf(7); const U = orth(n, rr), V = orth(n, rr);
const sv = Array.from({ length: n }, (_, i) => Math.pow(10, -LO * i / (n - 1)));
const W = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += U[i*n+k]*sv[k]*V[j*n+k]; W[i*n+j] = fr(s); }
const dyr = rngf(9); const DY = Float64Array.from({ length: n*n }, () => fr(gauss(dyr)));
type Rnd = (x: number) => number;
function run(mode: "f32" | "f64acc" | "eform" | "exact") {
  const R: Rnd = mode === "exact" ? (x) => x : fr; // storage rounding
  const acc: Rnd = mode === "f64acc" || mode === "exact" ? (x) => x : fr; // accumulation rounding
  const eform = mode === "eform";
  const xs: Float64Array[] = [W.slice()]; const As: Float64Array[] = [];
  for (let k = 0; k < iters; k++) {
    const w = xs[k]; const A = new Float64Array(c*c);
    for (let p = 0; p < c; p++) for (let q = p; q < c; q++) { let s = 0; for (let i = 0; i < r; i++) s = acc(s + acc(w[i*c+p]*w[i*c+q])); if (eform && p === q) s = s - 1; A[p*c+q] = A[q*c+p] = R(s); }
    As.push(A);
    const N = new Float64Array(r*c);
    for (let i = 0; i < r; i++) for (let q = 0; q < c; q++) {
      let s = eform ? w[i*c+q] : acc((1+beta)*w[i*c+q]);
      if (eform) { let t = 0; for (let p = 0; p < c; p++) t = acc(t + acc(w[i*c+p]*A[p*c+q])); s = R(s - R(beta*t)); }
      else for (let p = 0; p < c; p++) s = acc(s + acc(acc(-beta*w[i*c+p])*A[p*c+q]));
      N[i*c+q] = R(s);
    }
    xs.push(N);
  }
  let G = DY.slice();
  for (let k = iters - 1; k >= 0; k--) {
    const w = xs[k], A = As[k]; const S = new Float64Array(c*c);
    for (let p = 0; p < c; p++) for (let q = 0; q < c; q++) { let s = 0; for (let i = 0; i < r; i++) s = acc(s + acc(w[i*c+p]*G[i*c+q])); S[p*c+q] = s; }
    for (let p = 0; p < c; p++) for (let q = p; q < c; q++) { const v = R(S[p*c+q] + S[q*c+p]); S[p*c+q] = S[q*c+p] = v; }
    // exact: rounding of S stored
    const N = new Float64Array(r*c);
    for (let i = 0; i < r; i++) for (let q = 0; q < c; q++) {
      if (eform) { let t = 0; for (let p = 0; p < c; p++) t = acc(t + acc(acc(G[i*c+p]*A[p*c+q]) + acc(w[i*c+p]*S[p*c+q]))); N[i*c+q] = R(G[i*c+q] - R(beta*t)); }
      else { let s = acc((1+beta)*G[i*c+q]); for (let p = 0; p < c; p++) s = acc(s + acc(acc(acc(-beta*G[i*c+p])*A[p*c+q]) + acc(acc(-beta*w[i*c+p])*S[p*c+q]))); N[i*c+q] = R(s); }
    }
    G = N;
  }
  return { y: xs[iters], g: G };
}
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => { let num = 0, den = 0; for (let i=0;i<a.length;i++){ num += (a[i]-b[i])**2; den += b[i]**2;} return Math.sqrt(num/den); };
const ex = run("exact");
for (const m of ["f32", "f64acc", "eform"] as const) { const o = run(m); console.log(LO, m, "fwd", rel(o.y, ex.y).toExponential(2), "grad", rel(o.g, ex.g).toExponential(2)); }
