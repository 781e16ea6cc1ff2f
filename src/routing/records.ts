/**
 * Routes as config records: those of bursar.yaml and those made through the admin API, checked
 * the same way (the schema, declared owner and data classes, models some provider serves).
 */
import { BursarError } from '../core/errors.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore } from '../core/ports.js';
import { ManagedRecords, parsed } from '../config/managed.js';
import { routeSpecSchema, type RouteSpec } from './model.js';
import type { Router } from './router.js';

export const ROUTE_KIND = 'route';

/** What is wrong with a route beyond its schema, each as [field path, message]. */
export function routeProblems(r: RouteSpec, org: OrgTree, dataClasses: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  if (r.owner && !org.users.has(r.owner)) out.push(['owner', `"${r.owner}" is not a declared user`]);
  const known = (c: string, at: string) => {
    if (!dataClasses.includes(c)) out.push([at, `"${c}" is not a declared data class (data_classes: ${dataClasses.join(', ')})`]);
  };
  if (r.data_class) known(r.data_class, 'data_class');
  r.data_classes?.forEach((c, j) => known(c, `data_classes[${j}]`));
  return out;
}

export function routeRecords(store: ConfigStore, router: Router, config: { readonly org: OrgTree; readonly dataClasses: readonly string[] }): ManagedRecords<RouteSpec> {
  return new ManagedRecords<RouteSpec>(store, ROUTE_KIND, 'route', (input) => {
    const spec = parsed(routeSpecSchema.safeParse(input), 'route');
    const [problem] = routeProblems(spec, config.org, config.dataClasses);
    if (problem) throw new BursarError('validation_failed', `${problem[0]}: ${problem[1]}.`, { param: problem[0] });
    try {
      router.validate(spec, '');
    } catch (err) {
      const message = (err as Error).message;
      throw new BursarError('validation_failed', `${message.replace(/^\./, '')}; name a model a configured provider serves (GET /v1/models).`, { param: message.slice(1).split(':')[0]! });
    }
    return spec;
  }, 'bursar routes');
}
