/**
 * Regular-expression building blocks for the oops table. Rules are written with macros
 * ({{PC}}, {{FUNC}}, ...) so the table stays readable; `re` expands them once at load time.
 *
 * Safety: every rule is applied to one console line at a time, and lines are cut to
 * MAX_LINE_LENGTH before matching, so even a rule with `.*` costs at most O(line^2) on a
 * bounded line. Rules must not nest quantifiers (`(a+)+`); the fuzz test checks the table.
 */

const MACROS: Record<string, string> = {
  // A program counter in brackets: [<ffffffff81234567>] or [<0000000012345678>] (arm: [<c0123456>]).
  PC: String.raw`\[<?(?:0x)?[0-9a-f]+>?\]`,
  // A function name followed by its offset (+0x..) or a compiler suffix (.isra.0, .cold).
  FUNC: String.raw`([a-zA-Z0-9_]+)(?:\.|\+)`,
  // A source location: net/ipv4/tcp.c:123 (not captured: wrap it to capture).
  SRC: String.raw`[a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+`,
  // A kernel address.
  ADDR: String.raw`(?:0x)?[0-9a-f]+`,
};

/** Compile a rule, expanding {{MACRO}}s. */
export function re(source: string, flags = ''): RegExp {
  const expanded = source.replace(/\{\{([A-Z]+)\}\}/g, (_, name: string) => {
    const m = MACROS[name];
    if (m === undefined) throw new Error(`unknown regexp macro {{${name}}} in ${source}`);
    return m;
  });
  return new RegExp(expanded, flags);
}

/** Lines longer than this are cut before any rule sees them (a kernel line is < 1 KiB). */
export const MAX_LINE_LENGTH = 1024;

/** The instruction pointer line of an oops: RIP / IP / pc, kernel or user space. */
export const RIP_FRAME = re(
  String.raw`(?:IP|NIP|pc |PC is at|epc ?):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))`,
);

/** "Call Trace:" and its spellings. */
export const CALL_TRACE = /Call [Tt]race:|Backtrace:|Call trace:/;
