/**
 * A build template is the operator's: where builds come from. The app version id in it comes
 * from whoever submitted the run, so it may only choose a file (path or query), never the host:
 * otherwise a submitter could point the device lab at any host and port.
 */
import { existsSync } from "node:fs";
import path from "node:path";

const PLACEHOLDER = "{app_version_id}";

const isUrl = (template: string) => /^https?:\/\//i.test(template);

/** Why the template is refused, or null when it is fine. */
export function buildTemplateProblem(template: string): string | null {
  if (!isUrl(template)) return null;
  const authorityEnd = template.indexOf("/", template.indexOf("://") + 3);
  const authority = authorityEnd < 0 ? template : template.slice(0, authorityEnd);
  if (authority.includes(PLACEHOLDER)) {
    return `${PLACEHOLDER} may appear only in the path or query of a build URL, not in its host`;
  }
  try {
    new URL(template.replaceAll(PLACEHOLDER, "x"));
  } catch {
    return "not a valid URL";
  }
  return null;
}

/**
 * Why a path template cannot lead to a build, or null: the directory holding the first
 * placeholder must exist (without a placeholder, the file itself). Relative paths are the
 * agent's working directory's, as BuildResolver reads them. URLs are not fetched here.
 */
export function buildPathProblem(template: string, cwd = process.cwd()): string | null {
  if (isUrl(template)) return null;
  const abs = path.resolve(cwd, template);
  const at = abs.indexOf(PLACEHOLDER);
  if (at < 0) return existsSync(abs) ? null : `${abs} does not exist`;
  const dir = path.dirname(`${abs.slice(0, at)}x`);
  return existsSync(dir) ? null : `${dir} does not exist (the builds' directory)`;
}

/** The template's own host, for checking what a resolved URL points at. */
export function templateHost(template: string): string | null {
  return isUrl(template) ? new URL(template.replaceAll(PLACEHOLDER, "x")).host : null;
}

/** Where one version's build is. Throws when the result would leave the template's host. */
export function resolveBuildTemplate(template: string, appVersionId: string): string {
  const where = template.replaceAll(PLACEHOLDER, appVersionId);
  const host = templateHost(template);
  if (host !== null) {
    let resolved: string | null = null;
    try {
      resolved = new URL(where).host;
    } catch {
      // An id that breaks the URL is refused below like one that moves it.
    }
    if (resolved !== host) {
      throw new Error(
        `app version ${JSON.stringify(appVersionId)} would move the build URL off ${host}`,
      );
    }
  }
  return where;
}
