/**
 * Backend selection (`core/backend/backend.ts`): every `--device` choice starts (WebGPU through our own
 * adapter/device on the software adapter here), kernels are registered, a bad choice is a
 * UserError, and TF.js's banners stay off stdout.
 */
import assert from "node:assert/strict";
import { tf } from "../core/backend/tf.ts";
import {
  AUTO_CPU_BACKEND,
  DEVICE_CHOICES,
  type DeviceChoice,
  hasRealGpu,
  initBackend,
} from "../core/backend/backend.ts";
import { isUserError } from "../core/errors.ts";

const HAS_WEBGPU = "gpu" in navigator;

for (const choice of DEVICE_CHOICES) {
  Deno.test({
    name: `initBackend('${choice}') starts with a description`,
    ignore: choice === "webgpu" && !HAS_WEBGPU,
    async fn() {
      const info = await initBackend(choice);
      assert.ok(info.description.length > 0);
      assert.equal(tf.getBackend(), info.name);
      if (choice === "auto") {
        assert.equal(info.name, (await hasRealGpu()) ? "webgpu" : AUTO_CPU_BACKEND);
        assert.match(info.description, /auto/);
      } else {
        assert.equal(info.name, choice);
      }
      // a real computation on it
      const y = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
      assert.deepEqual(Array.from(await y.data()), [4, 6]);
      y.dispose();
    },
  });
}

Deno.test("initBackend registers lipspline's kernels on cpu and wasm", async () => {
  await initBackend("cpu");
  assert.ok(tf.getKernel("LipsplineBjorck", "cpu"));
  assert.ok(tf.getKernel("LipsplineBjorckGrad", "cpu"));
  await initBackend("wasm");
  assert.ok(tf.getKernel("LipsplineBjorck", "wasm"));
  assert.ok(tf.getKernel("UnsortedSegmentSum", "wasm"));
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"));
});

Deno.test("initBackend rejects an unknown device with a UserError", async () => {
  await assert.rejects(
    () => initBackend("gpu" as DeviceChoice),
    (e: unknown) => isUserError(e) && /--device is 'gpu'/.test((e as Error).message),
  );
});

Deno.test({
  name: "webgpu starts on this machine's adapter and multiplies matrices correctly",
  ignore: !HAS_WEBGPU,
  async fn() {
    const info = await initBackend("webgpu");
    assert.equal(tf.getBackend(), "webgpu");
    assert.match(info.description, /^webgpu \(GPU/);
    // keep the work on the GPU (small tensors are otherwise forwarded to the cpu backend)
    tf.env().set("WEBGPU_CPU_FORWARD", false);
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor2d([[7, 8], [9, 10], [11, 12]]);
    const c = tf.matMul(a, b);
    assert.deepEqual(Array.from(await c.data()), [58, 64, 139, 154]);
    // a larger product against a JS reference
    const n = 64;
    const av = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) - 6);
    const bv = Float32Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) - 5);
    const big = tf.matMul(tf.tensor2d(av, [n, n]), tf.tensor2d(bv, [n, n]));
    const got = await big.data();
    for (let i = 0; i < n; i += 9) {
      for (let j = 0; j < n; j += 7) {
        let s = 0;
        for (let k = 0; k < n; k++) s += av[i * n + k] * bv[k * n + j];
        assert.equal(got[i * n + j], s);
      }
    }
    tf.env().set("WEBGPU_CPU_FORWARD", true);
    tf.dispose([a, b, c, big]);
  },
});

Deno.test("TF.js banners stay off stdout (cpu and wasm, first tensor write)", async () => {
  const stdout = await runSnippet(
    `
    import { initBackend } from "${new URL("../core/backend/backend.ts", import.meta.url).href}";
    import { tf } from "${new URL("../core/backend/tf.ts", import.meta.url).href}";
    for (const d of ["cpu", "wasm"]) {
      await initBackend(d);
      await tf.add(tf.tensor1d([1]), tf.tensor1d([2])).data();
    }`,
    ["-A"],
  );
  assert.equal(stdout, "");
});

/**
 * Run a snippet in a fresh `deno run` with the given permissions and env (`deno eval` would
 * grant every permission); returns stdout.
 */
async function runSnippet(code: string, args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/snippet.ts`;
  await Deno.writeTextFile(file, code);
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", `${root}deno.json`, ...args, file],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("cpu falls back cleanly without OpenBLAS (no --allow-ffi, or library absent)", async () => {
  const code = `
    import { initBackend } from "${new URL("../core/backend/backend.ts", import.meta.url).href}";
    import { openBlas } from "${new URL("../core/backend/openblas_ffi.ts", import.meta.url).href}";
    import { tf } from "${new URL("../core/backend/tf.ts", import.meta.url).href}";
    const info = await initBackend("cpu");
    const a = tf.ones([64, 64]);
    const s = (await tf.sum(tf.matMul(a, a)).data())[0];
    console.log(JSON.stringify({ blas: openBlas() !== null, s, d: info.description }));`;
  const noFfi = JSON.parse(
    await runSnippet(code, ["--allow-read", "--allow-env", "--allow-sys", "--allow-run"]),
  );
  assert.equal(noFfi.blas, false);
  assert.equal(noFfi.s, 64 * 64 * 64);
  assert.doesNotMatch(noFfi.d, /OpenBLAS/);
  const absent = JSON.parse(
    await runSnippet(code, ["-A"], { LIPSPLINE_BLAS: "/nonexistent/libopenblas.so.0" }),
  );
  assert.equal(absent.blas, false);
  assert.equal(absent.s, 64 * 64 * 64);
});
