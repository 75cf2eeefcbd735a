// Encoding speed of the reference tokenizers: node bench.mjs <family> <text file> [passes]
// Prints tokens per second, the median over the passes after one warm-up pass.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const [family, textFile, passesArg] = process.argv.slice(2);
const passes = Number(passesArg ?? 5);
const folder = join(dirname(fileURLToPath(import.meta.url)), "node_modules", `@lenml/tokenizer-${family}`, "models");
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(folder, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8")),
});
// Prompts, not whole books: the text is encoded in pieces of about 2,000 characters, cut at line ends.
const pieces = [];
let piece = "";
for (const line of readFileSync(textFile, "utf8").split(/(?<=\n)/)) {
  piece += line;
  if (piece.length >= 2000) {
    pieces.push(piece);
    piece = "";
  }
}
if (piece.length > 0) pieces.push(piece);
const rates = [];
let count = 0;
for (let pass = 0; pass <= passes; pass++) {
  const start = process.hrtime.bigint();
  count = 0;
  for (const p of pieces) count += tokenizer.encode(p, { add_special_tokens: false }).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (pass > 0) rates.push(count / seconds);
}
rates.sort((a, b) => a - b);
console.log(`${family}: ${count} tokens, ${(rates[Math.floor(rates.length / 2)] / 1e6).toFixed(2)} M tokens/s (median of ${passes})`);
