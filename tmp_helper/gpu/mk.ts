import { encodeGrayPng } from "../../core/data/images.ts";
for (let k = 0; k < 2; k++) { const h = 16, w = 16; const data = new Float32Array(h*w).map((_, i) => 0.5 + 0.3*Math.sin((i%w)*(0.2+0.05*k))*Math.cos(Math.floor(i/w)*0.15)); await Deno.writeFile(`tmp_helper/gpu/val/img${k}.png`, encodeGrayPng({ height: h, width: w, data })); }
