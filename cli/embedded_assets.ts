/**
 * Assets a single-file binary carries besides code: the resvg WebAssembly module and the Roboto
 * font used to draw PNG figures. `bun build --compile` embeds the files given next to the entry
 * point (`deno task binary`) and lists them in `Bun.embeddedFiles`; under `deno run` and in a
 * Deno binary there are none and the figures read them from `node_modules` as usual.
 *
 * @module
 */
import { configureRaster, EMBEDDED_FONT_FAMILY } from "../core/output/raster.ts";

/** File names of the embedded assets (`--asset-naming "[name].[ext]"`). */
export const EMBEDDED_ASSETS = {
  resvgWasm: "index_bg.wasm",
  font: "Roboto_400Regular.ttf",
} as const;

/** Hand the embedded assets, if any, to the PNG rasteriser. */
export async function useEmbeddedAssets(): Promise<void> {
  const files =
    (globalThis as { Bun?: { embeddedFiles?: ReadonlyArray<Blob & { name?: string }> } })
      .Bun?.embeddedFiles;
  if (!files?.length) return;
  const bytes = async (name: string) => {
    const f = files.find((b) => b.name === name);
    return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
  };
  const wasm = await bytes(EMBEDDED_ASSETS.resvgWasm);
  const font = await bytes(EMBEDDED_ASSETS.font);
  configureRaster({
    ...(wasm ? { wasm } : {}),
    ...(font ? { font: { data: font, family: EMBEDDED_FONT_FAMILY } } : {}),
  });
}
