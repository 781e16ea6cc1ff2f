/** Model-name globs ("gpt-4o*", "claude-*", "*"): `*` matches any run of characters. */
const cache = new Map<string, RegExp>();

export function globMatch(glob: string, value: string): boolean {
  let re = cache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    cache.set(glob, re);
  }
  return re.test(value);
}

export function anyGlob(globs: readonly string[], ...values: string[]): boolean {
  return globs.some((g) => values.some((v) => globMatch(g, v)));
}
