/**
 * Per source address (IP, any port): a token bucket of datagrams per second, so one flooding
 * address cannot starve the others, and the count of clients behind it (a forwarder carries
 * many; the cap bounds what one address can make the gateway hold).
 */
interface Bucket {
  tokens: number;
  at: number;
  clients: number;
}

export class AddressGuard {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly maxClients: number,
  ) {}

  private bucket(address: string, now: number): Bucket {
    let b = this.buckets.get(address);
    if (b === undefined) {
      b = { tokens: this.ratePerSecond, at: now, clients: 0 };
      this.buckets.set(address, b);
    }
    return b;
  }

  /** Takes one token; false when the address is over its rate. 0 = unlimited. */
  allow(address: string, now: number): boolean {
    if (this.ratePerSecond === 0) return true;
    const b = this.bucket(address, now);
    b.tokens = Math.min(this.ratePerSecond, b.tokens + ((now - b.at) * this.ratePerSecond) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Counts a new client at `address`; false when the address is at its cap. */
  addClient(address: string, now: number): boolean {
    const b = this.bucket(address, now);
    if (b.clients >= this.maxClients) return false;
    b.clients++;
    return true;
  }

  removeClient(address: string): void {
    const b = this.buckets.get(address);
    if (b !== undefined && b.clients > 0) b.clients--;
  }

  /** Forgets addresses with no client that have been quiet for `idleMs` (their bucket is full again anyway). */
  sweep(now: number, idleMs: number): void {
    for (const [address, b] of this.buckets) if (b.clients === 0 && now - b.at > idleMs) this.buckets.delete(address);
  }
}
