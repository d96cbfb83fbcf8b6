/** The queue page's next-lease preview, decided and filtered the same way from either engine. */
import type { Decision, Target } from "../scheduler/types.js";
import type { NextLeaseView, OrgScope } from "./store.js";

/** The agent a preview asks about. */
export interface PreviewAgent {
  id: string;
  orgId: string | null;
  target: Target;
  device: string | null;
  installed: string[];
}

/** The idle agent a preview asks about, as the engine found it. */
export interface IdleAgent extends PreviewAgent {
  name: string;
}

/** With no idle agent, the preview asks for a fleet agent that registers now with nothing installed. */
export const newAgent = (target: Target): PreviewAgent => ({
  id: "",
  orgId: null,
  target,
  device: null,
  installed: [],
});

/** The scheduler's decision for the agent, with what the caller may see of it and of the agent. */
export function nextLeaseView(
  target: Target,
  idle: IdleAgent | undefined,
  decision: Decision | null,
  scope: OrgScope,
): NextLeaseView {
  const visible = scope.orgId === null || idle?.orgId === scope.orgId;
  return {
    target,
    agent: idle ? { id: idle.id, name: visible ? idle.name : null } : null,
    decision:
      decision && (scope.orgId === null || decision.orgId === scope.orgId) ? decision : null,
  };
}
