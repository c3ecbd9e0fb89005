/**
 * The only library module that touches the runtime (`Deno.*`): optional native libraries
 * through FFI. Everything here degrades to `null` when the runtime is not Deno, the FFI
 * permission is not granted (no prompt is ever shown), or the library is absent.
 *
 * - {@linkcode openBlas}: the system OpenBLAS (Debian: `apt-get install -y
 *   libopenblas0-pthread`) for single-precision GEMM. Set `LIPSPLINE_BLAS=off` to disable it,
 *   or `LIPSPLINE_BLAS=/path/libopenblas.so` to choose the library. The library picks its CPU
 *   kernels itself (or from `OPENBLAS_CORETYPE`); `core` reports which.
 *
 * @module
 */

/** Row-major single-precision GEMM from a native BLAS: `C = A·B` with optional transposes. */
export interface NativeSgemm {
  /** The library file that was opened. */
  path: string;
  /** Threads the library uses. */
  threads: number;
  /** The CPU kernels the library runs (OpenBLAS's core name, e.g. `Haswell`, `SkylakeX`). */
  core: string;
  /**
   * `C[M,N] = op(A) · op(B)` (row-major; `op` transposes when the flag is set): A is stored as
   * `[M,K]` (`[K,M]` transposed), B as `[K,N]` (`[N,K]` transposed). The arrays may be
   * subarray views (also of a WebAssembly heap); nothing is copied. With `accumulate`,
   * `C += op(A) · op(B)`; with a number `accumulate = b` and `alpha = a`,
   * `C = a·op(A)·op(B) + b·C` (BLAS's own alpha and beta).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    accumulate?: boolean | number,
    alpha?: number,
  ): void;
}

/** Candidate file names of OpenBLAS, most specific first. */
const BLAS_CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.so",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
];

const CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

/** The Deno namespace when running under Deno, else null. */
function denoNs(): typeof Deno | null {
  return typeof Deno !== "undefined" && typeof Deno.dlopen === "function" ? Deno : null;
}

function granted(d: typeof Deno, desc: Deno.PermissionDescriptor): boolean {
  try {
    return d.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

let cached: NativeSgemm | null | undefined;

/**
 * OpenBLAS's `cblas_sgemm`, or null (not Deno, no `--allow-ffi`, library absent, or
 * `LIPSPLINE_BLAS=off`). Opened once; `threads` defaults to the machine's core count.
 */
export function openBlas(threads?: number): NativeSgemm | null {
  if (cached !== undefined) return cached;
  cached = null;
  const d = denoNs();
  if (!d || !granted(d, { name: "ffi" })) return null;
  const setting = granted(d, { name: "env", variable: "LIPSPLINE_BLAS" })
    ? d.env.get("LIPSPLINE_BLAS")
    : undefined;
  if (setting === "off" || setting === "0") return null;
  for (const path of setting ? [setting] : BLAS_CANDIDATES) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = d.dlopen(path, SYMBOLS);
    } catch {
      continue;
    }
    const s = lib.symbols;
    const n = threads ?? (typeof navigator !== "undefined" ? navigator.hardwareConcurrency : 1);
    s.openblas_set_num_threads(Math.max(1, n | 0));
    const name = s.openblas_get_corename?.() ?? null;
    cached = {
      path,
      threads: s.openblas_get_num_threads(),
      core: name === null ? "unknown" : d.UnsafePointerView.getCString(name),
      sgemm(transA, transB, M, N, K, A, B, C, accumulate = false, alpha = 1) {
        s.cblas_sgemm(
          CBLAS_ROW_MAJOR,
          transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          M,
          N,
          K,
          alpha,
          A,
          transA ? M : K,
          B,
          transB ? K : N,
          typeof accumulate === "number" ? accumulate : accumulate ? 1 : 0,
          C,
          N,
        );
      },
    };
    return cached;
  }
  return null;
}
