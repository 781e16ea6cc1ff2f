/**
 * The demo organisation: Acme Retail, six departments with cost centres, teams and coded
 * projects, fourteen people, five routes, budgets at company, department, project and user
 * level (production, pilot and sandbox), allocation rules and headcount; and the keys and
 * admin tokens the demo issues. Budget limits are given by the caller, sized to the traffic
 * (limits.ts), so that the same budgets sit near their thresholds whatever day the demo runs.
 */
import type { CreateKeyInput } from '../access/key-service.js';
import type { CreateTokenInput } from '../access/token-service.js';

/** Money limits in GBP (decimal strings), by budget id. */
export type DemoLimits = Readonly<Record<DemoBudget, string>>;

export const DEMO_BUDGETS = [
  'company', 'marketing-monthly', 'support-monthly', 'legal-monthly', 'engineering-monthly', 'finance-monthly', 'sales-monthly',
  'contract-review-pilot', 'ml-sandbox', 'sales-per-person', 'release-notes-runs',
] as const;
export type DemoBudget = (typeof DEMO_BUDGETS)[number];

/** The fixed windows of the pilot and the sandbox, as days (YYYY-MM-DD). */
export interface DemoWindows {
  readonly pilot: { readonly from: string; readonly to: string };
  readonly sandbox: { readonly from: string; readonly to: string };
}

/** The keys the demo's traffic calls with (label -> what the key carries). */
export const DEMO_KEYS = {
  'support-bot': { project: 'support-bot', application: 'zendesk-drafts', environment: 'production', default_route: 'support-drafting' },
  'triage-agent': { project: 'ticket-triage', application: 'triage-agent', environment: 'production' },
  'alice-laptop': { user: 'alice', project: 'campaign-assistant', environment: 'production' },
  'mia-laptop': { user: 'mia', project: 'campaign-assistant', environment: 'production' },
  'seo-writer': { project: 'seo-writer', user: 'marcus', application: 'seo-writer', environment: 'production' },
  'chen-contracts': { user: 'chen', project: 'contract-review', environment: 'production', default_route: 'contract-analysis' },
  'lena-contracts': { user: 'lena', project: 'contract-review', environment: 'production', default_route: 'contract-analysis' },
  'eli-ide': { user: 'eli', project: 'code-assistant', environment: 'production', default_route: 'code-assist' },
  'priya-ide': { user: 'priya', project: 'code-assistant', environment: 'production', default_route: 'code-assist' },
  'release-notes-agent': { project: 'release-notes-agent', application: 'release-notes', environment: 'production' },
  'ml-sandbox': { user: 'priya', project: 'ml-sandbox', environment: 'sandbox' },
  'invoice-extraction': { project: 'invoice-extraction', application: 'ap-automation', environment: 'production' },
  'sam-crm': { user: 'sam', project: 'sales-emails', environment: 'production' },
  'sara-crm': { user: 'sara', project: 'sales-emails', environment: 'production' },
  'lead-enrichment': { user: 'sara', project: 'sales-emails', application: 'lead-enrichment', environment: 'production' },
  'intranet-faq': { project: 'ai-platform', application: 'intranet', environment: 'production', default_route: 'policy-faq' },
} as const satisfies Record<string, Omit<CreateKeyInput, 'label'>>;
export type DemoKey = keyof typeof DEMO_KEYS;

/** One admin token per role, each for a named person, to sign in to the dashboard and the CLI with. */
export const DEMO_TOKENS = [
  { label: 'dana (admin)', role: 'admin', user: 'dana' },
  { label: 'fiona (finance)', role: 'finance', user: 'fiona' },
  { label: 'alice (manager of marketing)', role: 'manager', department: 'marketing', user: 'alice' },
  { label: 'mia (member)', role: 'member', user: 'mia' },
] as const satisfies readonly CreateTokenInput[];

/** bursar.yaml for the demo organisation. */
export function demoYaml(limits: DemoLimits, windows: DemoWindows): string {
  const gbp = (id: DemoBudget): string => `{ amount: "${limits[id]}", currency: GBP }`;
  return `# The demo organisation written by \`bursar demo\` (docs/demo.md). Every provider is simulated:
# no credentials are needed, and nothing leaves this machine. Budget limits are sized to the
# month of traffic the demo sends, so that some sit near their thresholds and one runs out.
organisation:
  name: Acme Retail
  currency: GBP
  timezone: Europe/London

departments:
  - id: marketing
    name: Marketing
    cost_centre: MKTG
    manager: alice
    teams: [{ id: growth, name: Growth }, { id: brand, name: Brand }]
    projects:
      - { id: campaign-assistant, code: MKTG-AI-001, team: growth, name: Campaign assistant }
      - { id: seo-writer, code: MKTG-AI-002, team: brand, name: SEO article writer }
  - id: support
    name: Customer Support
    cost_centre: SUPP
    manager: bob
    teams: [{ id: tier1, name: Tier 1 }, { id: tier2, name: Tier 2 }]
    projects:
      - { id: support-bot, code: SUPP-AI-001, team: tier1, name: Support drafting bot }
      - { id: ticket-triage, code: SUPP-AI-002, team: tier2, name: Ticket triage agent }
  - id: legal
    name: Legal
    cost_centre: LEGL
    manager: chen
    projects:
      - { id: contract-review, code: LEGL-AI-001, name: Contract review pilot }
  - id: engineering
    name: Engineering
    cost_centre: ENGR
    manager: dana
    teams: [{ id: product, name: Product engineering }, { id: platform, name: AI platform }]
    projects:
      - { id: code-assistant, code: ENGR-AI-001, team: product, name: Code assistant }
      - { id: release-notes-agent, code: ENGR-AI-002, team: product, name: Release notes agent }
      - { id: ai-platform, code: PLAT-AI-001, team: platform, name: Shared AI platform }
      - { id: ml-sandbox, code: ENGR-LAB-001, team: platform, name: Model evaluation sandbox }
  - id: finance
    name: Finance
    cost_centre: FINC
    manager: fiona
    projects:
      - { id: invoice-extraction, code: FINC-AI-001, name: Invoice extraction }
  - id: sales
    name: Sales
    cost_centre: SALE
    manager: sam
    projects:
      - { id: sales-emails, code: SALE-AI-001, name: Prospect emails }

users:
  - { id: alice, name: Alice Martin, email: alice@acme.example, department: marketing, team: growth, groups: [power-users] }
  - { id: mia, name: Mia Novak, email: mia@acme.example, department: marketing, team: growth }
  - { id: marcus, name: Marcus Reid, email: marcus@acme.example, department: marketing, team: brand }
  - { id: bob, name: Bob Okafor, email: bob@acme.example, department: support, team: tier1 }
  - { id: sofia, name: Sofia Lind, email: sofia@acme.example, department: support, team: tier2 }
  - { id: chen, name: Chen Wei, email: chen@acme.example, department: legal }
  - { id: lena, name: Lena Fischer, email: lena@acme.example, department: legal }
  - { id: dana, name: Dana Silva, email: dana@acme.example, department: engineering, team: platform }
  - { id: eli, name: Eli Cohen, email: eli@acme.example, department: engineering, team: product }
  - { id: priya, name: Priya Raman, email: priya@acme.example, department: engineering, team: platform }
  - { id: fiona, name: Fiona Walsh, email: fiona@acme.example, department: finance }
  - { id: farid, name: Farid Haddad, email: farid@acme.example, department: finance }
  - { id: sam, name: Sam Porter, email: sam@acme.example, department: sales }
  - { id: sara, name: Sara Costa, email: sara@acme.example, department: sales }

providers:
  - { id: openai, dialect: openai, simulate: true }
  - { id: anthropic, dialect: anthropic, simulate: true }

fx:
  - { from: USD, to: GBP, rate: "0.79", effective_from: "2026-01-01" }

routes:
  - id: support-drafting
    name: Support reply drafting
    owner: bob
    tiers: { premium: gpt-4.1, standard: gpt-4o, economy: gpt-4o-mini }
    default_tier: standard
    max_output_tokens: 1024
    fallbacks: [anthropic/claude-haiku-4-5, gpt-4o-mini]
    downgrade: [{ at: 75, to: economy }]
  - id: contract-analysis
    name: Contract analysis
    owner: chen
    tiers: { premium: claude-opus-4-1, standard: claude-sonnet-4-5, economy: claude-haiku-4-5 }
    default_tier: premium
    downgrade: [{ at: 75, to: standard }, { at: 90, to: economy }]
  - id: marketing-copy
    name: Campaign copy
    owner: alice
    tiers: { standard: gpt-4o, economy: gpt-4o-mini }
    default_tier: standard
    downgrade: [{ at: 90, to: economy }]
  - id: code-assist
    name: Code assistant
    owner: dana
    tiers: { premium: claude-sonnet-4-5, standard: gpt-4.1-mini }
    default_tier: premium
    fallbacks: [gpt-4.1]
  - id: policy-faq
    name: Internal policy questions
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
    cache: { ttl_seconds: 86400, share: department }

headcount: { marketing: 45, support: 80, legal: 12, engineering: 60, finance: 18, sales: 30 }
allocation_rules:
  - { id: copilot-seats, match: { source: import, kind: seat, tags: { vendor: github } }, method: proportional, driver: headcount }
  - { id: shared-platform, match: { project: ai-platform }, method: proportional, driver: tokens, among: [marketing, support, legal, finance, sales] }
  - { id: support-bot, match: { project: support-bot }, method: beneficiary, share: "20", among: [marketing] }

budgets:
  - { id: company, name: Acme AI spend, window: month, limit: ${gbp('company')}, owner: dana, enforcement: soft }
  - { id: marketing-monthly, name: "Marketing, monthly", scope: { department: marketing }, window: month, limit: ${gbp('marketing-monthly')}, owner: alice, enforcement: soft }
  - { id: support-monthly, name: "Customer Support, monthly", scope: { department: support }, window: month, limit: ${gbp('support-monthly')}, owner: bob }
  - { id: legal-monthly, name: "Legal, monthly", scope: { department: legal }, window: month, limit: ${gbp('legal-monthly')}, owner: chen, enforcement: soft }
  - { id: engineering-monthly, name: "Engineering, monthly", scope: { department: engineering, environment: production }, window: month, limit: ${gbp('engineering-monthly')}, owner: dana }
  - { id: finance-monthly, name: "Finance, monthly", scope: { department: finance }, window: month, limit: ${gbp('finance-monthly')}, owner: fiona }
  - { id: sales-monthly, name: "Sales, monthly", scope: { department: sales }, window: month, limit: ${gbp('sales-monthly')}, owner: sam, enforcement: soft }
  - id: contract-review-pilot
    name: Contract review pilot
    scope: { project: contract-review }
    window: { from: "${windows.pilot.from}", to: "${windows.pilot.to}" }
    limit: ${gbp('contract-review-pilot')}
    category: pilot
    owner: chen
  - id: ml-sandbox
    name: Model evaluation sandbox
    scope: { project: ml-sandbox }
    window: { from: "${windows.sandbox.from}", to: "${windows.sandbox.to}" }
    limit: ${gbp('ml-sandbox')}
    category: sandbox
    owner: dana
  - { id: sales-per-person, name: "Sales, per person", scope: { department: sales }, per: user, window: month, limit: ${gbp('sales-per-person')}, owner: sam, enforcement: soft }
  - id: release-notes-runs
    name: Release notes agent
    scope: { project: release-notes-agent }
    window: month
    limit: ${gbp('release-notes-runs')}
    owner: dana
    agent_runs: { max_calls: 20, loop_repeats: 4 }
`;
}
