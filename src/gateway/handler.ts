/**
 * The gateway's call path, composed in one visible place:
 *   authenticate -> parse -> attribute -> resolve model -> prepare -> record intent
 *   -> provider -> relay (JSON or stream) -> settle (ledger, metrics, log).
 * Every step is a small function elsewhere; this file only orders them and handles endings.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asBursarError, BursarError, errorBody, type Dialect } from '../core/errors.js';
import { InFlight } from '../core/in-flight.js';
import { decimalText } from '../core/money.js';
import type { LedgerLine } from '../core/ledger.js';
import { createHash } from 'node:crypto';
import type { AccessIndex } from '../access/access-index.js';
import type { Admission, BudgetGuard } from '../budgets/guard.js';
import type { Dims } from '../core/dimensions.js';
import type { CircuitBreaker } from '../routing/breaker.js';
import { cacheKey, type CachedAnswer, type ResponseCache } from '../routing/cache.js';
import type { RouteExceptions } from '../routing/exceptions.js';
import { NOT_ROUTED, type Routed, type Router } from '../routing/router.js';
import type { OrgTree } from '../core/org.js';
import type { WorkflowRegister } from '../routing/register.js';
import { costTotal, type Usage } from '../core/pricing.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { LedgerWriter } from '../ledger/writer.js';
import { authenticate } from './auth.js';
import { attribute, moreSensitive, type Attribution, type AttributionOptions } from './attribution.js';
import { Call, callDims, estimateUsage, lineFor, UNCAPPED_OUTPUT_TOKENS, worstCaseLine, type MoneyContext, type Settlement } from './call.js';
import type { ModelCatalog, Target } from './catalog.js';
import type { Endpoint } from './endpoints.js';
import { anyGlob } from './globs.js';
import { readBody, sendBody, sendError } from './http.js';
import { inputBound, parseCall, prepareUpstream, type ParsedCall } from './request.js';
import { EventSplitter, eventJson, sseComment, sseEvent } from './sse.js';
import { countPromptTokens } from './token-count.js';
import { translationFor, type Translation } from './translate.js';
import { UpstreamCall } from './upstream.js';

export interface GatewayDeps {
  readonly index: AccessIndex;
  readonly catalog: ModelCatalog;
  readonly attribution: AttributionOptions;
  readonly writer: LedgerWriter;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly logCalls: boolean;
  readonly bodyLimit: number;
  readonly guard: BudgetGuard;
  readonly router: Router;
  readonly register: WorkflowRegister;
  readonly breaker: CircuitBreaker;
  readonly exceptions: RouteExceptions;
  readonly cache: ResponseCache;
  readonly money: MoneyContext;
  readonly org: OrgTree;
  /** The time calls start at (epoch ms): Date.now, or the demo's clock that back-dates a month of traffic. */
  readonly clock: () => number;
}

const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta', 'openai-beta'] as const;

/** The reason given in x-bursar-exception, made fit for a tag and a header (printable, no ; = ,, 128 characters). */
function exceptionReason(headers: IncomingMessage['headers']): string | null {
  const raw = headers['x-bursar-exception'];
  const v = typeof raw === 'string' ? raw.replace(/[^\x20-\x7e]|[;=,]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 128) : '';
  return v === '' ? null : v;
}

/** A provider failure worth trying the next model for: a timeout, or no connection. */
function isRetryable(err: unknown): boolean {
  return err instanceof BursarError && (err.code === 'upstream_timeout' || err.code === 'upstream_unreachable');
}

export class Gateway {
  /** Calls in flight, so a forced shutdown can end them cleanly (not a Set: see InFlight). */
  readonly active = new InFlight<Call>();

  constructor(private readonly d: GatewayDeps) {}

  /** Ends every call in flight, for a stop whose grace has run out: each caller is told, and each call billed as cancelled. */
  cut(): void {
    for (const call of this.active) call.abort.abort('service_stopping');
  }

  async handle(ep: Endpoint, req: IncomingMessage, out: ServerResponse): Promise<void> {
    const call = new Call(ep, this.d.money, this.d.clock());
    const inFlight = this.active.add(call);
    const onClose = (): void => {
      if (!out.writableFinished) call.abort.abort();
    };
    out.once('close', onClose);
    try {
      const key = authenticate(req.headers, this.d.index, call.ts);
      call.key = key instanceof Promise ? await key : key;
      const raw = await readBody(req, this.d.bodyLimit);
      const parsed = parseCall(raw, ep);
      call.body = parsed.body;
      call.bodyBytes = raw.length;
      call.stream = parsed.stream;
      call.requestedModel = parsed.model;
      call.maxOutput = parsed.maxOutput;
      const attribution = (call.attribution = attribute(call.key, req.headers, this.d.attribution));
      // A route (named as the model, or the key's default) picks the model by tier.
      const keyRoute = call.key.body.default_route;
      const routed = this.d.router.applies(parsed.model, keyRoute)
        ? await this.d.router.route(parsed.model, keyRoute, {
            share: () => this.d.guard.spentShare({ dims: attribution.dims, tags: attribution.tags, groups: this.userGroups(attribution.dims) }),
            exception: exceptionReason(req.headers),
            approved: (spec, tier) => this.d.exceptions.covering(spec, tier, attribution.dims, call.ts),
          })
        : NOT_ROUTED(parsed.model);
      if (routed.route !== null) {
        call.routing = routed;
        call.baselinePrice = this.baselinePrice(routed, call.ts);
      }
      const dataClass = this.dataClassOf(attribution, routed);
      this.d.register.check(attribution.dims);
      call.inputBound = inputBound(raw, parsed.body);
      if (routed.maxInput !== null && call.inputBound > routed.maxInput) this.checkContext(parsed, routed);
      call.routeCap = routed.maxOutput !== null && (parsed.maxOutput === null || routed.maxOutput < parsed.maxOutput) ? routed.maxOutput : null;
      if (routed.cache) {
        call.cacheKey = cacheKey({ route: routed.route!, tier: routed.tier!, endpoint: ep.name, share: routed.cache.share, dims: attribution.dims, body: parsed.body });
        const hit = call.cacheKey && req.headers['x-bursar-cache'] !== 'refresh' ? await this.d.cache.get(call.cacheKey) : null;
        if (hit && this.serveHit(call, hit, out)) return;
      }
      const { up, clientAskedUsage } = await this.send(call, ep, req, raw, parsed, routed, dataClass);
      call.markFirstByte();
      if (call.stream && up.status === 200) await this.relayStream(call, up, out, clientAskedUsage);
      else await this.relayJson(call, up, out);
    } catch (err) {
      this.fail(call, err, out);
    } finally {
      out.off('close', onClose);
      this.active.remove(inFlight);
      call.release();
    }
  }

  /**
   * Sends the call to its model, or on to the route's fallbacks: on a 429, a 5xx, a timeout or a
   * connection failure, before any byte reached the client. Models whose provider may not receive
   * the call's data class are left out, and one whose circuit is open (it kept failing) is skipped
   * while another remains. A model of the other dialect is sent the call translated. Each attempt is
   * admitted (its own worst case) and spooled before it goes.
   */
  private async send(
    call: Call, ep: Endpoint, req: IncomingMessage, raw: Buffer, parsed: ParsedCall, routed: Routed, dataClass: string | null,
  ): Promise<{ up: UpstreamCall; clientAskedUsage: boolean }> {
    const chain = [routed.model, ...(call.routing ? this.d.router.fallbacks(call.routing) : [])];
    const candidates = this.candidates(call, ep, chain, dataClass);
    const own: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') own[h] = v;
    }
    const bound = call.inputBound;
    for (let i = 0; ; i++) {
      const { model, target, translation } = candidates[i]!;
      const last = i === candidates.length - 1;
      if (!last && this.d.breaker.isOpen(model, call.ts)) continue;
      if (model !== chain[0] && call.routing) call.routing = { ...call.routing, fellBackFrom: chain[0]!, model };
      call.target = target;
      call.translation = translation;
      // A translated request is a new body, serialised once: its bytes bound its prompt like the caller's do.
      const body = translation ? translation.request(parsed.body) : null;
      const bytes = body ? Buffer.from(JSON.stringify(body)) : raw;
      call.inputBound = Math.max(bound, bytes.length);
      if (call.admission) await this.d.guard.release(call.admission);
      const admitted = this.admit(call, parsed, raw);
      const admission = (call.admission = admitted instanceof Promise ? await admitted : admitted);
      const cap = admission.cap ?? call.routeCap;
      const prepared = prepareUpstream(bytes, body ? { ...parsed, body } : parsed, translation?.upstream ?? ep, target.model, cap);
      await this.d.writer.intent(worstCaseLine(call));
      call.sent = true;
      const up = new UpstreamCall();
      // The caller's dialect headers (anthropic-version, betas) mean nothing to the other dialect's provider.
      const headers = translation ? {} : own;
      target.entry.provider.send({ path: (translation?.upstream ?? ep).path, body: prepared.payload, headers, signal: call.abort }, up);
      try {
        await up.started;
      } catch (err) {
        if (last || call.abort.aborted || !isRetryable(err)) throw err;
        this.d.breaker.failed(model, call.ts);
        continue;
      }
      if (up.status === 429 || up.status >= 500) {
        this.d.breaker.failed(model, call.ts);
        if (!last) {
          // The provider refused or failed, and billed nothing: read its answer away, and go on.
          await up.ended.catch(() => {});
          continue;
        }
      } else this.d.breaker.succeeded(model);
      // A translated stream's usage chunk is the translator's to show, if the caller asked for it.
      const asked = translation ? (parsed.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true : prepared.clientAskedUsage;
      return { up, clientAskedUsage: asked };
    }
  }

  /** Admits one attempt of a call to the budgets over it, at that attempt's model, price and prompt bound. */
  private admit(call: Call, parsed: ParsedCall, raw: Buffer): Admission | Promise<Admission> {
    const dims = callDims(call);
    return this.d.guard.admit({
      id: call.id,
      facts: { dims, tags: call.attribution!.tags, groups: this.userGroups(dims) },
      price: call.target!.price,
      inputBound: call.inputBound,
      requestedCap: call.routeCap ?? parsed.maxOutput ?? call.translation?.defaultCap ?? null,
      defaultCap: UNCAPPED_OUTPUT_TOKENS,
      requestHash: () => createHash('sha1').update(raw).digest('base64'),
    });
  }

  /** The groups a call's user is in (bursar.yaml), and the group its header names. */
  private userGroups(dims: Dims): readonly string[] {
    const groups = dims.user ? (this.d.org.users.get(dims.user)?.groups ?? []) : [];
    return dims.user_group ? [...groups, dims.user_group] : groups;
  }

  /**
   * The models a call may go to, in order, with their providers and the translation to their
   * dialect: the first must be usable (its refusal is the caller's); a fallback the call cannot be
   * translated for, or the key may not use, is left out; so is any whose provider may not receive
   * the call's data class (refused if none is left).
   */
  private candidates(call: Call, ep: Endpoint, chain: readonly string[], dataClass: string | null) {
    const out: { model: string; target: Target; translation: Translation | null }[] = [];
    let closedTo: string | null = null;
    chain.forEach((model, i) => {
      let target: Target;
      let translation: Translation | null;
      try {
        target = this.resolveTarget(call, model);
        translation = translationFor(ep, target.entry.cfg.dialect, model);
      } catch (err) {
        if (i === 0) throw err;
        return;
      }
      const classes = target.entry.cfg.dataClasses;
      if (dataClass !== null && classes !== null && !classes.includes(dataClass)) {
        closedTo ??= `provider "${target.entry.cfg.id}" (model "${model}") may receive ${classes.join(', ') || 'no class'}`;
        return;
      }
      out.push({ model, target, translation });
    });
    if (out.length === 0) {
      throw new BursarError('data_class_not_allowed', `This call carries data class "${dataClass}", and ${closedTo}${chain.length > 1 ? '; no other model of the route may receive it' : ''}. Use a route or model whose provider is allowed ${dataClass} data (ask your platform team), or do not send ${dataClass} data.`, { param: 'model' });
    }
    return out;
  }

  /**
   * The call's data class: its attribution's (header or key), unless its route's is more
   * sensitive; refused if the route may not carry it. Recorded on the call's dimensions.
   */
  private dataClassOf(attribution: Attribution, routed: Routed): string | null {
    const dims = attribution.dims;
    dims.data_class = moreSensitive(this.d.attribution.dataClasses, dims.data_class, routed.dataClass);
    const c = dims.data_class;
    if (c !== null && routed.dataClasses && !routed.dataClasses.includes(c)) {
      throw new BursarError('data_class_not_allowed', `This call carries data class "${c}", and route "${routed.route}" may carry ${routed.dataClasses.join(', ')} only. Use a route meant for ${c} data, or do not send it.`, { param: 'model' });
    }
    return c;
  }

  /** Refuses a prompt longer than its route allows (counted only when its byte bound is over the limit). */
  private checkContext(parsed: ParsedCall, routed: Routed): void {
    const tokens = countPromptTokens(parsed.body);
    if (tokens <= routed.maxInput!) return;
    throw new BursarError('context_too_large', `The prompt has about ${tokens} tokens, and route "${routed.route}" allows ${routed.maxInput}. Shorten it (summarise earlier turns, send fewer documents), or use a route meant for long contexts.`, { param: 'messages' });
  }

  /** The price of the model a routed call asked for; none if no provider serves it (nothing is then measured against it). */
  private baselinePrice(routed: Routed, ts: number) {
    try {
      return routed.baselineModel === null ? null : this.d.catalog.resolve(routed.baselineModel, ts).price;
    } catch {
      return null;
    }
  }

  /** The provider and price of a model, if this call may use it there. */
  private resolveTarget(call: Call, model: string) {
    const target = this.d.catalog.resolve(model, call.ts);
    const allowed = call.key!.body.allowed_models;
    if (allowed && !anyGlob(allowed, model, `${target.entry.cfg.id}/${target.model}`)) {
      throw new BursarError('model_not_allowed', `Key "${call.key!.body.label}" may not use model "${model}"; it may use: ${allowed.join(', ')}.`, { param: 'model' });
    }
    return target;
  }

  /**
   * Answers from the route's response cache, if the model that made the kept answer is still
   * served and the key may use it: a line that costs nothing and records what it avoided. The
   * call reaches no provider and no budget (it spends nothing).
   */
  private serveHit(call: Call, hit: CachedAnswer, out: ServerResponse): boolean {
    try {
      call.target = this.resolveTarget(call, hit.model);
    } catch {
      return false;
    }
    call.markFirstByte();
    const line = this.settle(call, { status: 'ok', httpStatus: 200, errorCode: null, usage: hit.usage, exact: true, cacheHit: true });
    const headers = this.resultHeaders(call, line);
    headers['x-bursar-cache'] = 'hit';
    headers['x-bursar-avoided-cost'] = decimalText(line.avoidedOrgNano ?? 0n);
    headers['content-type'] = hit.contentType;
    if (call.stream) {
      out.writeHead(200, { ...headers, 'cache-control': 'no-cache', connection: 'keep-alive' });
      out.end(Buffer.concat([hit.body, sseComment(`bursar request_id=${line.id} cost=0 currency=${line.currency} cache=hit avoided=${decimalText(line.avoidedOrgNano ?? 0n)}`)]));
    } else sendBody(out, 200, headers, hit.body);
    return true;
  }

  /**
   * Keeps a whole, successful answer in the route's response cache; not one whose output a
   * budget's cap shortened (it depends on how full the budget was), though one under the default
   * cap of calls that name none is kept (the same for every such call).
   */
  private keep(call: Call, contentType: string, body: Buffer, usage: Usage | null): void {
    const a = call.admission;
    if (!call.cacheKey || !usage || !call.routing?.cache || (a && a.cap !== null && a.capReason !== 'default')) return;
    const model = `${call.target!.entry.cfg.id}/${call.target!.model}`;
    void this.d.cache.set(call.cacheKey, { model, contentType, body, usage }, call.routing.cache.ttl_seconds * 1000);
  }

  /** A non-streaming answer (or an upstream error): read whole, priced, sent with its cost headers. */
  private async relayJson(call: Call, up: UpstreamCall, out: ServerResponse): Promise<void> {
    await up.ended;
    const buf = up.body();
    const tr = call.translation;
    let answer: Buffer | string = buf;
    let s: Settlement;
    if (up.status >= 200 && up.status < 300) {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new BursarError('upstream_bad_response', `Provider "${call.target!.entry.cfg.id}" answered with a body that is not JSON.`);
      }
      // Usage is read in the provider's own shape, before any translation.
      const wire = tr?.upstream ?? call.endpoint;
      const usage = wire.usage(json);
      const functionCalls = wire.toolCalls(json);
      s = usage
        ? { status: 'ok', httpStatus: up.status, errorCode: null, usage, exact: true, functionCalls }
        : { status: 'ok', httpStatus: up.status, errorCode: null, usage: estimateUsage(call, null, wire.outputText(json), true), exact: false, functionCalls };
      if (tr) answer = JSON.stringify(tr.response(json, s.usage));
    } else {
      // The provider refused or failed: nothing billed. Its error body goes back as it came (or in the caller's dialect).
      s = { status: 'error', httpStatus: up.status, errorCode: `upstream_${up.status}`, usage: null, exact: true };
      if (tr) answer = JSON.stringify(tr.error(up.status, buf));
    }
    const line = this.settle(call, s);
    const headers = this.resultHeaders(call, line);
    const type = up.headers['content-type'];
    headers['content-type'] = !tr && typeof type === 'string' ? type : 'application/json';
    if (up.status === 200 && call.cacheKey) this.keep(call, headers['content-type'], typeof answer === 'string' ? Buffer.from(answer) : answer, s.usage);
    sendBody(out, up.status, headers, answer);
  }

  /** A stream: whole events forwarded as they arrive; the usage chunk Bursar asked for is hidden from a client that did not. */
  private async relayStream(call: Call, up: UpstreamCall, out: ServerResponse, clientAskedUsage: boolean): Promise<void> {
    out.writeHead(200, capHeaders(call, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': call.id,
      'x-bursar-provider': call.target!.entry.cfg.id,
      'x-bursar-model': call.target!.model,
    }));
    const tr = call.translation;
    // A translated stream is metered in the provider's shape, and each event rewritten in the caller's.
    // A translated request offers the same tools, in the provider's shape.
    const tools = call.body!.tools;
    const toolsOffered = Array.isArray(tools) && tools.length > 0;
    const meter = tr ? tr.upstream.meter(true, toolsOffered) : call.endpoint.meter(clientAskedUsage, toolsOffered);
    const translator = tr?.stream(meter, clientAskedUsage) ?? null;
    const split = new EventSplitter();
    // What the caller is sent, kept for the route's response cache.
    const sent: Buffer[] | null = call.cacheKey ? [] : null;
    let upstreamFailed: unknown = null;
    // The events that ended the stream are held back and go out with the cost comment: one write, not two.
    let tail: Buffer[] | null = null;
    // One drain listener at a time: chunks the upstream had already read still arrive after a
    // refusal to take more, and a listener for each would pile up on a slow client.
    let draining = false;
    const resume = (): void => {
      draining = false;
      up.resume();
    };
    up.stream((chunk) => {
      const events = split.push(chunk);
      if (events.length === 0) return true;
      const kept: Buffer[] = [];
      meter.scan(split.complete);
      if (translator) {
        for (const e of events) {
          const wasDone = meter.done;
          meter.see(e);
          const j = eventJson(e);
          if (j) kept.push(...translator.push(j));
          if (meter.done && !wasDone) kept.push(...translator.end());
        }
      } else for (const e of events) if (meter.see(e)) kept.push(e);
      if (tail) {
        writeAll(out, tail);
        tail = null;
      }
      if (kept.length === 0) return true;
      const data = !translator && kept.length === events.length ? [split.complete] : kept;
      if (sent) sent.push(...data);
      if (meter.done) {
        tail = data;
        return true;
      }
      if (writeAll(out, data)) return true;
      if (!draining) {
        draining = true;
        out.once('drain', resume);
      }
      return false;
    });
    try {
      await up.ended;
    } catch (err) {
      if (!call.abort.aborted) upstreamFailed = err;
    }
    out.off('drain', resume);
    const cancelled = call.abort.aborted;
    const cut = !cancelled && !meter.done;
    const exact = meter.usage !== null;
    const usage = meter.usage ?? estimateUsage(call, meter.partial, meter.producedText(), true);
    const line = this.settle(call, {
      status: cancelled ? 'cancelled' : cut ? 'partial' : 'ok',
      httpStatus: 200,
      errorCode: cancelled ? call.abort.reason : cut ? 'upstream_stream_cut' : null,
      usage,
      exact,
      functionCalls: meter.toolCalls,
    });
    if (sent && line.status === 'ok') this.keep(call, 'text/event-stream; charset=utf-8', Buffer.concat(sent), usage);
    // A caller that left is not written to; one whose call Bursar cut (stopping) is told why.
    if (out.destroyed || call.abort.reason === 'client_disconnected') return;
    const last: Buffer[] = tail ?? [];
    if (cancelled) last.push(streamError(stoppingError('the partial answer is above'), call.endpoint.dialect));
    else if (cut) {
      const reason = upstreamFailed instanceof Error ? ` (${upstreamFailed.message})` : '';
      const err = new BursarError('upstream_stream_cut', `Provider "${call.target!.entry.cfg.id}" ended the stream before it was complete${reason}; the partial answer is above. Retry the call.`);
      last.push(streamError(err, call.endpoint.dialect));
    }
    last.push(sseComment(`bursar request_id=${line.id} cost=${decimalText(line.costNano)} currency=${line.currency} usage=${line.usageExact ? 'exact' : 'estimated'}`));
    out.end(last.length === 1 ? last[0] : Buffer.concat(last));
  }

  /** Every ending that is not a relayed answer: refusals, transport failures, client disconnects. */
  private fail(call: Call, err: unknown, out: ServerResponse): void {
    const cancelled = call.abort.aborted;
    const left = call.abort.reason === 'client_disconnected';
    const e = !cancelled ? asBursarError(err) : left ? new BursarError('upstream_unreachable', 'The client closed the connection.') : stoppingError('no answer was sent');
    if (e.code === 'internal_error') this.d.log.error({ err, req: call.id }, 'call failed');
    if (call.key && call.sent) {
      // The provider may have started work: bill the prompt, estimated.
      const usage = estimateUsage(call, null, '', true);
      this.settle(call, { status: cancelled ? 'cancelled' : 'error', httpStatus: left ? null : e.status, errorCode: cancelled ? call.abort.reason : e.code, usage, exact: false });
    } else {
      this.d.metrics.refusals.inc({ code: e.code });
      if (call.admission) void this.d.guard.release(call.admission).catch((err: unknown) => this.d.log.error({ err }, 'budget release failed'));
      if (call.key) this.settle(call, { status: 'refused', httpStatus: e.status, errorCode: e.code, usage: null, exact: true });
    }
    if (left || out.headersSent || out.destroyed) {
      if (!out.writableEnded && out.headersSent) out.end();
      return;
    }
    sendError(out, e, call.endpoint.dialect, call.id);
  }

  /** Records the final line of a call, counts it, and logs it if it ended badly or call logging is on. */
  private settle(call: Call, s: Settlement): LedgerLine {
    const price = call.target?.price ?? null;
    const cost = price && s.usage ? costTotal(price, s.usage) : 0n;
    const a = call.sent ? call.admission : null;
    const charges = a && a.covering.length ? this.d.guard.chargesFor(a, cost, price?.currency ?? this.d.money.orgCurrency) : null;
    const line = lineFor(call, s, cost, charges);
    if (a) this.d.guard.finish(a, line)?.catch((err: unknown) => this.d.log.error({ err, req: call.id }, 'counting the end of a call failed'));
    this.d.writer.record(line);
    this.d.metrics.observe(line);
    if (this.d.logCalls || line.status !== 'ok') {
      const dm = line.dims;
      const level = line.status === 'error' || line.status === 'partial' ? 'warn' : 'info';
      this.d.log[level](
        {
          req: line.id, key: dm.key, department: dm.department, project: dm.project, workflow: dm.workflow, provider: dm.provider,
          model: dm.model, endpoint: line.endpoint, stream: line.stream, status: line.status, http: line.httpStatus, code: line.errorCode,
          ms: line.latencyMs, tokens_in: line.tokens.input + line.tokens.cached_input + line.tokens.cache_write,
          tokens_out: line.tokens.output + line.tokens.reasoning, cost: decimalText(line.costNano), currency: line.currency, exact: line.usageExact,
        },
        'call',
      );
    }
    return line;
  }

  private resultHeaders(call: Call, line: LedgerLine): Record<string, string> {
    const headers: Record<string, string> = {
      'x-request-id': call.id,
      'x-bursar-cost': decimalText(line.costNano),
      'x-bursar-currency': line.currency,
      'x-bursar-usage': line.usageExact ? 'exact' : 'estimated',
    };
    if (call.target) {
      headers['x-bursar-provider'] = call.target.entry.cfg.id;
      headers['x-bursar-model'] = call.target.model;
    }
    return capHeaders(call, headers);
  }
}

/** A call Bursar ended because it is stopping and the call outlasted the grace. */
function stoppingError(what: string): BursarError {
  return new BursarError('service_stopping', `Bursar is stopping and ended this call before its provider finished; ${what}. Retry the call.`);
}

/** Adds to `out` the output cap Bursar set and why, and the route and tier that chose the model and why. */
function capHeaders(call: Call, out: Record<string, string>): Record<string, string> {
  const a = call.admission;
  if (a && a.cap !== null) {
    out['x-bursar-max-tokens'] = String(a.cap);
    out['x-bursar-max-tokens-reason'] = a.capReason ?? 'budget';
  } else if (call.routeCap !== null && call.routing) {
    out['x-bursar-max-tokens'] = String(call.routeCap);
    out['x-bursar-max-tokens-reason'] = `route:${call.routing.route}`;
  }
  if (call.cacheKey) out['x-bursar-cache'] = 'miss';
  if (call.translation) out['x-bursar-translated'] = `${call.endpoint.dialect}->${call.translation.upstream.dialect}`;
  const r = call.routing;
  if (r) {
    out['x-bursar-route'] = r.route!;
    out['x-bursar-tier'] = r.tier!;
    if (r.reason) out['x-bursar-routing'] = r.reason;
    if (r.fellBackFrom) out['x-bursar-fallback-from'] = r.fellBackFrom;
    if (r.humanReview) out['x-bursar-review'] = 'required';
  }
  return out;
}

function writeAll(out: ServerResponse, data: readonly Buffer[]): boolean {
  if (data.length === 1) return out.write(data[0]);
  let ok = true;
  for (const b of data) ok = out.write(b) && ok;
  return ok;
}

/** An error as the last event of a stream, in the caller's dialect (both SDKs raise it). */
export function streamError(err: BursarError, dialect: Dialect): Buffer {
  return sseEvent(errorBody(err, dialect), dialect === 'anthropic' ? 'error' : undefined);
}
