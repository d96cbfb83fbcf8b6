/**
 * Which qgjob org an installation submits into: its account's login, always. A config may name
 * the org (as documentation, or to catch a copied config), but naming another one is refused: an
 * installation must never queue work, or see results, in someone else's org.
 */
export function orgProblem(configured: string | undefined, account: string): string | null {
  if (configured === undefined || configured.toLowerCase() === account.toLowerCase()) return null;
  return (
    `this GitHub App installation belongs to ${account}, so it submits only into the org ` +
    `${account}, not ${configured} (remove org or set it to ${account})`
  );
}
