#!/usr/bin/env node
// tsclient.mjs — a scriptable MCP client built on the official TypeScript SDK, driven by the
// Go end-to-end tests.
//
// Usage:
//   node tsclient.mjs [options] --http URL            Streamable HTTP
//   node tsclient.mjs [options] --sse URL             legacy HTTP+SSE
//   node tsclient.mjs [options] --stdio -- CMD ARGS   child process over stdio
//
// Options:
//   --timeout-ms N       overall deadline for the whole run (default 60000); the process
//                        always exits by itself, with code 3 when this deadline is hit
//   --header "K: V"      extra HTTP header (repeatable; --http/--sse only)
//   --name NAME          clientInfo.name (default "gatehouse-tsclient")
//   --no-capabilities    declare no sampling/elicitation/roots capabilities
//
// Standard input is a JSON scenario: either an array of steps, or an object
//   {"steps":[...], "roots":[{"uri":..,"name":..}], "elicitation":{"action":..,"content":{..}},
//    "sampling":{"text":..,"model":..}, "timeoutMs":N}
//
// Steps ("op" plus fields):
//   listTools [cursor] [all]         callTool name arguments [progress] [meta]
//   listPrompts [cursor] [all]       getPrompt name arguments
//   listResources [cursor] [all]     readResource uri
//   listResourceTemplates [cursor] [all]
//   complete ref argument [context]  setLoggingLevel level
//   subscribe uri                    unsubscribe uri
//   ping                             sleep ms
//   rootsListChanged                 request method params   (any method, raw result)
//   notify method params             parallel steps:[...]     (run concurrently, lines in finish order)
//   cancelAfterMs ms name arguments [progress]   callTool cancelled (notifications/cancelled)
//                                                after ms; any step may also carry
//                                                "cancelAfterMs": N
//   waitForNotification method [count] [timeoutMs]   wait until `count` notifications of this
//                                                    method have been received in total
// Any step may carry "timeoutMs" (per-request timeout, default 30000) and "id" (echoed back).
// "all": true on a list op follows nextCursor until exhausted and returns the merged list.
//
// Output: one JSON object per line on stdout.
//   {"type":"connected","serverInfo":..,"serverCapabilities":..,"instructions":..,"protocolVersion":..,"sessionId":..}
//   {"type":"step","index":i,"op":..,"id":..,"ok":true,"result":..,"ms":..}
//   {"type":"step","index":i,"op":..,"id":..,"ok":false,"error":{"code":..,"message":..,"data":..},"ms":..}
//   {"type":"notification","method":..,"params":..}
//   {"type":"serverRequest","method":..,"params":..}      (sampling / elicitation / roots)
//   {"type":"error","phase":"connect"|"timeout"|"transport"|"scenario","message":..}
//   {"type":"done","ok":bool}
// Exit code: 0 when the scenario ran to the end (step errors are data, not failures),
// 1 when connect failed, 2 on bad usage or scenario, 3 on the overall timeout.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const DEFAULT_ROOTS = [
  { uri: 'file:///tmp/gatehouse-root-a', name: 'root-a' },
  { uri: 'file:///tmp/gatehouse-root-b', name: 'root-b' },
];

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function usage(msg) {
  process.stderr.write(`tsclient: ${msg}\nusage: node tsclient.mjs [--timeout-ms N] [--header "K: V"] (--http URL | --sse URL | --stdio -- CMD ARGS...)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { timeoutMs: 60000, headers: {}, name: 'gatehouse-tsclient', capabilities: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--http': opts.mode = 'http'; opts.url = next(); break;
      case '--sse': opts.mode = 'sse'; opts.url = next(); break;
      case '--stdio': opts.mode = 'stdio'; break;
      case '--timeout-ms': opts.timeoutMs = Number(next()); break;
      case '--name': opts.name = next(); break;
      case '--no-capabilities': opts.capabilities = false; break;
      case '--header': {
        const h = next();
        const c = h.indexOf(':');
        if (c <= 0) usage(`bad header ${JSON.stringify(h)}`);
        opts.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
        break;
      }
      case '--':
        opts.command = argv.slice(i + 1);
        i = argv.length;
        break;
      default: usage(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  if (!opts.mode) usage('one of --http, --sse, --stdio is required');
  if (opts.mode === 'stdio' && (!opts.command || opts.command.length === 0)) usage('--stdio needs -- CMD ARGS...');
  if (!(opts.timeoutMs > 0)) usage('bad --timeout-ms');
  return opts;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function errorOf(e) {
  const out = { code: typeof e?.code === 'number' ? e.code : null, message: String(e?.message ?? e) };
  if (e?.data !== undefined) out.data = e.data;
  return out;
}

// Deterministic answer for a form elicitation: defaults first, then a fixed value per type.
function fillSchema(schema) {
  const content = {};
  for (const [k, p] of Object.entries(schema?.properties ?? {})) {
    if (p.default !== undefined) { content[k] = p.default; continue; }
    switch (p.type) {
      case 'boolean': content[k] = true; break;
      case 'integer': content[k] = p.minimum ?? 1; break;
      case 'number': content[k] = p.minimum ?? 1; break;
      case 'array': {
        const en = p.items?.enum ?? p.items?.anyOf?.map((x) => x.const);
        content[k] = en && en.length ? [en[0]] : [];
        break;
      }
      default: {
        const en = p.enum ?? p.oneOf?.map((x) => x.const) ?? p.anyOf?.map((x) => x.const);
        if (en && en.length) content[k] = en[0];
        else if (p.format === 'email') content[k] = 'test@example.com';
        else if (p.format === 'uri') content[k] = 'https://example.com/';
        else if (p.format === 'date') content[k] = '2025-01-01';
        else if (p.format === 'date-time') content[k] = '2025-01-01T00:00:00Z';
        else content[k] = 'test';
      }
    }
  }
  return content;
}

function promptText(params) {
  return (params?.messages ?? [])
    .map((m) => {
      const c = m.content;
      if (Array.isArray(c)) return c.map((x) => x.text ?? '').join('');
      return c?.text ?? '';
    })
    .join('\n');
}

const RawResult = z.object({}).passthrough();

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  let overall;
  const deadline = new Promise((_, reject) => {
    overall = setTimeout(() => reject(Object.assign(new Error(`overall timeout ${opts.timeoutMs}ms`), { phase: 'timeout' })), opts.timeoutMs);
  });
  // Hard stop in case closing hangs after the deadline.
  const hardStop = setTimeout(() => {
    emit({ type: 'error', phase: 'timeout', message: 'hard stop' });
    process.exit(3);
  }, opts.timeoutMs + 5000);
  hardStop.unref();

  let scenario;
  try {
    const text = await Promise.race([readStdin(), deadline]);
    scenario = text.trim() === '' ? [] : JSON.parse(text);
  } catch (e) {
    emit({ type: 'error', phase: e.phase ?? 'scenario', message: String(e.message ?? e) });
    process.exit(e.phase === 'timeout' ? 3 : 2);
  }
  if (Array.isArray(scenario)) scenario = { steps: scenario };
  if (!scenario || !Array.isArray(scenario.steps)) {
    emit({ type: 'error', phase: 'scenario', message: 'scenario must be an array of steps or {"steps":[...]}' });
    process.exit(2);
  }
  const roots = scenario.roots ?? DEFAULT_ROOTS;
  const sampling = scenario.sampling ?? {};
  const elicitation = scenario.elicitation ?? { action: 'accept' };

  const capabilities = opts.capabilities
    ? { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } }
    : {};
  const client = new Client({ name: opts.name, version: '1.0.0' }, { capabilities });

  // Notification bookkeeping, for waitForNotification.
  const counts = new Map();
  const waiters = [];
  function noteNotification(method, params) {
    emit({ type: 'notification', method, params });
    counts.set(method, (counts.get(method) ?? 0) + 1);
    for (const w of [...waiters]) w();
  }

  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => noteNotification(n.method, n.params));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => noteNotification(n.method, n.params));
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => noteNotification(n.method, n.params));
  client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => noteNotification(n.method, n.params));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => noteNotification(n.method, n.params));
  client.fallbackNotificationHandler = async (n) => noteNotification(n.method, n.params);
  client.onerror = (e) => process.stderr.write(`tsclient: protocol error: ${e?.message ?? e}\n`);

  if (opts.capabilities) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      emit({ type: 'serverRequest', method: req.method, params: req.params });
      const received = promptText(req.params);
      return {
        role: 'assistant',
        content: { type: 'text', text: `${sampling.text ?? 'tsclient sample'}: ${received}` },
        model: sampling.model ?? 'gatehouse-test-model',
        stopReason: 'endTurn',
      };
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      emit({ type: 'serverRequest', method: req.method, params: req.params });
      const action = elicitation.action ?? 'accept';
      if (action !== 'accept') return { action };
      if (req.params.mode === 'url') return { action: 'accept' };
      return { action: 'accept', content: elicitation.content ?? fillSchema(req.params.requestedSchema) };
    });
    client.setRequestHandler(ListRootsRequestSchema, async (req) => {
      emit({ type: 'serverRequest', method: req.method, params: req.params ?? {} });
      return { roots };
    });
  }

  let transport;
  if (opts.mode === 'stdio') {
    transport = new StdioClientTransport({
      command: opts.command[0],
      args: opts.command.slice(1),
      env: Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)),
      stderr: 'inherit',
    });
  } else if (opts.mode === 'http') {
    transport = new StreamableHTTPClientTransport(new URL(opts.url), { requestInit: { headers: opts.headers } });
  } else {
    transport = new SSEClientTransport(new URL(opts.url), {
      requestInit: { headers: opts.headers },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...opts.headers } }) },
    });
  }

  let exitCode = 0;
  try {
    await Promise.race([client.connect(transport, { timeout: 30000 }), deadline]);
  } catch (e) {
    emit({ type: 'error', phase: e.phase ?? 'connect', message: String(e.message ?? e) });
    await closeQuietly(client);
    process.exit(e.phase === 'timeout' ? 3 : 1);
  }
  // Tap incoming progress notifications before the SDK routes them by token.
  const sdkOnMessage = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    if (msg?.method === 'notifications/progress') noteNotification(msg.method, msg.params);
    sdkOnMessage?.(msg, extra);
  };
  emit({
    type: 'connected',
    serverInfo: client.getServerVersion() ?? null,
    serverCapabilities: client.getServerCapabilities() ?? null,
    instructions: client.getInstructions() ?? null,
    protocolVersion: transport.protocolVersion ?? null,
    sessionId: transport.sessionId ?? null,
  });

  async function listAll(fn, key, step, reqOpts) {
    if (!step.all) return fn(step.cursor ? { cursor: step.cursor } : undefined, reqOpts);
    const items = [];
    let cursor = step.cursor;
    let pages = 0;
    for (;;) {
      const r = await fn(cursor ? { cursor } : undefined, reqOpts);
      pages++;
      items.push(...(r[key] ?? []));
      if (!r.nextCursor || pages >= 1000) return { [key]: items, pages };
      cursor = r.nextCursor;
    }
  }

  async function waitFor(method, count, timeoutMs) {
    if ((counts.get(method) ?? 0) >= count) return { method, count: counts.get(method) };
    return new Promise((resolve, reject) => {
      const w = () => {
        if ((counts.get(method) ?? 0) >= count) {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
          resolve({ method, count: counts.get(method) });
        }
      };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(Object.assign(new Error(`timed out waiting for ${count}× ${method} (got ${counts.get(method) ?? 0})`), { code: null }));
      }, timeoutMs);
      waiters.push(w);
    });
  }

  async function runOp(step, index) {
    const reqOpts = { timeout: step.timeoutMs ?? 30000 };
    let abortTimer;
    const cancelMs = step.op === 'cancelAfterMs' ? step.ms : step.cancelAfterMs;
    if (cancelMs !== undefined) {
      const ac = new AbortController();
      reqOpts.signal = ac.signal;
      abortTimer = setTimeout(() => ac.abort(`cancelled by tsclient after ${cancelMs}ms`), cancelMs);
    }
    if (step.progress) {
      // Progress lines are emitted by the transport tap (with their progressToken, and also
      // when they arrive after the response); registering onprogress makes the SDK send a token.
      reqOpts.onprogress = () => {};
      reqOpts.resetTimeoutOnProgress = true;
    }
    try {
      switch (step.op) {
        case 'listTools': return await listAll((p, o) => client.listTools(p, o), 'tools', step, reqOpts);
        case 'listPrompts': return await listAll((p, o) => client.listPrompts(p, o), 'prompts', step, reqOpts);
        case 'listResources': return await listAll((p, o) => client.listResources(p, o), 'resources', step, reqOpts);
        case 'listResourceTemplates':
          return await listAll((p, o) => client.listResourceTemplates(p, o), 'resourceTemplates', step, reqOpts);
        case 'callTool':
        case 'cancelAfterMs': {
          const params = { name: step.name, arguments: step.arguments ?? {} };
          if (step.meta) params._meta = step.meta;
          return await client.callTool(params, CallToolResultSchema, reqOpts);
        }
        case 'getPrompt': return await client.getPrompt({ name: step.name, arguments: step.arguments ?? {} }, reqOpts);
        case 'readResource': return await client.readResource({ uri: step.uri }, reqOpts);
        case 'complete':
          return await client.complete(
            { ref: step.ref, argument: step.argument, ...(step.context ? { context: step.context } : {}) },
            reqOpts,
          );
        case 'setLoggingLevel': return await client.setLoggingLevel(step.level, reqOpts);
        case 'subscribe': return await client.subscribeResource({ uri: step.uri }, reqOpts);
        case 'unsubscribe': return await client.unsubscribeResource({ uri: step.uri }, reqOpts);
        case 'ping': return await client.ping(reqOpts);
        case 'sleep':
          await new Promise((r) => setTimeout(r, step.ms ?? 0));
          return {};
        case 'rootsListChanged':
          await client.sendRootsListChanged();
          return {};
        case 'request':
          return await client.request({ method: step.method, params: step.params ?? {} }, RawResult, reqOpts);
        case 'notify':
          await client.notification({ method: step.method, params: step.params ?? {} });
          return {};
        case 'waitForNotification':
          return await waitFor(step.method, step.count ?? 1, step.timeoutMs ?? 10000);
        case 'parallel':
          await Promise.all((step.steps ?? []).map((s, j) => runStep(s, `${index}.${j}`)));
          return {};
        default:
          throw Object.assign(new Error(`unknown op ${JSON.stringify(step.op)}`), { code: null });
      }
    } finally {
      if (abortTimer) clearTimeout(abortTimer);
    }
  }

  async function runStep(step, index) {
    const started = Date.now();
    const base = { type: 'step', index, op: step.op };
    if (step.id !== undefined) base.id = step.id;
    try {
      const result = await runOp(step, index);
      emit({ ...base, ok: true, result, ms: Date.now() - started });
    } catch (e) {
      emit({ ...base, ok: false, error: errorOf(e), ms: Date.now() - started });
    }
  }

  try {
    // A scenario's timeoutMs may only shorten the overall deadline.
    const effective = scenario.timeoutMs && scenario.timeoutMs < opts.timeoutMs ? scenario.timeoutMs : null;
    const scenDeadline = effective
      ? new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error(`scenario timeout ${effective}ms`), { phase: 'timeout' })), effective).unref())
      : new Promise(() => {});
    await Promise.race([
      (async () => {
        for (let i = 0; i < scenario.steps.length; i++) await runStep(scenario.steps[i], i);
      })(),
      deadline,
      scenDeadline,
    ]);
  } catch (e) {
    emit({ type: 'error', phase: e.phase ?? 'transport', message: String(e.message ?? e) });
    exitCode = e.phase === 'timeout' ? 3 : 1;
  }
  clearTimeout(overall);
  await closeQuietly(client);
  emit({ type: 'done', ok: exitCode === 0 });
  process.exit(exitCode);
}

async function closeQuietly(client) {
  try {
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 3000).unref())]);
  } catch {
    // ignore
  }
}

main().catch((e) => {
  emit({ type: 'error', phase: 'internal', message: String(e?.stack ?? e) });
  process.exit(1);
});
