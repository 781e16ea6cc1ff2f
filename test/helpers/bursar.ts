/**
 * Starts a real Bursar in-process for a test: its own data folder, a free port, a scripted
 * simulator as the provider, a silent log, and helpers to call it like a user would.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startBursar, type Bursar, type StartOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { LedgerLine } from '../../src/core/ledger.js';
import { Simulator, type SimulatorOptions } from '../../src/providers/simulator/server.js';

export const ORG_YAML = `
organisation: { name: Acme, currency: USD }
departments:
  - id: marketing
    name: Marketing
    cost_centre: MKTG
    manager: alice
    teams: [{ id: growth }]
    projects: [{ id: campaign-ai, code: MKTG-AI-001, team: growth }]
  - id: support
    name: Customer Support
    cost_centre: SUPP
    teams: [{ id: tier1 }]
    projects: [{ id: support-bot, code: SUPP-AI-001, team: tier1 }]
  - id: platform
    cost_centre: PLAT
    projects: [{ id: ai-platform, code: PLAT-AI-001 }]
  - id: finance
    cost_centre: FIN
users:
  - { id: alice, department: marketing, team: growth, groups: [power-users] }
  - { id: bob, department: support, team: tier1 }
  - { id: carol, department: finance }
  - { id: dave, department: platform }
providers:
  - { id: openai, dialect: openai, simulate: true }
  - { id: anthropic, dialect: anthropic, simulate: true }
`;

export interface TestBursar {
  readonly b: Bursar;
  readonly sim: Simulator;
  readonly url: string;
  readonly adminToken: string;
  readonly dataDir: string;
  /** Every log line Bursar wrote (JSON text). */
  readonly logs: string[];
  /** Calls the admin API; returns status and parsed body. */
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  /** Creates a key through the admin API and returns its secret and id. */
  key(body?: Record<string, unknown>): Promise<{ secret: string; id: string }>;
  openai(secret: string, headers?: Record<string, string>): OpenAI;
  anthropic(secret: string, headers?: Record<string, string>): Anthropic;
  /** Writes every recorded line to the ledger, and counts it on its budgets. */
  settled(): Promise<void>;
  /** Every ledger line, after flushing the writer. */
  lines(): Promise<LedgerLine[]>;
  /** The line of one request id, after flushing. */
  line(id: string): Promise<LedgerLine | undefined>;
  close(): Promise<void>;
}

let labels = 0;

export async function startTestBursar(opts: { yaml?: string; sim?: SimulatorOptions; env?: Record<string, string>; keepData?: boolean; dataDir?: string; onRoute?: StartOptions['onRoute']; shutdownGraceMs?: number } = {}): Promise<TestBursar> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'bursar-test-'));
  const sim = new Simulator(opts.sim ?? {});
  await sim.start();
  const config = loadConfig({ yaml: opts.yaml ?? ORG_YAML, env: { BURSAR_DATA_DIR: dataDir, BURSAR_PORT: '0', BURSAR_LOG_LEVEL: 'warn', ...opts.env } });
  const logs: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) });
  const b = await startBursar(config, { simulator: sim, logDestination: sink as never, shutdownGraceMs: opts.shutdownGraceMs ?? 5_000, ...(opts.onRoute ? { onRoute: opts.onRoute } : {}) });
  // A restart on the same data folder finds the first admin token in its file.
  const tokenFile = join(dataDir, 'admin-token');
  const adminToken = b.firstAdminToken ?? opts.env?.BURSAR_ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
  const url = b.url;

  const admin = async <T,>(method: string, path: string, body?: unknown, token = adminToken) => {
    const res = await fetch(`${url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* CSV or empty */
    }
    return { status: res.status, body: parsed as T };
  };

  return {
    b, sim, url, adminToken, dataDir, logs, admin,
    async key(body = {}) {
      const r = await admin<{ secret: string; id: string }>('POST', '/keys', { label: `test-key-${++labels}`, ...body });
      if (r.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(r.body)}`);
      return { secret: r.body.secret, id: r.body.id };
    },
    openai: (secret, headers = {}) => new OpenAI({ apiKey: secret, baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: headers }),
    anthropic: (secret, headers = {}) => new Anthropic({ apiKey: secret, baseURL: url, maxRetries: 0, defaultHeaders: headers }),
    async settled() {
      await b.writer.flush();
      await b.writer.counted();
    },
    async lines() {
      await b.writer.flush();
      const out: LedgerLine[] = [];
      for await (const l of b.stores.ledger.scan({ from: 0, to: Date.now() + 60_000 })) out.push(l);
      return out;
    },
    async line(id) {
      await b.writer.flush();
      return b.stores.ledger.get(id);
    },
    async close() {
      await b.close();
      await sim.close();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` passes or the time is up (for effects that land asynchronously). */
export async function eventually<T>(check: () => Promise<T> | T, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Makes `call` until one is refused (at most `max` times); returns the refusal. */
export async function callUntilRefused<E = { status: number; code: string; message: string; error: { details: Record<string, unknown> } }>(call: () => Promise<unknown>, max = 200): Promise<E> {
  for (let i = 0; i < max; i++) {
    try {
      await call();
    } catch (e) {
      return e as E;
    }
  }
  throw new Error(`not refused after ${max} calls`);
}
