// k6/metrics for tests: every sample is kept in one registry, summarised like k6's end-of-test
// data (values.count, values.rate, values['p(95)']).
export const registry = new Map();

class Metric {
  constructor(name, type) {
    this.name = name;
    this.type = type;
    this.samples = [];
    registry.set(name, this);
  }
  add(value) {
    this.samples.push(typeof value === 'boolean' ? (value ? 1 : 0) : Number(value));
  }
}
export class Counter extends Metric {
  constructor(name) {
    super(name, 'counter');
  }
}
export class Trend extends Metric {
  constructor(name) {
    super(name, 'trend');
  }
}
export class Rate extends Metric {
  constructor(name) {
    super(name, 'rate');
  }
}
export class Gauge extends Metric {
  constructor(name) {
    super(name, 'gauge');
  }
}

export function summary() {
  const metrics = {};
  for (const [name, m] of registry) {
    const sum = m.samples.reduce((a, b) => a + b, 0);
    const sorted = [...m.samples].sort((a, b) => a - b);
    const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
    metrics[name] = {
      type: m.type,
      values:
        m.type === 'counter'
          ? { count: sum }
          : m.type === 'rate'
            ? { rate: m.samples.length ? sum / m.samples.length : 0, passes: sum, fails: m.samples.length - sum }
            : { count: m.samples.length, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0, 'p(95)': pct(95), 'p(99)': pct(99) },
    };
  }
  return { metrics };
}
