/**
 * Straight-line code over a record's fixed fields, compiled once at start-up.
 *
 * Code that loops over a list of field names (`for (const k of DIMENSIONS) o[k]`) makes V8 look
 * each one up in a shared, megamorphic cache; code that names each field reads it at a fixed
 * offset. The ledger's hot paths (the spool's encoding of every call's intent, the SQLite insert
 * of every line) are written from such lists, so they are compiled from them instead
 * (docs/architecture.md#compiled-field-code). Only names `fieldPath` accepts reach the code.
 */

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A field name or dotted path, checked to be plain identifiers (nothing else is put in compiled code). */
export function fieldPath(path: string): string {
  if (!PATH.test(path)) throw new Error(`"${path}" is not a plain field path and cannot be compiled`);
  return path;
}

/**
 * `body` compiled as a function of `params`, in a scope where each of `scope`'s names holds its
 * value (helpers and constants the body calls).
 */
export function compile<F extends (...args: never[]) => unknown>(params: readonly string[], body: string, scope: Readonly<Record<string, unknown>> = {}): F {
  const names = Object.keys(scope);
  return new Function(...names, `return (${params.join(', ')}) => {\n${body}\n};`)(...names.map((n) => scope[n])) as F;
}

/**
 * A record's values of some expressions over it (`l`), read into an array, and whether a
 * record's values are still those (each compared with ===): for code that remembers what the last
 * record held and does something only when it changes (the spool's context records, the SQLite
 * ledger's context rows). The expressions come from field paths `fieldPath` accepted.
 */
export function compileSnapshot<T>(exprs: readonly string[]): { readonly read: (l: T) => unknown[]; readonly same: (v: readonly unknown[], l: T) => boolean } {
  return {
    read: compile(['l'], `return [${exprs.join(', ')}];`),
    same: compile(['v', 'l'], `return ${exprs.map((e, i) => `v[${i}] === ${e}`).join(' &&\n  ') || 'true'};`),
  };
}
