/**
 * JUnit reports checked against Jenkins' JUnit schema (junit-jenkins.xsd, its rules written out)
 * with libxml2's validator (xmllint-wasm: libxml2 compiled to WebAssembly, no native build).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateXML } from "xmllint-wasm";

const XSD = readFileSync(join(import.meta.dirname, "junit-jenkins.xsd"), "utf8");

/** The validator's complaints: empty when the report is valid. */
export async function jenkinsJunitErrors(xml: string): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: "junit.xml", contents: xml }],
    schema: [{ fileName: "junit-jenkins.xsd", contents: XSD }],
  });
  return result.valid ? [] : result.errors.map((e) => e.rawMessage.trim());
}
