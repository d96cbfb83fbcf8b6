import type { z } from "zod";
import type { Scope as ScopeSchema } from "./schemas.js";

export type { Target } from "./targets.js";

export type Scope = z.infer<typeof ScopeSchema>;
