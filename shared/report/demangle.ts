/**
 * Symbol demangling for stack frames: Rust v0 (`_R...`), Rust legacy and C++ Itanium
 * (`_ZN...E`). Kernels print Rust and C++ symbols mangled; titles name them as source does
 * ("<rust_binder::process::Process>::update_ref"). Bounded: a name is at most a console
 * line, and every step consumes input. Anything not understood is returned unchanged.
 */

const BASIC_TYPES: Record<string, string> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32',
  m: 'u32', n: 'i128', o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
};

class V0 {
  private pos = 0;
  private depth = 0;
  /** Backrefs can make a short symbol expand exponentially: a budget keeps it linear. */
  private steps = 0;
  constructor(private readonly s: string) {}

  private fail(): never {
    throw new Error('bad v0 symbol');
  }
  private peek(): string {
    return this.s[this.pos] ?? '';
  }
  private next(): string {
    const c = this.s[this.pos++];
    if (c === undefined) this.fail();
    return c;
  }
  private base62(): number {
    if (this.peek() === '_') {
      this.pos++;
      return 0;
    }
    let n = 0;
    for (;;) {
      const c = this.next();
      if (c === '_') return n + 1;
      const d = /[0-9]/.test(c) ? c.charCodeAt(0) - 48 : /[a-z]/.test(c) ? c.charCodeAt(0) - 87 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 29 : this.fail();
      // Disambiguators are hashes: large, and only compared, never used as positions.
      n = n * 62 + d;
    }
  }
  private disambiguator(): number {
    if (this.peek() !== 's') return 0;
    this.pos++;
    return this.base62();
  }
  private ident(): string {
    this.disambiguator();
    return this.identAfterDisambiguator();
  }
  private backref<T>(parse: () => T): T {
    const target = this.base62();
    if (target >= this.pos) this.fail();
    const saved = this.pos;
    this.pos = target;
    const out = parse();
    this.pos = saved;
    return out;
  }
  private nested<T>(f: () => T): T {
    if (++this.depth > 64 || ++this.steps > 2000) this.fail();
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  path(): string {
    return this.nested(() => {
      const tag = this.next();
      switch (tag) {
        case 'C':
          return this.ident();
        case 'M': {
          this.disambiguator();
          this.path();
          return `<${this.type()}>`;
        }
        case 'X': {
          this.disambiguator();
          this.path();
          const ty = this.type();
          return `<${ty} as ${this.path()}>`;
        }
        case 'Y': {
          const ty = this.type();
          return `<${ty} as ${this.path()}>`;
        }
        case 'N': {
          const ns = this.next();
          const parent = this.path();
          const dis = this.disambiguator();
          const id = this.identAfterDisambiguator();
          if (/[A-Z]/.test(ns)) return `${parent}::{${ns === 'C' ? 'closure' : ns === 'S' ? 'shim' : ns}${id ? `:${id}` : ''}#${dis}}`;
          return `${parent}::${id}`;
        }
        case 'I': {
          const p = this.path();
          const args: string[] = [];
          while (this.peek() !== 'E') args.push(this.genericArg());
          this.pos++;
          return `${p}::<${args.join(', ')}>`;
        }
        case 'B':
          return this.backref(() => this.path());
        default:
          return this.fail();
      }
    });
  }
  private identAfterDisambiguator(): string {
    if (this.peek() === 'u') this.pos++;
    const m = /^[0-9]+/.exec(this.s.slice(this.pos, this.pos + 10));
    if (!m) this.fail();
    this.pos += m[0].length;
    const len = Number(m[0]);
    if (this.peek() === '_') this.pos++;
    if (this.pos + len > this.s.length) this.fail();
    const id = this.s.slice(this.pos, this.pos + len);
    this.pos += len;
    return id;
  }
  private genericArg(): string {
    if (this.peek() === 'L') {
      this.pos++;
      this.base62();
      return "'_";
    }
    if (this.peek() === 'K') {
      this.pos++;
      return this.constant();
    }
    return this.type();
  }
  private constant(): string {
    if (this.peek() === 'B') {
      this.pos++;
      return this.backref(() => this.constant());
    }
    const ty = this.next();
    if (ty === 'p') return '_';
    let neg = '';
    if (this.peek() === 'n') {
      this.pos++;
      neg = '-';
    }
    const m = /^[0-9a-f]*_/.exec(this.s.slice(this.pos, this.pos + 40));
    if (!m) this.fail();
    this.pos += m[0].length;
    const hex = m[0].slice(0, -1);
    return neg + (hex === '' ? '0' : BigInt(`0x${hex}`).toString());
  }
  type(): string {
    return this.nested(() => {
      const c = this.peek();
      const basic = BASIC_TYPES[c];
      if (basic !== undefined) {
        this.pos++;
        return basic;
      }
      switch (c) {
        case 'R':
        case 'Q': {
          this.pos++;
          if (this.peek() === 'L') {
            this.pos++;
            this.base62();
          }
          return `&${c === 'Q' ? 'mut ' : ''}${this.type()}`;
        }
        case 'P':
        case 'O':
          this.pos++;
          return `*${c === 'P' ? 'const' : 'mut'} ${this.type()}`;
        case 'A': {
          this.pos++;
          const t = this.type();
          return `[${t}; ${this.constant()}]`;
        }
        case 'S':
          this.pos++;
          return `[${this.type()}]`;
        case 'T': {
          this.pos++;
          const ts: string[] = [];
          while (this.peek() !== 'E') ts.push(this.type());
          this.pos++;
          return `(${ts.join(', ')}${ts.length === 1 ? ',' : ''})`;
        }
        case 'B':
          this.pos++;
          return this.backref(() => this.type());
        default:
          return this.path();
      }
    });
  }
}

function demangleV0(name: string): string | undefined {
  // Positions in backrefs count from after "_R".
  const body = name.slice(2).replace(/^[0-9]+/, '');
  if (body.length !== name.length - 2) return undefined; // an encoding version: not handled
  try {
    return new V0(body).path();
  } catch {
    return undefined;
  }
}

/** Itanium nested names (C++, and Rust legacy with its trailing `17h<hash>`). */
function demangleItanium(name: string): string | undefined {
  let i = 2;
  const nested = name[i] === 'N';
  if (nested) i++;
  const parts: string[] = [];
  while (i < name.length) {
    if (nested && name[i] === 'E') break;
    // cv-qualifiers of a member function ("NK3foo3barEv").
    if (nested && parts.length === 0 && /[KVr]/.test(name[i]!)) {
      i++;
      continue;
    }
    const m = /^[0-9]{1,4}/.exec(name.slice(i, i + 4));
    if (!m) break;
    i += m[0].length;
    const len = Number(m[0]);
    if (len === 0 || i + len > name.length) return undefined;
    parts.push(name.slice(i, i + len));
    i += len;
    if (!nested) break;
  }
  if (parts.length === 0) return undefined;
  // Rust legacy: the last part is a hash "h0123456789abcdef".
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1]!)) parts.pop();
  return parts.map((p) => p.replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$u20\$/g, ' ').replace(/\$C\$/g, ',').replace(/\.\./g, '::')).join('::');
}

/** The demangled name, or the name itself when it is not mangled (or not understood). */
export function demangle(name: string): string {
  if (name.startsWith('_R') && name.length > 3) return demangleV0(name) ?? name;
  if (name.startsWith('_Z') && name.length > 3) return demangleItanium(name) ?? name;
  return name;
}
