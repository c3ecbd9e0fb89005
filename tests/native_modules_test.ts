/**
 * Provenance of the committed WebAssembly SIMD modules (core/kernels/native): each embedded
 * module matches its recorded sha256, `build.sh` rebuilds exactly the committed file from its C
 * source (where clang is installed), and the modules that share the tfjs wasm heap (spline,
 * coefficients, adam, add_bias, winograd, and fc_dense, which runs in the Björck module's memory) own no memory (no data segment, memory imported, only their functions
 * exported).
 */
import assert from "node:assert/strict";
import { BJORCK_WASM_BASE64, BJORCK_WASM_SHA256 } from "../core/kernels/native/bjorck_wasm_bin.ts";
import { IM2COL_WASM_BASE64, IM2COL_WASM_SHA256 } from "../core/kernels/native/im2col_wasm_bin.ts";
import {
  WINOGRAD_WASM_BASE64,
  WINOGRAD_WASM_SHA256,
} from "../core/kernels/native/winograd_wasm_bin.ts";
import { SPLINE_WASM_BASE64, SPLINE_WASM_SHA256 } from "../core/kernels/native/spline_wasm_bin.ts";
import {
  COEFFICIENTS_WASM_BASE64,
  COEFFICIENTS_WASM_SHA256,
} from "../core/kernels/native/coefficients_wasm_bin.ts";
import { ADAM_WASM_BASE64, ADAM_WASM_SHA256 } from "../core/kernels/native/adam_wasm_bin.ts";
import {
  ADD_BIAS_WASM_BASE64,
  ADD_BIAS_WASM_SHA256,
} from "../core/kernels/native/add_bias_wasm_bin.ts";
import {
  FC_DENSE_WASM_BASE64,
  FC_DENSE_WASM_SHA256,
} from "../core/kernels/native/fc_dense_wasm_bin.ts";

const MODULES = [
  { name: "bjorck", base64: BJORCK_WASM_BASE64, sha256: BJORCK_WASM_SHA256 },
  { name: "im2col", base64: IM2COL_WASM_BASE64, sha256: IM2COL_WASM_SHA256 },
  { name: "winograd", base64: WINOGRAD_WASM_BASE64, sha256: WINOGRAD_WASM_SHA256 },
  { name: "spline", base64: SPLINE_WASM_BASE64, sha256: SPLINE_WASM_SHA256 },
  { name: "coefficients", base64: COEFFICIENTS_WASM_BASE64, sha256: COEFFICIENTS_WASM_SHA256 },
  { name: "adam", base64: ADAM_WASM_BASE64, sha256: ADAM_WASM_SHA256 },
  { name: "add_bias", base64: ADD_BIAS_WASM_BASE64, sha256: ADD_BIAS_WASM_SHA256 },
  { name: "fc_dense", base64: FC_DENSE_WASM_BASE64, sha256: FC_DENSE_WASM_SHA256 },
];

/** The modules that run on the tfjs wasm heap, and the functions each exports. */
const HEAP_MODULES = [
  {
    name: "spline",
    base64: SPLINE_WASM_BASE64,
    exports: ["spline_backward", "spline_backward_sparse", "spline_forward"],
  },
  {
    name: "coefficients",
    base64: COEFFICIENTS_WASM_BASE64,
    exports: ["coef_project", "coef_project_grad"],
  },
  { name: "adam", base64: ADAM_WASM_BASE64, exports: ["adam_update"] },
  { name: "add_bias", base64: ADD_BIAS_WASM_BASE64, exports: ["add_bias", "sum_rows"] },
  {
    name: "winograd",
    base64: WINOGRAD_WASM_BASE64,
    exports: [
      "input2",
      "input4",
      "inputGrad2",
      "inputGrad4",
      "output2",
      "output4",
      "outputGrad2",
      "outputGrad4",
    ],
  },
  {
    name: "fc_dense",
    base64: FC_DENSE_WASM_BASE64,
    exports: ["dense_backward", "dense_forward", "divide", "fill", "squared_error"],
  },
];

function bytesOf(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

for (const m of MODULES) {
  Deno.test(`embedded ${m.name} wasm module matches its recorded sha256`, async () => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytesOf(m.base64)));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(hex, m.sha256);
  });
}

for (const m of HEAP_MODULES) {
  Deno.test(`the ${m.name} module imports its memory and owns none (it runs on the tfjs heap)`, () => {
    const mod = new WebAssembly.Module(bytesOf(m.base64));
    assert.deepEqual(WebAssembly.Module.imports(mod), [
      { module: "env", name: "memory", kind: "memory" },
    ]);
    assert.deepEqual(
      WebAssembly.Module.exports(mod).map((e) => `${e.kind} ${e.name}`).sort(),
      m.exports.map((e) => `function ${e}`),
    );
    // section ids of the binary: 11 is a data segment (it would overwrite the tfjs heap)
    const bytes = bytesOf(m.base64);
    const ids: number[] = [];
    for (let p = 8; p < bytes.length;) {
      ids.push(bytes[p++]);
      let size = 0, shift = 0, b: number;
      do {
        b = bytes[p++];
        size |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      p += size;
    }
    assert.ok(!ids.includes(11), `sections ${ids}`);
  });
}

const HAVE_CLANG = (() => {
  try {
    return new Deno.Command("clang", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

for (const m of MODULES) {
  Deno.test({
    name: `native/build.sh rebuilds exactly the committed module from ${m.name}.c (needs clang)`,
    ignore: !HAVE_CLANG,
    async fn() {
      const dir = await Deno.makeTempDir();
      const out = `${dir}/bin.ts`;
      const script = new URL("../core/kernels/native/build.sh", import.meta.url).pathname;
      const res = await new Deno.Command("sh", { args: [script, m.name, out], stdout: "null" })
        .output();
      assert.ok(res.success, new TextDecoder().decode(res.stderr));
      const committed = new URL(`../core/kernels/native/${m.name}_wasm_bin.ts`, import.meta.url);
      assert.equal(await Deno.readTextFile(out), await Deno.readTextFile(committed));
      await Deno.remove(dir, { recursive: true });
    },
  });
}

Deno.test("native/build.sh rejects an unknown module name with exit code 2", async () => {
  const script = new URL("../core/kernels/native/build.sh", import.meta.url).pathname;
  const res = await new Deno.Command("sh", { args: [script, "bogus"], stdout: "null" }).output();
  assert.equal(res.code, 2);
  assert.match(new TextDecoder().decode(res.stderr), /unknown module 'bogus'/);
});
