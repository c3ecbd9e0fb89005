/**
 * Every built-in activation passes the plugin conformance kit (testing.ts) exactly as a
 * third-party plugin would: shape, gradient against finite differences, bound against measured
 * slopes, checkpoint round trip and no leaked tensors, fully connected and as an ensemble.
 */
import assert from "node:assert/strict";
import { useBackend } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";
import { checkActivation } from "../testing.ts";

await useBackend("cpu");
const registry = createRegistry(builtinPlugins);

/** Parameters that exercise each built-in (the others need none). */
const PARAMS: Record<string, Omit<ActivationParams, "activation_type">> = {
  linearspline: {
    spline_size: 11,
    spline_range: 1,
    spline_init: "relu",
    lipschitz_constrained: true,
    spline_scaling_coeff: true,
    lmbda: 1e-4,
  },
  groupsort: { groupsort_groupsize: 2 },
  prelu: { prelu_init: 0.25 },
};

for (const name of registry.names("activation")) {
  Deno.test(`built-in activation ${name} passes the conformance kit (fc and ensemble)`, async () => {
    const plugin = await registry.activation(name);
    const params = { activation_type: name, ...PARAMS[name] };
    for (const ensemble of [undefined, 2]) {
      const r = await checkActivation(plugin, { params, channels: 4, ensemble });
      assert.ok(r.measuredSlope > 0, `${name}: nothing measured`);
      assert.ok(r.bound === null || r.bound >= r.measuredSlope * (1 - 1e-4));
    }
  });
}

Deno.test("the kit rejects an activation whose bound is below its slope", async () => {
  const relu = await registry.activation("relu");
  const liar = {
    ...relu,
    name: "liar",
    create: (ctx: Parameters<typeof relu.create>[0]) => {
      const inst = relu.create(ctx);
      return { ...inst, lipschitzBound: () => Promise.resolve({ value: 0.5, method: "wrong" }) };
    },
  };
  await assert.rejects(() => checkActivation(liar), /conformance \(bound\).*0\.5/);
});

Deno.test("the kit rejects a wrong gradient and a leaking forward", async () => {
  const relu = await registry.activation("relu");
  const wrongGrad = {
    ...relu,
    name: "wrong_grad",
    create: (ctx: Parameters<typeof relu.create>[0]) => ({
      ...relu.create(ctx),
      // forward value relu(x), gradient 0 everywhere (the stop-gradient trick).
      forward: (x: Parameters<ReturnType<typeof relu.create>["forward"]>[0]) =>
        ctx.tf.customGrad((a) => ({
          value: ctx.tf.relu(a as typeof x),
          gradFunc: (dy) => ctx.tf.zerosLike(dy),
        }))(x),
    }),
  };
  await assert.rejects(() => checkActivation(wrongGrad), /conformance \(gradient\)/);
  const leaky = {
    ...relu,
    name: "leaky",
    create: (ctx: Parameters<typeof relu.create>[0]) => {
      const inst = relu.create(ctx);
      return {
        ...inst,
        forward: (x: Parameters<typeof inst.forward>[0]) => {
          ctx.tf.keep(ctx.tf.add(x, 1));
          return inst.forward(x);
        },
      };
    },
  };
  await assert.rejects(() => checkActivation(leaky), /conformance \(leaks\)/);
});
