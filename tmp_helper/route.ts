import { tf, useBackend } from "../tests/helpers.ts";
import { useFusedBjorck } from "../core/ops/bjorck.ts";
for (const be of ["cpu", "wasm"]) {
  await useBackend(be as "cpu");
  for (const s of [[5,64,64],[5,32,32],[5,16,16],[5,8,8],[1,64,64],[5,4,4],[25,16,16],[1,1024,64],[64,64],[256,256]]) console.log(be, s.join("x"), useFusedBjorck(s, 25));
}
