/**
 * Two set operations on topic filters, used to answer "could this subscription ever deliver
 * something the ACL lets the client read?" without enumerating topics.
 *
 * meet(a, b): a filter matching exactly the topics matched by both a and b, or undefined when no
 *   topic matches both. Level by level: equal literals stay, literal and '+' give the literal,
 *   '+' and '+' give '+', '#' against the rest of the other filter gives that rest ("a/#" and "a"
 *   meet in "a"). The '$' rule [MQTT-4.7.2-1]: a first-level wildcard never meets a first-level
 *   literal starting with '$'.
 * covers(outer, inner): every topic matched by inner is matched by outer.
 * Both take valid, non-shared filters.
 */

function startsWithDollar(level: string): boolean {
  return level.charCodeAt(0) === 0x24;
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

export function meet(a: string, b: string): string | undefined {
  const x = a.split('/');
  const y = b.split('/');
  if ((isWildcard(x[0]) && startsWithDollar(y[0])) || (isWildcard(y[0]) && startsWithDollar(x[0]))) return undefined;
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#') return [...out, ...y.slice(i)].join('/');
    if (q === '#') return [...out, ...x.slice(i)].join('/');
    if (p === undefined && q === undefined) return out.join('/');
    if (p === undefined || q === undefined) return undefined;
    if (p === '+') out.push(q);
    else if (q === '+' || p === q) out.push(p);
    else return undefined;
  }
}

export function covers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const n = inner.split('/');
  if (isWildcard(o[0]) && startsWithDollar(n[0])) return false;
  for (let i = 0; ; i++) {
    const p = o[i];
    const q = n[i];
    if (p === '#') return true;
    if (p === undefined) return q === undefined;
    if (q === undefined) return false; // outer still has a level that is not '#'
    if (q === '#') return false; // inner reaches deeper (and shallower) than a non-'#' level
    if (p === '+') continue;
    if (q === '+' || p !== q) return false;
  }
}
