import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

const load = (yaml: string, env: Record<string, string> = {}) => loadConfig({ yaml, env: { BURSAR_DATA_DIR: '/tmp/x', ...env } });

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    load(yaml, env);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs on defaults with the simulated providers', () => {
    const c = load('');
    expect(c.simulated).toBe(true);
    expect(c.providers.map((p) => p.id)).toEqual(['openai', 'anthropic', 'google']);
    expect(c.port).toBe(4000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('builds the org tree and resolves provider keys from the environment only', () => {
    const c = load(
      `
departments:
  - { id: marketing, cost_centre: MKTG, teams: [{ id: growth }], projects: [{ id: p1, code: MKTG-1, team: growth }] }
users: [{ id: alice, department: marketing, team: growth }]
providers:
  - { id: openai, dialect: openai, base_url: "https://api.openai.com/v1", api_key: { env: OPENAI_API_KEY } }
`,
      { OPENAI_API_KEY: 'sk-secret-value' },
    );
    expect(c.org.projects.get('p1')).toMatchObject({ department: 'marketing', team: 'growth', code: 'MKTG-1' });
    expect(c.providers[0]!.apiKey!.reveal()).toBe('sk-secret-value');
    expect(JSON.stringify(c)).not.toContain('sk-secret-value');
    expect(c.simulated).toBe(false);
  });

  it('names the YAML path of every problem', () => {
    const p = problems(`
departments:
  - { id: marketing, cost_centre: "bad code!", projects: [{ id: p1, code: X-1, team: nope }] }
  - { id: marketing, cost_centre: MKTG2, colour: red }
users: [{ id: u1, department: sales }]
`);
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^departments\[0\]\.cost_centre: must be a code/),
      expect.stringMatching(/^departments\[1\]: unknown key "colour"/),
    ]));
    const q = problems(`
departments:
  - { id: marketing, cost_centre: MKTG, projects: [{ id: p1, code: X-1, team: nope }] }
  - { id: marketing, cost_centre: MKTG2 }
users: [{ id: u1, department: sales }]
`);
    expect(q).toEqual(expect.arrayContaining([
      expect.stringMatching(/^departments\[0\]\.projects\[0\]\.team: "nope" is not a team of department "marketing"/),
      expect.stringMatching(/^departments\[1\]\.id: department id "marketing" is declared twice/),
      expect.stringMatching(/^users\[0\]\.department: "sales" is not a declared department/),
    ]));
  });

  it('names billing problems: a department currency without a rate, a rule that cannot conserve or names no department', () => {
    const billing = (rule: string) => problems(`
departments:
  - { id: marketing, cost_centre: MKTG, currency: EUR }
  - { id: support, cost_centre: SUPP }
headcount: { legal: 3 }
allocation_rules: [${rule}]
`);
    // A schema problem is reported before the checks against the org tree.
    expect(billing('{ id: a, method: fixed, split: { marketing: "60", support: "30" } }')).toEqual([expect.stringMatching(/^allocation_rules\[0\]\.split: the percentages total 60 \+ 30, not 100/)]);
    expect(billing('{ id: b, method: even, among: [marketing, legal] }')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^departments\[0\]\.currency: no FX rate between USD and EUR/),
      expect.stringMatching(/^allocation_rules\[0\]\.among\[1\]: "legal" is not a declared department/),
      expect.stringMatching(/^headcount\.legal: "legal" is not a declared department/),
    ]));
  });

  it('names envelope problems: an undeclared department, a quarter of another calendar, an id twice', () => {
    const env = (e: string, org = '') => problems(`
${org}departments:
  - { id: marketing, cost_centre: MKTG }
envelopes:
  - ${e}
  - ${e}
`);
    const e = (dept: string) => `{ id: q, department: ${dept}, quarter: "2026-Q2", amount: "10", split: { production: 50, scaling: 30, experiments: 20 } }`;
    expect(env(e('legal'))).toEqual(expect.arrayContaining([
      'envelopes[0].department: "legal" is not a declared department',
      'envelopes[1].id: envelope "q" is declared twice',
    ]));
    expect(env(e('marketing'), 'organisation: { name: A, fiscal_year_start: april }\n')).toContain('envelopes[0].quarter: "2026-Q2" is not a quarter of this calendar; name it as budgets\' windows do, e.g. "FY2026-Q1"');
  });

  it('refuses a credential written in the file, and an unset environment variable', () => {
    expect(problems(`providers: [{ id: openai, dialect: openai, base_url: "https://x/v1", api_key: "sk-live-123" }]`)[0]).toMatch(
      /providers\[0\]\.api_key: credentials never go in bursar\.yaml.*api_key: \{ env: OPENAI_API_KEY \}/,
    );
    expect(problems(`providers: [{ id: openai, dialect: openai, base_url: "https://x/v1", api_key: { env: NOT_SET_ANYWHERE } }]`)[0]).toMatch(
      /providers\[0\]\.api_key\.env: the environment variable NOT_SET_ANYWHERE is not set/,
    );
  });

  it('reports YAML syntax errors and bad environment variables', () => {
    expect(problems('departments: [ { id: x')[0]).toMatch(/^YAML syntax/);
    expect(problems('', { BURSAR_PORT: 'eighty' })[0]).toMatch(/BURSAR_PORT: "eighty" is not a port number/);
    expect(problems('', { BURSAR_ADMIN_TOKEN: 'short' })[0]).toMatch(/BURSAR_ADMIN_TOKEN: must be at least 32 characters/);
  });
});
