import { tf, useBackend } from "../tests/helpers.ts";
import { bjorckComposite, bjorckFused } from "../core/ops/bjorck.ts";

function rngf(seed: number) { let s = seed >>> 0; return () => { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0; return s / 4294967296; }; }
function gauss(r: () => number) { return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()); }
// orthogonal matrix via Gram-Schmidt float64
function orth(n: number, r: () => number) {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) q[i * n + j] = gauss(r);
    for (let k = 0; k < i; k++) { let d = 0; for (let j = 0; j < n; j++) d += q[i*n+j]*q[k*n+j]; for (let j = 0; j < n; j++) q[i*n+j] -= d*q[k*n+j]; }
    let s = 0; for (let j = 0; j < n; j++) s += q[i*n+j]**2; s = Math.sqrt(s); for (let j = 0; j < n; j++) q[i*n+j] /= s;
  }
  return q;
}
const n = 64, iters = 25, beta = 0.5;
const r = rngf(7);
const U = orth(n, r), V = orth(n, r);
const LO = Number(Deno.args[0] ?? 3); const MODE = Deno.args[1] ?? "geo";
const sv = Array.from({ length: n }, (_, i) => MODE === "lin" ? 1 - (1 - Math.pow(10,-LO)) * i / (n - 1) : Math.pow(10, -LO * i / (n - 1)));
const W = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += U[i*n+k]*sv[k]*V[j*n+k]; W[i*n+j] = s; }
const Wf = Float32Array.from(W);
const W64 = Float64Array.from(Wf);
const dyr = rngf(9); const DY = Float64Array.from({ length: n*n }, () => gauss(dyr)); const DYf = Float32Array.from(DY);
function mm(a: Float64Array, b: Float64Array, ta = false, tb = false) { const c = new Float64Array(n*n); for (let i=0;i<n;i++) for (let j=0;j<n;j++){ let s=0; for(let k=0;k<n;k++) s += (ta?a[k*n+i]:a[i*n+k])*(tb?b[j*n+k]:b[k*n+j]); c[i*n+j]=s;} return c; }
const xs = [W64];
for (let k = 0; k < iters; k++) { const x = xs[k]; const p = mm(x, mm(x, x, true)); xs.push(x.map((v, i) => (1+beta)*v - beta*p[i])); }
let g = Float64Array.from(DYf);
for (let k = iters - 1; k >= 0; k--) { const x = xs[k]; const P = mm(x, g, true); const S = P.map((v, idx) => v + P[(idx%n)*n + Math.floor(idx/n)]); const A = mm(x,x,true); const ga = mm(g, A), ws = mm(x, S); g = g.map((v,i)=>(1+beta)*v - beta*(ga[i]+ws[i])); }
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => { let num = 0, den = 0; for (let i=0;i<a.length;i++){ num += (a[i]-b[i])**2; den += b[i]**2;} return Math.sqrt(num/den); };
for (const be of ["cpu", "wasm"]) {
  await useBackend(be as "cpu");
  for (const [name, f] of [["fused", bjorckFused], ["composite", bjorckComposite]] as const) {
    const w = tf.tensor2d(Wf, [n, n]); const dy = tf.tensor2d(DYf, [n, n]);
    const y = f(w, iters, beta);
    const gr = tf.grad((x) => tf.sum(tf.mul(f(x as tf.Tensor2D, iters, beta), dy)))(w);
    console.log(be, name, "fwd rel", rel(y.dataSync(), xs[iters]).toExponential(2), "grad rel", rel(gr.dataSync(), g).toExponential(2));
  }
}
