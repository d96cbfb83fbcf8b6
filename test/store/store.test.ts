/** The Store conformance suite on every engine: SQLite, PGlite, and the real Postgres server. */
import { storeConformance } from "./conformance.js";
import { enginesUnderTest } from "./engines.js";
import { historyConformance } from "./history-conformance.js";

for (const engine of await enginesUnderTest()) {
  storeConformance(engine);
  historyConformance(engine);
}
