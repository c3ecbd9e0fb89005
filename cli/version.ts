/** lipspline's version, shown by `--version` and in the first line of every run. */
export const VERSION = "0.1.0";
