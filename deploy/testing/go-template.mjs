// A small interpreter for the subset of Go text/template + Sprig that helm/mqtt-broker uses, so
// the chart can be rendered and its output parsed in tests on a machine without Helm.
//
// Not Helm: no npm package renders Helm charts faithfully (Go template semantics + Sprig), so this
// implements what the chart needs and fails loudly (unknown function, unexpected token) on
// anything else, instead of guessing. Where Go and JavaScript differ in a way that breaks real
// charts it follows Go: values from YAML are float64 and print like Go's %v (1000000 prints as
// "1e+06"), integers from `int`, `add` and template literals are int64 (BigInt here); missing
// map keys are nil and print as ""; map keys are iterated in sorted order; `and`/`or` return one
// of their arguments and short-circuit; trim markers `{{-`/`-}}` remove all adjacent white space.
// The real check remains `helm lint` / `helm template` (helm/mqtt-broker/README.md).
import { createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

export class TemplateError extends Error {}

// ---------- lexing: text and {{ actions }} ----------

function lex(src, name) {
  const items = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      items.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    items.push({ kind: 'text', text: src.slice(i, open) });
    let j = open + 2;
    let trimLeft = false;
    if (src[j] === '-' && /\s/.test(src[j + 1])) {
      trimLeft = true;
      j += 1;
    }
    let body;
    let trimRight = false;
    const afterWs = src.slice(j).match(/^\s*/)[0].length;
    if (src.startsWith('/*', j + afterWs)) {
      const endComment = src.indexOf('*/', j + afterWs + 2);
      if (endComment < 0) throw new TemplateError(`${name}: unclosed comment`);
      let k = endComment + 2;
      const rest = src.slice(k);
      const m = rest.match(/^(\s+-)?\}\}/);
      if (!m) throw new TemplateError(`${name}: comment not followed by }}`);
      trimRight = Boolean(m[1]);
      k += m[0].length;
      items.push({ kind: 'comment', trimLeft, trimRight });
      i = k;
      continue;
    }
    // Find the closing }} outside string literals.
    let k = j;
    let quote = null;
    for (; k < src.length; k++) {
      const c = src[k];
      if (quote) {
        if (c === '\\' && quote === '"') k++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === '`') quote = c;
      else if (c === '}' && src[k + 1] === '}') break;
    }
    if (k >= src.length) throw new TemplateError(`${name}: unclosed action at offset ${open}`);
    body = src.slice(j, k);
    if (/\s-$/.test(body)) {
      trimRight = true;
      body = body.slice(0, -1);
    }
    items.push({ kind: 'action', body: body.trim(), trimLeft, trimRight, offset: open });
    i = k + 2;
  }
  // Apply trim markers to neighbouring text.
  for (let n = 0; n < items.length; n++) {
    const it = items[n];
    if (it.kind === 'text') continue;
    if (it.trimLeft && items[n - 1]?.kind === 'text') items[n - 1].text = items[n - 1].text.replace(/\s+$/, '');
    if (it.trimRight && items[n + 1]?.kind === 'text') items[n + 1].text = items[n + 1].text.replace(/^\s+/, '');
  }
  return items.filter((it) => it.kind !== 'comment');
}

// ---------- tokens inside an action ----------

function tokenize(body, where) {
  const toks = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < body.length && body[j] !== '"') {
        if (body[j] === '\\') {
          const e = body[j + 1];
          s += { n: '\n', t: '\t', '"': '"', '\\': '\\' }[e] ?? e;
          j += 2;
        } else s += body[j++];
      }
      toks.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = body.indexOf('`', i + 1);
      toks.push({ t: 'str', v: body.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: c });
      i++;
      continue;
    }
    if (c === ':' && body[i + 1] === '=') {
      toks.push({ t: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      toks.push({ t: '=' });
      i++;
      continue;
    }
    let m = body.slice(i).match(/^-?\d+(\.\d+)?/);
    if (m) {
      toks.push({ t: 'num', v: m[1] ? Number(m[0]) : BigInt(m[0]) });
      i += m[0].length;
      continue;
    }
    m = body.slice(i).match(/^\$[A-Za-z0-9_]*((\.[A-Za-z0-9_]+)*)/);
    if (m) {
      const [varName] = m[0].split('.');
      toks.push({ t: 'var', name: varName, path: m[1] ? m[1].slice(1).split('.') : [] });
      i += m[0].length;
      continue;
    }
    m = body.slice(i).match(/^\.([A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)?/);
    if (m) {
      toks.push({ t: 'field', path: m[1] ? m[1].split('.') : [] });
      i += m[0].length;
      continue;
    }
    m = body.slice(i).match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (m) {
      toks.push({ t: 'ident', v: m[0] });
      i += m[0].length;
      continue;
    }
    throw new TemplateError(`${where}: unexpected character ${JSON.stringify(c)} in {{ ${body} }}`);
  }
  return toks;
}

// ---------- parsing ----------

function parsePipeline(toks, pos, where) {
  const pipe = { decl: [], assign: false, cmds: [] };
  // Declarations: $x := ...  or  $k, $v := ...
  const save = pos.i;
  const vars = [];
  while (toks[pos.i]?.t === 'var' && toks[pos.i].path.length === 0) {
    vars.push(toks[pos.i].name);
    pos.i++;
    if (toks[pos.i]?.t === ',') pos.i++;
    else break;
  }
  if (vars.length > 0 && (toks[pos.i]?.t === ':=' || toks[pos.i]?.t === '=')) {
    pipe.assign = toks[pos.i].t === '=';
    pipe.decl = vars;
    pos.i++;
  } else pos.i = save;
  for (;;) {
    const cmd = [];
    while (pos.i < toks.length && toks[pos.i].t !== '|' && toks[pos.i].t !== ')') cmd.push(parseOperand(toks, pos, where));
    if (cmd.length === 0) throw new TemplateError(`${where}: empty command`);
    pipe.cmds.push(cmd);
    if (toks[pos.i]?.t === '|') pos.i++;
    else break;
  }
  return pipe;
}

function parseOperand(toks, pos, where) {
  const tok = toks[pos.i++];
  if (tok.t === '(') {
    const inner = parsePipeline(toks, pos, where);
    if (toks[pos.i++]?.t !== ')') throw new TemplateError(`${where}: missing )`);
    return { t: 'pipe', pipe: inner };
  }
  if (tok.t === 'ident' && (tok.v === 'true' || tok.v === 'false')) return { t: 'lit', v: tok.v === 'true' };
  if (tok.t === 'ident' && tok.v === 'nil') return { t: 'lit', v: null };
  if (tok.t === 'str' || tok.t === 'num') return { t: 'lit', v: tok.v };
  if (tok.t === 'ident' || tok.t === 'var' || tok.t === 'field') return tok;
  throw new TemplateError(`${where}: unexpected token ${tok.t}`);
}

function parse(items, name) {
  const root = { t: 'list', nodes: [] };
  const stack = [{ node: root, list: root.nodes }];
  const defines = {};
  for (const it of items) {
    const top = stack[stack.length - 1];
    if (it.kind === 'text') {
      if (it.text) top.list.push({ t: 'text', text: it.text });
      continue;
    }
    const where = `${name}@${it.offset}`;
    const toks = tokenize(it.body, where);
    const kw = toks[0]?.t === 'ident' ? toks[0].v : null;
    const rest = () => {
      const pos = { i: 1 };
      const p = parsePipeline(toks, pos, where);
      if (pos.i !== toks.length) throw new TemplateError(`${where}: trailing tokens in {{ ${it.body} }}`);
      return p;
    };
    if (kw === 'if' || kw === 'with' || kw === 'range') {
      const node = { t: kw, pipe: rest(), body: [], else: [] };
      top.list.push(node);
      stack.push({ node, list: node.body });
    } else if (kw === 'define') {
      const node = { t: 'define', body: [] };
      defines[toks[1].v] = node;
      stack.push({ node, list: node.body });
    } else if (kw === 'else') {
      const node = top.node;
      if (!['if', 'with', 'range'].includes(node.t)) throw new TemplateError(`${where}: else outside if/with/range`);
      if (toks[1]?.t === 'ident' && toks[1].v === 'if') {
        const pos = { i: 2 };
        const nested = { t: 'if', pipe: parsePipeline(toks, pos, where), body: [], else: [], chained: true };
        node.else.push(nested);
        stack[stack.length - 1] = { node: nested, list: nested.body, parentChain: top };
      } else top.list = node.else;
    } else if (kw === 'end') {
      let popped = stack.pop();
      while (popped.parentChain) popped = popped.parentChain;
      if (stack.length === 0) throw new TemplateError(`${where}: unexpected end`);
    } else if (kw === 'template' || kw === 'block') {
      throw new TemplateError(`${where}: {{ ${kw} }} is not supported here: use include`);
    } else {
      const pos = { i: 0 };
      const pipe = parsePipeline(toks, pos, where);
      if (pos.i !== toks.length) throw new TemplateError(`${where}: trailing tokens in {{ ${it.body} }}`);
      top.list.push({ t: 'action', pipe, where });
    }
  }
  if (stack.length !== 1) throw new TemplateError(`${name}: missing {{ end }}`);
  return { root, defines };
}

// ---------- values as Go sees them ----------

// Go's %v for float64: shortest representation, exponent form when the exponent is < -4 or >= 6
// (so a value of 1000000 in values.yaml prints as 1e+06: quote such values or convert with int64).
function goFloat(n) {
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp >= -4 && exp < 6) return String(n);
  const [mant, e] = n.toExponential().split('e');
  const sign = e[0] === '-' ? '-' : '+';
  return `${mant}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
}

export function goString(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goString(v[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

export function truthy(v) {
  if (v === null || v === undefined || v === false || v === '' || v === 0 || v === 0n) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

const toNum = (v) => (typeof v === 'bigint' ? Number(v) : Number(v));
const toInt = (v) => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
};
const kindOf = (v) => {
  if (v === null || v === undefined) return 'invalid';
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'slice';
  return 'map';
};
const equal = (a, b) => {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return toNum(a) === toNum(b);
  return a === b || (a == null && b == null);
};

function sprintf(format, args) {
  let n = 0;
  return format.replace(/%([svdq%])/g, (_m, verb) => {
    if (verb === '%') return '%';
    const a = args[n++];
    if (verb === 'q') return JSON.stringify(goString(a));
    if (verb === 'd') return toInt(a).toString();
    return goString(a);
  });
}

// ---------- evaluation ----------

export function createRenderer(sources) {
  const defines = {};
  const trees = {};
  for (const [name, src] of Object.entries(sources)) {
    const { root, defines: d } = parse(lex(src, name), name);
    trees[name] = root;
    Object.assign(defines, d);
  }

  const funcs = {
    include: (name, dot) => {
      const def = defines[name];
      if (!def) throw new TemplateError(`include: no template "${name}"`);
      return execList(def.body, dot, new Map([['$', dot]]));
    },
    toYaml: (v) => (v === null || v === undefined ? 'null' : stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '')),
    toJson: (v) => JSON.stringify(v),
    nindent: (n, s) => `\n${funcs.indent(n, s)}`,
    indent: (n, s) => {
      const pad = ' '.repeat(Number(n));
      return pad + goString(s).replaceAll('\n', `\n${pad}`);
    },
    quote: (...xs) =>
      xs
        .filter((x) => x !== null && x !== undefined)
        .map((x) => JSON.stringify(goString(x)))
        .join(' '),
    squote: (...xs) =>
      xs
        .filter((x) => x !== null && x !== undefined)
        .map((x) => `'${goString(x)}'`)
        .join(' '),
    default: (d, ...v) => (v.length === 0 || !truthy(v[0]) ? d : v[0]),
    empty: (v) => !truthy(v),
    required: (msg, v) => {
      if (v === null || v === undefined || v === '') throw new TemplateError(msg);
      return v;
    },
    fail: (msg) => {
      throw new TemplateError(`fail: ${msg}`);
    },
    printf: (f, ...a) => sprintf(f, a),
    print: (...a) => a.map(goString).join(''),
    trunc: (n, s) => goString(s).slice(0, Number(n)),
    trimSuffix: (suf, s) => (goString(s).endsWith(suf) ? goString(s).slice(0, -suf.length) : goString(s)),
    trimPrefix: (pre, s) => (goString(s).startsWith(pre) ? goString(s).slice(pre.length) : goString(s)),
    trim: (s) => goString(s).trim(),
    replace: (a, b, s) => goString(s).replaceAll(a, b),
    contains: (sub, s) => goString(s).includes(goString(sub)),
    hasPrefix: (pre, s) => goString(s).startsWith(pre),
    upper: (s) => goString(s).toUpperCase(),
    lower: (s) => goString(s).toLowerCase(),
    toString: (v) => goString(v),
    int: toInt,
    int64: toInt,
    add: (...xs) => xs.reduce((acc, x) => acc + toInt(x), 0n),
    sub: (a, b) => toInt(a) - toInt(b),
    mul: (...xs) => xs.reduce((acc, x) => acc * toInt(x), 1n),
    ternary: (t, f, c) => (truthy(c) ? t : f),
    list: (...xs) => xs,
    dict: (...kv) => {
      const o = {};
      for (let i = 0; i < kv.length; i += 2) o[kv[i]] = kv[i + 1];
      return o;
    },
    has: (needle, hay) => Array.isArray(hay) && hay.some((x) => equal(x, needle)),
    hasKey: (m, k) => m !== null && typeof m === 'object' && Object.hasOwn(m, k),
    join: (sep, xs) => (Array.isArray(xs) ? xs.map(goString).join(sep) : goString(xs)),
    kindIs: (k, v) => kindOf(v) === k,
    sha256sum: (s) => createHash('sha256').update(goString(s)).digest('hex'),
    b64enc: (s) => Buffer.from(goString(s)).toString('base64'),
    // Helm's lookup answers an empty map under `helm template` / --dry-run, as here (no cluster).
    lookup: () => ({}),
    randAlphaNum: (n) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      return Array.from(randomBytes(Number(n)), (b) => alphabet[b % alphabet.length]).join('');
    },
    index: (obj, ...keys) => keys.reduce((cur, k) => (cur === null || cur === undefined ? undefined : cur[typeof k === 'bigint' ? Number(k) : k]), obj),
    eq: (a, ...bs) => bs.some((b) => equal(a, b)),
    ne: (a, b) => !equal(a, b),
    lt: (a, b) => toNum(a) < toNum(b),
    le: (a, b) => toNum(a) <= toNum(b),
    gt: (a, b) => toNum(a) > toNum(b),
    ge: (a, b) => toNum(a) >= toNum(b),
    not: (v) => !truthy(v),
    len: (v) => BigInt(Array.isArray(v) || typeof v === 'string' ? v.length : Object.keys(v ?? {}).length),
  };

  function lookup(obj, path, where) {
    let cur = obj;
    for (const key of path) {
      if (cur === null || cur === undefined) return undefined;
      if (typeof cur !== 'object') throw new TemplateError(`${where}: can't evaluate field ${key} in ${kindOf(cur)}`);
      cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
    }
    return cur;
  }

  function getVar(scope, name, where) {
    if (!scope.has(name)) throw new TemplateError(`${where}: undefined variable ${name}`);
    return scope.get(name);
  }

  function evalOperand(op, dot, scope, where) {
    switch (op.t) {
      case 'lit':
        return op.v;
      case 'field':
        return lookup(dot, op.path, where);
      case 'var':
        return lookup(getVar(scope, op.name, where), op.path, where);
      case 'pipe':
        return evalPipe(op.pipe, dot, scope, where);
      default:
        throw new TemplateError(`${where}: bad operand ${op.t}`);
    }
  }

  function evalCommand(cmd, dot, scope, where, piped, hasPiped) {
    const [head, ...args] = cmd;
    if (head.t === 'ident') {
      const name = head.v;
      if (name === 'and' || name === 'or') {
        const all = args.map((a) => () => evalOperand(a, dot, scope, where));
        if (hasPiped) all.push(() => piped);
        let last;
        for (const get of all) {
          last = get();
          if (name === 'and' ? !truthy(last) : truthy(last)) return last;
        }
        return last;
      }
      const fn = funcs[name];
      if (!fn) throw new TemplateError(`${where}: function "${name}" not defined`);
      const vals = args.map((a) => evalOperand(a, dot, scope, where));
      if (hasPiped) vals.push(piped);
      return fn(...vals);
    }
    // A method call such as .Files.Get "path".
    if ((head.t === 'field' || head.t === 'var') && (args.length > 0 || hasPiped)) {
      const path = head.path;
      const base = head.t === 'field' ? dot : getVar(scope, head.name, where);
      const obj = lookup(base, path.slice(0, -1), where);
      const method = obj?.[path[path.length - 1]];
      if (typeof method !== 'function') throw new TemplateError(`${where}: ${path.join('.')} is not a method`);
      const vals = args.map((a) => evalOperand(a, dot, scope, where));
      if (hasPiped) vals.push(piped);
      return method(...vals);
    }
    if (hasPiped) throw new TemplateError(`${where}: can't give argument to non-function`);
    const v = evalOperand(head, dot, scope, where);
    return typeof v === 'function' ? v() : v;
  }

  function evalPipe(pipe, dot, scope, where) {
    let val;
    pipe.cmds.forEach((cmd, i) => {
      val = evalCommand(cmd, dot, scope, where, val, i > 0);
    });
    if (pipe.decl.length === 1) {
      if (pipe.assign && !scope.has(pipe.decl[0])) throw new TemplateError(`${where}: undefined variable ${pipe.decl[0]}`);
      scope.set(pipe.decl[0], val);
    }
    return val;
  }

  function execList(nodes, dot, scope) {
    let out = '';
    for (const node of nodes) out += execNode(node, dot, scope);
    return out;
  }

  function execNode(node, dot, scope) {
    switch (node.t) {
      case 'text':
        return node.text;
      case 'action': {
        const v = evalPipe(node.pipe, dot, scope, node.where);
        return node.pipe.decl.length > 0 ? '' : goString(v);
      }
      case 'if': {
        const inner = new Map(scope);
        const v = evalPipe(node.pipe, dot, inner, 'if');
        return truthy(v) ? execList(node.body, dot, inner) : execList(node.else, dot, inner);
      }
      case 'with': {
        const inner = new Map(scope);
        const v = evalPipe(node.pipe, dot, inner, 'with');
        return truthy(v) ? execList(node.body, v, inner) : execList(node.else, dot, inner);
      }
      case 'range': {
        const decl = node.pipe.decl;
        const pipe = { ...node.pipe, decl: [] };
        const inner = new Map(scope);
        const coll = evalPipe(pipe, dot, inner, 'range');
        const entries = Array.isArray(coll)
          ? coll.map((v, i) => [BigInt(i), v])
          : coll && typeof coll === 'object'
            ? Object.keys(coll)
                .sort()
                .map((k) => [k, coll[k]])
            : [];
        if (entries.length === 0) return execList(node.else, dot, inner);
        let out = '';
        for (const [k, v] of entries) {
          const s = new Map(inner);
          if (decl.length === 1) s.set(decl[0], v);
          if (decl.length === 2) {
            s.set(decl[0], k);
            s.set(decl[1], v);
          }
          out += execList(node.body, v, s);
        }
        return out;
      }
      default:
        throw new TemplateError(`unknown node ${node.t}`);
    }
  }

  return {
    render(name, dot) {
      const tree = trees[name];
      if (!tree) throw new TemplateError(`no template ${name}`);
      return execList(tree.nodes, dot, new Map([['$', dot]]));
    },
  };
}
