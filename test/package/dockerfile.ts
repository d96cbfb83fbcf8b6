/**
 * Reads the Dockerfile's stages, so that a test can run the final image's settings (its ENV,
 * ENTRYPOINT, CMD and HEALTHCHECK) on this machine, where no Docker engine runs.
 */
import { readFileSync } from "node:fs";

export interface Stage {
  from: string;
  /** Each instruction of the stage, continuation lines joined. */
  instructions: { op: string; args: string }[];
}

export function readStages(path: string): Stage[] {
  const lines = readFileSync(path, "utf8")
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === "FROM") stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

export interface Image {
  env: Record<string, string>;
  user: string | undefined;
  workdir: string | undefined;
  volumes: string[];
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
}

/** The settings the final stage gives the image (the exec forms: JSON arrays). */
export function imageOf(stage: Stage): Image {
  const image: Image = {
    env: {},
    user: undefined,
    workdir: undefined,
    volumes: [],
    entrypoint: [],
    cmd: [],
    healthcheck: [],
  };
  for (const { op, args } of stage.instructions) {
    if (op === "ENV") {
      for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) image.env[key!] = value!;
    } else if (op === "USER") image.user = args;
    else if (op === "WORKDIR") image.workdir = args;
    else if (op === "VOLUME") image.volumes.push(...args.split(/\s+/));
    else if (op === "ENTRYPOINT") image.entrypoint = JSON.parse(args) as string[];
    else if (op === "CMD") image.cmd = JSON.parse(args) as string[];
    else if (op === "HEALTHCHECK") {
      image.healthcheck = JSON.parse(args.slice(args.indexOf("CMD ") + 4)) as string[];
    }
  }
  return image;
}
