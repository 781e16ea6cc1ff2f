/**
 * The ledger as a FOCUS 1.2 cost and usage dataset: one row per ledger line with a cost, in the
 * line's own currency, with the 21 mandatory columns, the recommended and conditional ones Bursar
 * can fill, and Bursar's detail in `x_` columns (tokens, attribution, route). Exported with an
 * allocation run, each line becomes a row per allocated part, in the organisation's currency,
 * carrying FOCUS 1.3's allocation columns (AllocatedMethodId, AllocatedMethodDetails,
 * AllocatedResourceId, AllocatedResourceName, AllocatedTags); the unallocated remainder has
 * none. Dates are UTC `YYYY-MM-DDTHH:mm:ssZ`, starts inclusive and ends exclusive; numbers are
 * plain decimals; NULL is an empty cell.
 */
import { tokenTotal, type LedgerLine } from '../core/ledger.js';
import { decimalText, NANO } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { Allocated } from './allocate.js';

export const FOCUS_COLUMNS = [
  // FOCUS 1.2 mandatory
  'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeClass',
  'ChargeDescription', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost', 'PricingQuantity',
  'PricingUnit', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName',
  // recommended and conditional ones Bursar knows
  'ChargeFrequency', 'ConsumedQuantity', 'ConsumedUnit', 'PricingCategory', 'SkuId', 'SkuPriceId', 'SubAccountId', 'SubAccountName', 'Tags',
  // FOCUS 1.3 allocation, on allocated rows
  'AllocatedMethodId', 'AllocatedMethodDetails', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags',
  // Bursar's own
  'x_LedgerLineId', 'x_Source', 'x_Department', 'x_CostCentre', 'x_Project', 'x_ProjectCode', 'x_User', 'x_Workflow', 'x_Agent', 'x_Application',
  'x_Environment', 'x_Route', 'x_Tier', 'x_Model', 'x_RequestedModel', 'x_Key', 'x_SpendCategory', 'x_InputTokens', 'x_CachedInputTokens',
  'x_CacheWriteTokens', 'x_OutputTokens', 'x_ReasoningTokens', 'x_UsageExact', 'x_Status', 'x_CostInOrgCurrency', 'x_OrgCurrency',
] as const;

export type FocusRow = Record<(typeof FOCUS_COLUMNS)[number], string | null>;

const SERVICE_NAMES: Readonly<Record<string, string>> = { chat: 'Chat Completions', responses: 'Responses', embeddings: 'Embeddings', messages: 'Messages' };
const SERVICE_CATEGORIES: Readonly<Record<string, string>> = { seat: 'Business Applications', vector_storage: 'Storage', platform_fee: 'Management and Governance', human_review: 'Other', other: 'Other' };
const PROVIDER_NAMES: Readonly<Record<string, string>> = { openai: 'OpenAI', anthropic: 'Anthropic' };

/** A UTC instant as FOCUS wants it: whole seconds, `Z`. */
const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function month(ms: number): [number, number] {
  const d = new Date(ms);
  return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
}

export interface FocusContext {
  readonly org: OrgTree;
  readonly organisation: string;
  readonly orgCurrency: string;
}

/** A line's FOCUS row (its own currency and cost). */
export function focusRow(l: LedgerLine, c: FocusContext): FocusRow {
  const d = l.dims;
  const gateway = l.source === 'gateway';
  const kind = l.endpoint ?? 'other';
  const purchase = kind === 'seat';
  const category = purchase ? 'Purchase' : 'Usage';
  const t = l.tokens;
  const tokens = tokenTotal(t);
  // What was consumed: a call's tokens, an import's quantity; a charge without one counts as one.
  const quantity = gateway ? String(tokens) : l.quantityNano !== null ? decimalText(l.quantityNano) : '1';
  const unit = gateway ? 'Tokens' : (l.unit ?? 'Units');
  // Seconds: a call's period ends after its last byte (at least a second after it began).
  const start = Math.floor(l.ts / 1000) * 1000;
  const end = l.periodEnd ?? Math.max(start + 1000, Math.ceil((l.ts + (l.latencyMs ?? 0)) / 1000) * 1000);
  const [billStart, billEnd] = month(l.ts);
  const provider = d.provider ?? l.tags?.focus_provider ?? null;
  const providerName = provider ? (PROVIDER_NAMES[provider] ?? provider) : 'Bursar';
  const cost = decimalText(l.costNano);
  const tags: Record<string, string> = { ...(l.tags ?? {}) };
  for (const k of ['department', 'cost_centre', 'project', 'project_code', 'workflow', 'application', 'environment'] as const) if (d[k] !== null) tags[k] = d[k]!;
  return {
    BilledCost: cost, BillingAccountId: c.organisation, BillingAccountName: c.organisation, BillingCurrency: l.currency,
    BillingPeriodEnd: instant(billEnd), BillingPeriodStart: instant(billStart), ChargeCategory: category, ChargeClass: null,
    ChargeDescription: l.description ?? (d.model ? `${d.model} ${SERVICE_NAMES[kind] ?? kind}` : kind), ChargePeriodEnd: instant(end), ChargePeriodStart: instant(start),
    ContractedCost: cost, EffectiveCost: cost, InvoiceIssuerName: providerName, ListCost: cost, PricingQuantity: quantity, PricingUnit: unit,
    ProviderName: providerName, PublisherName: providerName,
    ServiceCategory: gateway || kind === 'inference' || kind === 'gpu_hours' || kind === 'usage' ? 'AI and Machine Learning' : (SERVICE_CATEGORIES[kind] ?? 'Other'),
    ServiceName: SERVICE_NAMES[kind] ?? (l.tags?.focus_service ?? kind),
    ChargeFrequency: purchase ? 'Recurring' : 'Usage-Based',
    ConsumedQuantity: purchase ? null : quantity, ConsumedUnit: purchase ? null : unit, PricingCategory: 'Standard',
    // Usage and purchases name their SKU and its price: a call's model and price version, an import's kind and unit.
    SkuId: gateway ? (d.model ?? kind) : kind, SkuPriceId: gateway ? (l.priceVersion ?? `${d.model ?? kind}@unpriced`) : `${kind}@${unit}`,
    SubAccountId: d.department, SubAccountName: d.department ? (c.org.departments.get(d.department)?.name ?? d.department) : null,
    Tags: Object.keys(tags).length ? JSON.stringify(Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)))) : null,
    AllocatedMethodId: null, AllocatedMethodDetails: null, AllocatedResourceId: null, AllocatedResourceName: null, AllocatedTags: null,
    x_LedgerLineId: l.id, x_Source: l.source, x_Department: d.department, x_CostCentre: d.cost_centre, x_Project: d.project, x_ProjectCode: d.project_code,
    x_User: d.user, x_Workflow: d.workflow, x_Agent: d.agent, x_Application: d.application, x_Environment: d.environment, x_Route: d.route, x_Tier: d.tier,
    x_Model: d.model, x_RequestedModel: d.requested_model, x_Key: d.key, x_SpendCategory: l.spendCategory,
    x_InputTokens: String(t.input), x_CachedInputTokens: String(t.cached_input), x_CacheWriteTokens: String(t.cache_write), x_OutputTokens: String(t.output),
    x_ReasoningTokens: String(t.reasoning), x_UsageExact: String(l.usageExact), x_Status: l.status, x_CostInOrgCurrency: decimalText(l.orgCostNano), x_OrgCurrency: l.orgCurrency,
  };
}

/**
 * A line's rows under an allocation run: one per part, in the organisation's currency, with the
 * allocation columns (none on the unallocated remainder). The parts' costs sum to the line's.
 */
export function allocatedRows(l: LedgerLine, a: Allocated, c: FocusContext): FocusRow[] {
  const base = focusRow(l, c);
  const whole = l.orgCostNano;
  return a.parts.map((p) => {
    const cost = decimalText(p.nano);
    const ratio = whole === 0n ? '0' : decimalText((p.nano * NANO) / whole);
    const row: FocusRow = { ...base, BilledCost: cost, ContractedCost: cost, EffectiveCost: cost, ListCost: cost, BillingCurrency: c.orgCurrency };
    if (p.department === null) return row;
    return {
      ...row,
      AllocatedMethodId: `${a.rule}:${a.method}`,
      AllocatedMethodDetails: JSON.stringify({ Elements: [{ AllocatedRatio: Number(ratio) }] }),
      AllocatedResourceId: p.department,
      AllocatedResourceName: c.org.departments.get(p.department)?.name ?? p.department,
      AllocatedTags: JSON.stringify({ cost_centre: c.org.departments.get(p.department)?.costCentre ?? null, mode: a.mode }),
    };
  });
}
