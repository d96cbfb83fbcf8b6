/** Where a test runs. Shared by the wire schemas and the (zod-free) scheduler. */
export const TARGETS = ["emulator", "device", "browserstack"] as const;
export type Target = (typeof TARGETS)[number];
