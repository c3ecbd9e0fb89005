/**
 * No projection (spec §4): the weight is used as it is. Its bound is the weight's own largest
 * singular value, which can exceed 1.
 *
 * @module
 */
import type { Projection } from "../../core/plugin/interfaces.ts";
import { spectralNorm } from "../../core/ops/bjorck.ts";

const noProjection: Projection = {
  kind: "projection",
  name: "no_projection",
  version: "1.0.0",
  description: "identity: the weight is unconstrained",
  create() {
    return {
      project: (w) => w,
      async lipschitzBound(w) {
        const s = Array.from(await spectralNorm(w));
        return { value: Math.max(...s), perModel: s, method: "power iteration on the raw weight" };
      },
    };
  },
};
export default noProjection;
