// Parses docs/asyncapi.yaml (or the file named on the command line) with the official AsyncAPI
// parser, which validates it against the AsyncAPI 3 schema and its ruleset, and resolves every
// $ref. Prints every diagnostic; exits non-zero if any is an error.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";

const path = process.argv[2] ?? fileURLToPath(new URL("../asyncapi.yaml", import.meta.url));
const source = await readFile(path, "utf8");
const { document, diagnostics } = await new Parser().parse(source, { source: path });

const names = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info",
  [DiagnosticSeverity.Hint]: "hint",
};
for (const d of diagnostics) {
  const where = d.path?.length ? d.path.join(".") : "(document)";
  const line = d.range ? `:${d.range.start.line + 1}` : "";
  console.log(`${names[d.severity] ?? d.severity} ${d.code} ${path}${line} ${where}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (errors.length > 0 || document === undefined) {
  console.error(`asyncapi: ${path} is not a valid AsyncAPI document (${errors.length} error(s))`);
  process.exit(1);
}
console.log(
  `asyncapi: ${path} is valid AsyncAPI ${document.version()}: ` +
    `${document.channels().length} channels, ${document.operations().length} operations, ` +
    `${document.messages().length} messages`,
);
