/**
 * Errors written for the user. A `UserError` is a mistake in input (config, argument, file):
 * the CLI prints its message as one line and exits with code 2, without a stack trace.
 *
 * @module
 */

/**
 * A mistake in the user's input. The message says what could not be done, why, and the
 * current value, e.g. `Cannot build groupsort as the group size must divide the width:
 * group size is 3, width is 10`.
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * throw new UserError("Cannot read config as the file does not exist: configs/x.json");
 * ```
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * True when `e` is a {@linkcode UserError}, also one thrown by a plugin that imported its own
 * copy of this module (recognised by its name).
 */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError || (e instanceof Error && e.name === "UserError");
}

/**
 * Training stopped because a loss, a parameter or a metric became non-finite (NaN or ±Infinity).
 * The CLI prints the message as one line and exits with code 3; the last good checkpoint is kept.
 *
 * @example
 * ```ts
 * import { DivergedError } from "./errors.ts";
 * const e = new DivergedError("Training diverged at epoch 0, step 3: the loss is NaN", { epoch: 0, step: 3 });
 * ```
 */
export class DivergedError extends Error {
  /** Where it happened. */
  readonly at: { epoch: number; step: number };
  constructor(message: string, at: { epoch: number; step: number }) {
    super(message);
    this.name = "DivergedError";
    this.at = at;
  }
}
