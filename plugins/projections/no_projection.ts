/**
 * No projection (docs/method.md §4): the weight is used as it is. Its bound is the weight's own largest
 * singular value, which can exceed 1.
 *
 * @module
 */
import type { Projection } from "../../plugin.ts";

const noProjection: Projection = {
  kind: "projection",
  name: "no_projection",
  version: "1.0.0",
  description: "identity: the weight is unconstrained",
  options: {},
  create({ ops }) {
    return {
      project: (w) => w,
      async lipschitzBound(w) {
        const s = await ops.weightSpectralNormUpperBounds(w);
        return {
          value: Math.max(...s),
          perModel: s,
          method: `${ops.EXACT_BOUND_METHOD} of the raw weight`,
        };
      },
    };
  },
};
export default noProjection;
