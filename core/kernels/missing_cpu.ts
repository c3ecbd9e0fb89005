/** Placeholder replaced below. @module */
/** Register. */
export function register(): void {}
