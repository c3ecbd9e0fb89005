/**
 * The shipped configs as JSON modules, so that every single-file binary carries them whatever
 * its bundler (`deno compile`, `bun build --compile`): `train` falls back to these when
 * `configs/<name>` is neither in the working directory nor next to the program.
 *
 * @module
 */
import config1d from "../configs/config_1d.json" with { type: "json" };
import configDenoising from "../configs/config_denoising.json" with { type: "json" };
import configWasserstein from "../configs/config_wasserstein.json" with { type: "json" };
import configWgan from "../configs/config_wgan.json" with { type: "json" };

const EMBEDDED: Readonly<Record<string, unknown>> = {
  "config_1d.json": config1d,
  "config_denoising.json": configDenoising,
  "config_wasserstein.json": configWasserstein,
  "config_wgan.json": configWgan,
};

/** A fresh copy of the shipped config `name` (e.g. `config_1d.json`), or `undefined`. */
export function embeddedConfig(name: string): Record<string, unknown> | undefined {
  const c = EMBEDDED[name];
  return c === undefined ? undefined : structuredClone(c) as Record<string, unknown>;
}
