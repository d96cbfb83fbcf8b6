/**
 * The scheduling simulation on its own:
 *
 *   npx tsx bench/scheduling.ts [--workload W1|W2|tiny] [--grouping app_version] [--seed 1]
 */
import { parseArgs } from "node:util";
import { schedulingQuality } from "./sim/scheduling.js";
import { workloads } from "./sim/workloads.js";
import { printScheduling } from "./table.js";

const { values } = parseArgs({
  options: {
    workload: { type: "string", multiple: true },
    grouping: { type: "string", default: "app_version" },
    seed: { type: "string" },
  },
});
for (const name of values.workload ?? ["W1", "W2"]) {
  const make = workloads[name];
  if (!make)
    throw new Error(`unknown workload ${name}: one of ${Object.keys(workloads).join(", ")}`);
  const report = await schedulingQuality(
    make(values.seed === undefined ? undefined : Number(values.seed)),
    values.grouping,
  );
  printScheduling([report]);
}
