// Writes strings.json (the test strings) and <family>.json (the reference ids and decoded text for each string)
// from the transformers.js tokenizers and the real tokenizer files of each family. Run `npm ci && npm run generate`
// in this folder after changing the strings or the versions in package.json.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const version = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies["@lenml/tokenizers"];
const families = ["llama2", "llama3_1", "qwen3", "gemma3", "deepseek_v3"];

const strings = [
  "",
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "Really???",
  "I'm sure you'll see they've done it, haven't they? I'D SAY SO.",
  " leading space",
  "trailing space ",
  "  two leading spaces",
  "many     spaces    between",
  "tabs\tand\t\ttabs",
  "line one\nline two\n\nline four\r\nwindows line",
  "\n\n\n",
  "   \t \n ",
  "3.14159 2026-11-30 1,234,567 0x1F 12345678901234567890",
  "函数返回一个新的列表，其中包含所有的偶数。",
  "日本語のテキストとカタカナ、ひらがな。",
  "한국어 문장도 포함됩니다.",
  "مرحبا بالعالم، هذا نص عربي.",
  "नमस्ते दुनिया, यह हिन्दी पाठ है।",
  "Привет, мир! Съешь же ещё этих мягких французских булок.",
  "Ελληνικά: Καλημέρα κόσμε.",
  "e\u0301 cafe\u0301 re\u0301sume\u0301",
  "ﬁ ligature, ｆｕｌｌｗｉｄｔｈ, ① ② ³",
  "👍 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪 😀😃😄",
  "𝐁𝐨𝐥𝐝 math letters and 𠀀𠀁 rare CJK",
  "def add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n\tprint(add(1, 2))",
  "for (int i = 0; i < n; i++) { sum += a[i]; } // C-style loop",
  "<s>",
  "</s>",
  "<s> hello </s>",
  "text<s>text",
  "<|im_start|>user\nHi<|im_end|>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<start_of_turn>user\nHi<end_of_turn>\n",
  "<think>\nreasoning\n</think>\n\nanswer",
  "<tool_call>{\"name\": \"f\"}</tool_call>",
  "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>",
  "<bos><eos><pad><unk>",
  "a<unused0>b [multimodal] <mask>",
  "URL: https://example.com/path?q=1&r=2#frag",
  "email@example.com, @mention #hashtag $100 50% ^_^",
  "▁already▁has▁metaspace",
  "Ġ weird byte-level chars Ċ",
  "mixed: English, 中文, العربية, हिन्दी, 😀 in one line.",
  "ALL CAPS WORDS AND MiXeD CaSe",
  "...!!!???---___***",
  "a",
  " ",
  "\u00a0non-breaking\u00a0spaces\u3000ideographic space",
];

// A 20 KB text: scripture, then the lines above shuffled deterministically, repeated.
function longText() {
  const scripture = readFileSync(join(here, "../../../../models/kjv-llama/data/heldout.txt"), "utf8").slice(0, 12000);
  let seed = 12;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const lines = strings.filter((s) => s.length > 0);
  let text = scripture;
  while (text.length < 20000) {
    text += "\n" + lines[next() % lines.length];
  }
  return text;
}
strings.push(longText());

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
writeFileSync(join(here, "strings.json"), JSON.stringify({ strings }, null, 1) + "\n");

for (const family of families) {
  const pkg = `@lenml/tokenizer-${family}`;
  const folder = join(here, "node_modules", pkg, "models");
  const tokenizerJSON = JSON.parse(readFileSync(join(folder, "tokenizer.json"), "utf8"));
  const tokenizerConfig = JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
  const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  const cases = strings.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const withSpecials = tokenizer.encode(text, { add_special_tokens: true });
    const decode = (x) => (x.length === 0 ? "" : tokenizer.decode(x, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
    return {
      ids,
      withSpecials,
      decoded: decode(ids),
      // Whether the reference, with the tokenizer's own decode settings, gives the text back.
      roundTrips: (ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: true })) === text,
    };
  });
  const files = {
    "tokenizer.json": sha256(join(folder, "tokenizer.json")),
    "tokenizer_config.json": sha256(join(folder, "tokenizer_config.json")),
  };
  writeFileSync(join(here, `${family}.json`), JSON.stringify({ package: pkg, version, files, cases }) + "\n");
  console.log(`${family}: ${cases.length} strings`);
}
