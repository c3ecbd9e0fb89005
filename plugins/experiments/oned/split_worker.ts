/**
 * A worker of the 1d experiment's split run (`parallel.ts`): it trains a contiguous slice of the
 * ensemble's models with the experiment's own model and step (`model.ts`), on the backend the
 * parent runs, and answers the parent's messages in order (`split_protocol.ts`). It draws no
 * random numbers: the parent draws every initialisation and shuffle and sends this slice's share.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  builtinPlugins,
  createRegistry,
  type DeviceChoice,
  hostOps,
  initBackend,
  MT19937,
  tf,
} from "../../../mod.ts";
import type { Tensor } from "../../../plugin.ts";
import {
  createOnedModel,
  type NativeOnedStep,
  nativeOnedStep,
  onedBatchStep,
  type OnedModel,
  testMse,
} from "./model.ts";
import type { FromWorker, Stored, ToWorker } from "./split_protocol.ts";

let model: OnedModel | undefined;
let native: NativeOnedStep | null = null;
let testX: Tensor | undefined, testY: Tensor | undefined;
let M = 0, B = 0;
let epoch: { xs: Float32Array; ys: Float32Array } | undefined;
// The slice's loss sum of the epoch, in float32 as the engine sums the parent's.
let lossSum = 0;

const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, transfer);

function assignParams(params: Record<string, Stored>): void {
  for (const p of model!.net.parameters()) {
    const s = params[p.name];
    if (!s) throw new Error(`no values for parameter ${p.name}`);
    tf.tidy(() => p.variable.assign(tf.tensor(s.data, s.shape)));
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.t) {
    case "init": {
      // One OpenBLAS thread per worker would be ideal; the library is shared by the process, so
      // the parent sets it (see parallel.ts).
      await initBackend(msg.backend as DeviceChoice);
      const cfg = structuredClone(msg.config);
      cfg.training_options.nbr_models = msg.count;
      M = msg.count;
      B = cfg.training_options.batch_size;
      // The initial values come from the parent; this generator's draws are overwritten.
      model = await createOnedModel(
        { tf, ops: hostOps },
        createRegistry(builtinPlugins),
        new MT19937(0),
        cfg,
      );
      assignParams(msg.params);
      native = nativeOnedStep(hostOps, model, cfg);
      const N = msg.xTest.length;
      testX = tf.tidy(() => tf.tile(tf.tensor(msg.xTest, [1, N, 1]), [M, 1, 1]));
      testY = tf.tensor(msg.yTest, [1, N, 1]);
      lossSum = 0;
      post({ t: "ready" });
      return;
    }
    case "load": {
      assignParams(msg.params);
      model!.adam.setState(msg.adam);
      native?.invalidate();
      lossSum = msg.lossSum;
      return;
    }
    case "epoch":
      epoch = { xs: msg.xs, ys: msg.ys };
      return;
    case "step": {
      const off = msg.s * M * B;
      const { xs, ys } = epoch!;
      // The trained values reach the TF.js variables on "evaluate" and "state" (below).
      const batch = {
        x: xs.subarray(off, off + M * B),
        y: ys.subarray(off, off + M * B),
        last: false,
      };
      const loss = tf.tidy(() => onedBatchStep(model!, native, batch).dataSync()[0]);
      lossSum = Math.fround(lossSum + loss);
      return;
    }
    case "evaluate": {
      native?.push();
      const t = testMse(tf, model!.net, testX!, testY!);
      const mse = new Float32Array(await t.data());
      t.dispose();
      const sum = lossSum;
      lossSum = 0;
      const scaling: Record<string, Float32Array> = {};
      for (const p of model!.net.parameters()) {
        if (p.group === "spline_scaling") {
          scaling[p.name] = new Float32Array(await p.variable.data());
        }
      }
      post({ t: "evaluated", mse, lossSum: sum, scaling });
      return;
    }
    case "state": {
      native?.push();
      const params: Record<string, Stored> = {};
      for (const p of model!.net.parameters()) {
        params[p.name] = {
          shape: p.variable.shape.slice(),
          data: new Float32Array(await p.variable.data()),
        };
      }
      const adam = await model!.adam.getState();
      post({ t: "state", params, adam, lossSum });
      return;
    }
  }
}

// Messages are handled strictly in order: each waits for the previous one.
let queue: Promise<void> = Promise.resolve();
let failed = false;
self.onmessage = (e: MessageEvent<ToWorker>) => {
  if (failed) return;
  queue = queue.then(() => handle(e.data)).catch((err: unknown) => {
    failed = true;
    post({ t: "error", message: (err as Error)?.message ?? String(err) });
  });
};
