import type { z } from "zod";
import type { RunSource as RunSourceSchema, Scope as ScopeSchema } from "./schemas.js";

export type { Target } from "./targets.js";

export type Scope = z.infer<typeof ScopeSchema>;
export type RunSource = z.infer<typeof RunSourceSchema>;
