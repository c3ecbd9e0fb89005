/**
 * No projection (docs/method.md §4): the weight is used as it is. Its bound is the weight's own largest
 * singular value, which can exceed 1.
 *
 * @module
 */
import type { Projection } from "../../core/plugin/interfaces.ts";
import {
  EXACT_BOUND_METHOD,
  weightSpectralNormUpperBounds,
} from "../../core/certify/spectral_norm.ts";

const noProjection: Projection = {
  kind: "projection",
  name: "no_projection",
  version: "1.0.0",
  description: "identity: the weight is unconstrained",
  options: {},
  create() {
    return {
      project: (w) => w,
      async lipschitzBound(w) {
        const s = await weightSpectralNormUpperBounds(w);
        return {
          value: Math.max(...s),
          perModel: s,
          method: `${EXACT_BOUND_METHOD} of the raw weight`,
        };
      },
    };
  },
};
export default noProjection;
