/** The Store conformance suite on every engine: SQLite, PGlite, and the real Postgres server. */
import { storeConformance } from "./conformance.js";
import { enginesUnderTest } from "./engines.js";

for (const engine of await enginesUnderTest()) storeConformance(engine);
