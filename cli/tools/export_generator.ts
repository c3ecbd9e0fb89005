/**
 * Write the generator of a wgan run as a small generator file (float16 bit patterns, see
 * `generator_file.ts`): `deno run -A cli/tools/export_generator.ts
 * RUN_DIR/checkpoint.h5 data/wgan_generator.h5`. This is how `data/wgan_generator.h5` was made
 * (data/README.md).
 *
 * @module
 */
import { readCheckpoint } from "../../plugin.ts";
import { writeGeneratorFile } from "../../plugins/experiments/wasserstein/generator_file.ts";

if (import.meta.main) {
  const [src, dst] = Deno.args;
  if (!src || !dst) {
    console.error("usage: export_generator.ts RUN_DIR/checkpoint.h5 OUT.h5");
    Deno.exit(2);
  }
  const bytes = await writeGeneratorFile(dst, await readCheckpoint(src));
  console.log(`${dst}: ${(bytes / 2 ** 20).toFixed(1)} MiB of float16 generator weights`);
}
