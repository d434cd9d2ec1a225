// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/lineage
 *
 * The rules of a delegation link (DESIGN §5): a child may only narrow what its parent grants. Each
 * function returns undefined when the rule holds, else the reason (E_LINEAGE's detail).
 *
 * Scope within a grant, field by field (an absent field in the grant allows anything):
 *   exe     grant "/dir/" (a prefix): the child's exe starts with it; else equal (and not a prefix)
 *   sha256, argv, cwd, uid, caller   equal when the grant sets them
 *   env     a subset of the grant's (an absent env in the child would allow any: not within)
 *   uses    at most the grant's (each defaults to 1)
 * Link: same sub; window inside the parent's; state, boot equal and epoch not lower when the parent sets
 * them; secrets a subset of the parent's (a parent naming none lets its children name none); a child's
 * own grant within its parent's grant and strictly shallower.
 */
import { equalBytes } from '../encoding/bytes.js';
import type { ArtifactClaims, Scope, StateBinding } from './claims.js';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether `child` (a scope or a narrower grant) lies within `grant`. */
export function scopeWithin(child: Scope, grant: Scope, path = 'scope'): string | undefined {
  if (grant.exe.endsWith('/')) {
    if (!child.exe.startsWith(grant.exe)) return `${path}.exe ${child.exe} is not under ${grant.exe}`;
  } else if (child.exe !== grant.exe) return `${path}.exe ${child.exe} is not ${grant.exe}`;
  if (grant.sha256 && !(child.sha256 && equalBytes(child.sha256, grant.sha256)))
    return `${path}.sha256 differs from the grant's`;
  if (grant.argv && !(child.argv && sameList(child.argv, grant.argv)))
    return `${path}.argv differs from the grant's`;
  if (grant.cwd !== undefined && child.cwd !== grant.cwd) return `${path}.cwd differs from the grant's`;
  if (grant.uid !== undefined && child.uid !== grant.uid) return `${path}.uid differs from the grant's`;
  if (grant.caller !== undefined && child.caller !== grant.caller)
    return `${path}.caller differs from the grant's`;
  if (grant.env) {
    const allowed = new Set(grant.env);
    if (!child.env)
      return `${path}.env is unrestricted but the grant allows only ${grant.env.join(', ') || 'none'}`;
    const extra = child.env.filter((e) => !allowed.has(e));
    if (extra.length) return `${path}.env allows ${extra.join(', ')} beyond the grant`;
  }
  if ((child.uses ?? 1) > (grant.uses ?? 1))
    return `${path}.uses ${child.uses ?? 1} is more than the grant's ${grant.uses ?? 1}`;
  return undefined;
}

function sameState(a: StateBinding, b: StateBinding): boolean {
  if ('ref' in a || 'ref' in b) return 'ref' in a && 'ref' in b && equalBytes(a.ref, b.ref);
  return a.bank === b.bank && a.pcrs.join() === b.pcrs.join() && equalBytes(a.digest, b.digest);
}

/** The start of an artifact's validity window. */
export const notBefore = (c: Pick<ArtifactClaims, 'nbf' | 'iat'>): number => c.nbf ?? c.iat;

/** Whether `child` may descend from `parent` (whose `delegate` grant must exist; the key is checked apart). */
export function linkWithin(child: ArtifactClaims, parent: ArtifactClaims): string | undefined {
  const grant = parent.delegate;
  if (!grant) return 'the parent grants no delegation';
  if (child.sub !== parent.sub) return `sub ${child.sub} is not the parent's ${parent.sub}`;
  const scope = scopeWithin(child.scope, grant.scope);
  if (scope) return scope;
  if (notBefore(child) < notBefore(parent)) return "the window starts before the parent's";
  if (child.exp > parent.exp) return "the window ends after the parent's (exp)";
  if (parent.state && !(child.state && sameState(child.state, parent.state)))
    return "the state binding differs from the parent's";
  if (parent.boot !== undefined && child.boot !== parent.boot) return "boot differs from the parent's";
  if (parent.epoch !== undefined && (child.epoch ?? -1) < parent.epoch)
    return `epoch is lower than the parent's ${parent.epoch}`;
  const parentSecrets = new Set(parent.secrets ?? []);
  const extra = (child.secrets ?? []).filter((n) => !parentSecrets.has(n));
  if (extra.length) return `secrets ${extra.join(', ')} are not among the parent's`;
  if (child.delegate) {
    if (grant.depth < 1) return "the parent's grant allows no further delegation (depth 0)";
    if (child.delegate.depth > grant.depth - 1)
      return `delegate.depth ${child.delegate.depth} is more than the parent's ${grant.depth} − 1`;
    const g = scopeWithin(child.delegate.scope, grant.scope, 'delegate.scope');
    if (g) return g;
  }
  return undefined;
}
