import { describe, expect, it } from "vitest";
import { fleetView, type FleetCountRow } from "./fleet.js";

const view = (counts: FleetCountRow[], extraIdle = 0) => {
  const { idleAgents, fleet } = fleetView(counts, extraIdle);
  return {
    idleFleet: idleAgents.fleet,
    idleByOrg: Object.fromEntries(idleAgents.byOrg),
    live: fleet.live,
    busyByOrg: Object.fromEntries(fleet.busyByOrg),
  };
};

describe("fleetView, from the live agents counted by their org and their lease's", () => {
  it.each([
    {
      name: "no agents",
      counts: [],
      extraIdle: 0,
      want: { idleFleet: 0, idleByOrg: {}, live: 0, busyByOrg: {} },
    },
    {
      name: "fleet agents, idle and busy for two orgs",
      counts: [
        { agentOrg: null, leaseOrg: null, n: 3 },
        { agentOrg: null, leaseOrg: "a", n: 2 },
        { agentOrg: null, leaseOrg: "b", n: 1 },
      ],
      extraIdle: 0,
      want: { idleFleet: 3, idleByOrg: {}, live: 6, busyByOrg: { a: 2, b: 1 } },
    },
    {
      name: "an org's own agents count as its idle agents, never in the fleet's share",
      counts: [
        { agentOrg: "a", leaseOrg: null, n: 4 },
        { agentOrg: "a", leaseOrg: "a", n: 5 },
        { agentOrg: null, leaseOrg: "a", n: 1 },
      ],
      extraIdle: 0,
      want: { idleFleet: 0, idleByOrg: { a: 4 }, live: 1, busyByOrg: { a: 1 } },
    },
    {
      name: "a new agent the queue view adds is an idle fleet agent",
      counts: [{ agentOrg: null, leaseOrg: "a", n: 1 }],
      extraIdle: 1,
      want: { idleFleet: 1, idleByOrg: {}, live: 2, busyByOrg: { a: 1 } },
    },
  ])("$name", ({ counts, extraIdle, want }) => {
    expect(view(counts, extraIdle)).toEqual(want);
  });
});
