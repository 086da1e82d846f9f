/**
 * Split a command given on the command line ("make -j8 bzImage", "./t.sh 'a b'") into an
 * argument vector. Quotes group words; nothing is expanded, nothing goes through a shell.
 */
import { InvalidOptionError } from '../shared/errors.js';

export function splitCommand(flag: string, text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && (text[i + 1] === '"' || text[i + 1] === '\\')) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new InvalidOptionError(flag, `unbalanced ${quote} in ${JSON.stringify(text)}`);
  if (inWord) out.push(cur);
  if (out.length === 0) throw new InvalidOptionError(flag, 'the command is empty');
  return out;
}
