/**
 * SVG to PNG rasterisation with `@resvg/resvg-wasm` and an embedded font (Roboto Regular from
 * `@expo-google-fonts/roboto`), so PNGs look the same on every machine and need no system fonts.
 *
 * Assets: the resvg WebAssembly module and the TTF font are read from the npm packages (found with
 * `require.resolve` from this module), the first time a PNG is made. Both packages are pinned
 * in `deno.json`, so `deno run`, `deno test` and `deno compile` (which embeds the local
 * `node_modules` folder in the binary) all find them. A host that must ship them some other way
 * can hand the bytes over with {@linkcode configureRaster} before the first render. When the font
 * package cannot be read, a common system font (DejaVu Sans, Liberation Sans, Arial) is used.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initWasm, Resvg } from "@resvg/resvg-wasm";

/** The font family name of the embedded font; SVGs may name it or a generic `sans-serif`. */
export const EMBEDDED_FONT_FAMILY = "Roboto";

const WASM_PATH = "@resvg/resvg-wasm/index_bg.wasm";
const FONT_PATH = "@expo-google-fonts/roboto/400Regular/Roboto_400Regular.ttf";

/** Font bytes and the family name they declare. */
export interface RasterFont {
  /** TTF or OTF file contents. */
  data: Uint8Array;
  /** The family name inside the font, e.g. `DejaVu Sans`. */
  family: string;
}

let suppliedWasm: Uint8Array | undefined;
let ready: Promise<void> | undefined;
let font: RasterFont | undefined;

/**
 * Supply the resvg wasm bytes and/or the font instead of reading them from `node_modules`.
 * The wasm must be given before the first {@linkcode svgToPng}; the font may change any time
 * (`font: null` goes back to the default).
 *
 * @example
 * ```ts
 * import { configureRaster } from "./raster.ts";
 * import { readFileSync } from "node:fs";
 * configureRaster({
 *   font: {
 *     data: readFileSync("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
 *     family: "DejaVu Sans",
 *   },
 * });
 * ```
 */
export function configureRaster(opts: { wasm?: Uint8Array; font?: RasterFont | null }): void {
  if (opts.wasm !== undefined) {
    if (ready !== undefined) {
      throw new Error("configureRaster({ wasm }) must be called before the first PNG is rendered");
    }
    suppliedWasm = opts.wasm;
  }
  if (opts.font !== undefined) font = opts.font ?? undefined; // null: back to the default
}

function readAsset(specifier: string): Uint8Array {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(specifier);
  } catch (e) {
    throw new Error(
      `Cannot render PNG as ${specifier} was not found (is the npm package installed?): ${e}`,
    );
  }
  return readFileSync(path);
}

async function init(): Promise<RasterFont> {
  ready ??= (async () => {
    await initWasm(suppliedWasm ?? readAsset(WASM_PATH));
  })().catch((e) => {
    ready = undefined;
    throw e;
  });
  await ready;
  return font ??= loadFont();
}

/** Fonts tried when the npm font package cannot be read (e.g. a binary built without it). */
const SYSTEM_FONTS: [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/System/Library/Fonts/Supplemental/Arial.ttf", "Arial"],
  ["C:\\Windows\\Fonts\\arial.ttf", "Arial"],
];

function loadFont(): RasterFont {
  try {
    return { data: readAsset(FONT_PATH), family: EMBEDDED_FONT_FAMILY };
  } catch (e) {
    for (const [path, family] of SYSTEM_FONTS) {
      try {
        return { data: readFileSync(path), family };
      } catch {
        // try the next one
      }
    }
    throw e;
  }
}

/** Options of {@linkcode svgToPng}. */
export interface RasterOptions {
  /** Zoom factor: the PNG is `scale` times the SVG's width and height (default 2). */
  scale?: number;
  /** Background colour (default white). */
  background?: string;
}

/**
 * Rasterise an SVG document to PNG bytes. Text uses the embedded font for every family.
 *
 * @example
 * ```ts
 * import { svgToPng } from "./raster.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
 * ```
 */
export async function svgToPng(svg: string, opts: RasterOptions = {}): Promise<Uint8Array> {
  const f = await init();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    background: opts.background ?? "white",
    font: {
      fontBuffers: [f.data],
      defaultFontFamily: f.family,
      sansSerifFamily: f.family,
      serifFamily: f.family,
      monospaceFamily: f.family,
    },
  });
  try {
    const img = resvg.render();
    try {
      return img.asPng();
    } finally {
      img.free();
    }
  } finally {
    resvg.free();
  }
}
