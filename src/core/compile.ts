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
