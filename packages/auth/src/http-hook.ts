/**
 * POSTs a JSON body to an authentication or authorization service (the HTTP auth hook) and reads
 * its verdict, with undici over keep-alive connections.
 *
 * The service answers (the EMQX 5 HTTP authenticator / authorizer convention):
 *   200 with {"result": "allow" | "deny" | "ignore"}  -> that verdict ("ignore": not mine, ask the next)
 *   204                                              -> allow
 *   401 or 403                                       -> deny
 * Anything else is not a verdict: a 5xx or a refused connection is `unavailable`, no answer within
 * the timeout `timeout`, any other status or a body that is not that JSON `bad_answer`.
 *
 * Bounded: at most `maxConcurrent` requests in flight; a request beyond waits for a slot (at most
 * `maxWaiting` wait, within its timeout) and otherwise ends `busy` at once, so a slow service holds
 * a bounded number of CONNECTs and sockets, never the broker.
 */
import { Agent, errors, request } from 'undici';

export type HookVerdict = 'allow' | 'deny' | 'ignore';
export type HookFailure = 'timeout' | 'unavailable' | 'bad_answer' | 'busy';
export type HookOutcome = HookVerdict | HookFailure;

export function isVerdict(outcome: HookOutcome): outcome is HookVerdict {
  return outcome === 'allow' || outcome === 'deny' || outcome === 'ignore';
}

export interface HttpHookOptions {
  /** Requests in flight at most (also the connections kept alive per service origin). */
  maxConcurrent: number;
  /** Requests waiting for a free slot at most; beyond, a request is `busy` at once. */
  maxWaiting: number;
  /** One request at most, waiting for a slot included. */
  timeoutMs: number;
  /** Each request's outcome and duration (seconds), for metrics; `kind` as given to `post`. */
  onRequest?: (kind: string, outcome: HookOutcome, seconds: number) => void;
}

const MAX_ANSWER_BYTES = 64 * 1024;

export class HttpHook {
  readonly #options: HttpHookOptions;
  readonly #agent: Agent;
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: HttpHookOptions) {
    this.#options = options;
    this.#agent = new Agent({ connections: options.maxConcurrent, keepAliveTimeout: 30_000, pipelining: 1 });
  }

  async post(url: string, body: Readonly<Record<string, unknown>>, kind: string): Promise<HookOutcome> {
    const started = performance.now();
    const outcome = await this.#bounded(url, JSON.stringify(body), started);
    this.#options.onRequest?.(kind, outcome, (performance.now() - started) / 1000);
    return outcome;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #bounded(url: string, body: string, started: number): Promise<HookOutcome> {
    if (this.#inFlight >= this.#options.maxConcurrent && !(await this.#slot(started))) return 'busy';
    this.#inFlight++;
    try {
      return await this.#send(url, body, this.#options.timeoutMs - (performance.now() - started));
    } finally {
      this.#inFlight--;
      this.#waiting.shift()?.();
    }
  }

  /** Waits for a free slot within the timeout; false when the queue is full or the time ran out. */
  #slot(started: number): Promise<boolean> {
    if (this.#waiting.length >= this.#options.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(wake);
        if (i !== -1) this.#waiting.splice(i, 1);
        resolve(false);
      }, Math.max(0, this.#options.timeoutMs - (performance.now() - started)));
      this.#waiting.push(wake);
    });
  }

  async #send(url: string, body: string, timeoutMs: number): Promise<HookOutcome> {
    if (timeoutMs <= 0) return 'timeout';
    try {
      const response = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
      });
      const text = await readLimited(response.body);
      return verdictOf(response.statusCode, text);
    } catch (err) {
      if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timeout';
      if (err instanceof errors.RequestAbortedError) return 'timeout';
      if (err instanceof AnswerTooLarge) return 'bad_answer';
      return 'unavailable';
    }
  }
}

class AnswerTooLarge extends Error {}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) throw new AnswerTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function verdictOf(status: number, text: string): HookOutcome {
  if (status === 204) return 'allow';
  if (status === 401 || status === 403) return 'deny';
  if (status >= 500) return 'unavailable';
  if (status !== 200) return 'bad_answer';
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return 'bad_answer';
  }
  const result = typeof answer === 'object' && answer !== null ? (answer as { result?: unknown }).result : undefined;
  return result === 'allow' || result === 'deny' || result === 'ignore' ? result : 'bad_answer';
}
